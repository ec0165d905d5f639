"""What the transcript report shows: frozen views of scoreboards, rankings, hypotheses, debates, rounds,
turns and verdicts.

Scores are measurements on a scoreboard (rubric, protocol, judge models as served): a `ScoreView` is one
hypothesis version's score on one scoreboard, and a `RankingView` ranks hypotheses within one scoreboard
only. Nothing here averages or ranks across scoreboards.

A hypothesis's evidence audit is the store's one definition (`store.reports.Audit`), as the web app shows it.

`report.data` builds them from the store; `report.render` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from scoring.measured import Measured, measured_text
from scoring.ranks import RankRange
from store.lineage import Origin
from store.reports import Audit
from store.scoreboards import Board
from store.tournaments import Rating, Standing
from store.usage import Usage

Scope = Literal["batch", "all"]


@dataclass(frozen=True, slots=True)
class TurnView:
    seq: int
    round: int
    role: str
    step: str
    text: str
    payload: dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: unknown (a model without a price)
    asks: int = 1  # how many times the model was asked for this turn (more than 1: it needed re-asks)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class VerdictView:
    judge: int
    scores: dict[str, Any]
    rationales: dict[str, Any]
    summary: str
    composite: float
    model: str  # as the server named it
    persona: str | None  # None for verdicts stored before judges had personas
    material_order: str | None  # chronological | critic-first | proposer-first
    reasoning: str | None


@dataclass(frozen=True, slots=True)
class PointView:
    """One critic point, what the rebuttal of the same round said about it, and the critic's closing word on it."""

    index: int
    point: str
    severity: str
    answer: str | None  # None: the rebuttal did not answer it (or there was no rebuttal)
    resolved: bool | None  # the proposer's own claim, in the rebuttal
    closing_resolved: bool | None = None  # the critic's closing assessment; None: not assessed
    closing_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RoundView:
    number: int
    critique: TurnView | None
    rebuttal: TurnView | None
    points: tuple[PointView, ...]
    unmatched: tuple[str, ...]  # answers whose point number names no point of the critique
    revised_claim: str
    assessed: bool = False  # the critic's closing turn assessed this round's points
    revision_id: str | None = None  # the child version this round's revised claim is stored as


@dataclass(frozen=True, slots=True)
class AssessmentView:
    """The critic's closing word on one point of the last critique: resolved by the rebuttal or not."""

    point: int | None
    point_text: str | None  # the point as the critique put it, when the number names one
    resolved: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ClosingView:
    """The critic's closing turn: its independent assessment of the rebuttal, point by point."""

    turn: TurnView
    assessments: tuple[AssessmentView, ...]
    remaining_concerns: tuple[str, ...]
    summary: str


@dataclass(frozen=True, slots=True)
class DebateView:
    id: str
    hypothesis_id: str
    hypothesis_title: str
    replicate: int
    batch_id: str | None
    protocol_hash: str
    status: str
    failure_reason: str | None
    stopped_at: str | None  # where a failed or unfinished debate stopped, in words
    rounds_run: int
    early_stopped: bool
    models: dict[str, Any]
    finished_at: datetime | None
    opening: TurnView | None
    rounds: tuple[RoundView, ...]
    closing: ClosingView | None  # the critic's closing word, after the last rebuttal
    verdicts: tuple[VerdictView, ...]
    verdict_turns: tuple[TurnView, ...]
    mean: float | None  # the debate's panel score: mean of its judges' composites
    spread: float | None
    n: int  # verdicts in the panel
    scoreboard_id: str | None  # None: completed without a stored score (or not completed)
    content_hash: str  # the version debated
    version_id: str | None  # e.g. h-2600483e.v1; None when the store has no version row for it
    revised_statement: str | None
    revision_id: str | None  # the child version its rebuttal's revision is stored as
    revision_debate_id: str | None  # the debate that first offered that content (this one, or another)
    tokens: int
    cost_usd: float | None  # None: unknown (a model without a price)

    def verdict_turn(self, judge: int) -> TurnView | None:
        return next((t for t in self.verdict_turns if t.payload.get("judge") == judge), None)

    @property
    def opening_claim(self) -> str:
        return str(self.opening.payload.get("claim", "")) if self.opening else ""


@dataclass(frozen=True, slots=True)
class EvidenceView:
    claim: str
    citation: str | None
    stance: str


@dataclass(frozen=True, slots=True)
class DimensionView:
    name: str
    label: str
    weight: float | None  # None when the rubric that scored it is not known here
    mean: float  # on the rubric's scale, 1..scale: mean over debates of each debate's panel mean
    scale: int
    fraction: float  # the mean mapped onto [0, 1]
    debates: int = 0
    verdicts: int = 0


@dataclass(frozen=True, slots=True)
class ScoreView:
    """One hypothesis version's score on one scoreboard, from the completed debates in the report."""

    scoreboard_id: str
    hypothesis_id: str
    version_id: str | None
    version: int | None
    current: bool  # the version is the hypothesis's current one
    content_hash: str
    title: str  # the version's title (an earlier version may have had another)
    mean: float  # mean over debates of each debate's panel mean
    lo: float | None  # 95% interval; None when there is none (a single verdict)
    hi: float | None
    interval: str  # its kind (scoring.aggregate: pooled, bound, no-variation, too-few)
    debates: int
    verdicts: int
    se: float | None  # standard error under the scoreboard's pooled model
    df: float | None
    dimensions: tuple[DimensionView, ...]
    summary: str  # the latest debate's first verdict summary
    debate_views: tuple[DebateView, ...]
    rank: RankRange | None = None  # within its scoreboard: the ranks the data allow (scoring.ranks)

    @property
    def rank_text(self) -> str:
        """`3` when the data place it, `2–5` when they allow a range."""
        return "?" if self.rank is None else self.rank.text()

    @property
    def measured(self) -> Measured:
        """This score as scoring.measured presents it."""
        return Measured.of(self, self.mean, self.scoreboard_id)

    @property
    def text(self) -> str:
        """`0.72 [0.61, 0.90] between 3 debates` (scoring.measured's one wording)."""
        return measured_text(self.measured)

    @property
    def version_label(self) -> str:
        name = self.version_id or f"{self.hypothesis_id} (content {self.content_hash[:8]})"
        return name if self.current else f"{name}, not the current version"


@dataclass(frozen=True, slots=True)
class HypothesisView:
    id: str
    title: str
    version: int  # the current version's number
    targets: tuple[str, ...]
    target_label: str
    mechanism: str
    diseases: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]
    scores: tuple[ScoreView, ...]  # one per (scoreboard, version) with completed debates in the report
    debates: tuple[DebateView, ...]
    audit: Audit | None  # the current version's evidence audit; None: not audited (since it last changed)
    origin: Origin | None = None  # where it came from (store.lineage): imported, generated or evolved, its parents
    children: tuple[str, ...] = ()  # the hypotheses evolved from it

    @property
    def origin_text(self) -> str:
        """`generated · generation 1 · strategy gap · from gap g-1a2b3c4d · generator m (as served) · prompt p · run r`,
        or `imported` (generation 0)."""
        o = self.origin
        if o is None or o.origin == "imported":
            return "imported (generation 0)"
        parts = [o.origin, f"generation {o.generation}", f"strategy {o.strategy or '?'}"]
        parts.append(f"from {o.source_kind or 'source'} {o.source or '?'}")
        parts.append(f"generator {o.model or '?'} (as served), prompt {o.prompt_hash or '?'}, run {o.run_id or '?'}")
        return " · ".join(parts)

    @property
    def completed(self) -> tuple[DebateView, ...]:
        return tuple(d for d in self.debates if d.status == "completed")


@dataclass(frozen=True, slots=True)
class RankedView:
    """A line of a ranking: the hypothesis, and its version's score on the ranking's scoreboard."""

    hypothesis: HypothesisView
    score: ScoreView

    @property
    def rank(self) -> RankRange | None:
        """Its place on the scoreboard: the ranks the data allow (scoring.ranks)."""
        return self.score.rank

    @property
    def rank_text(self) -> str:
        return self.score.rank_text


@dataclass(frozen=True, slots=True)
class RankingView:
    """The hypotheses scored on one scoreboard, best first: never mixed with another scoreboard's scores."""

    board: Board
    rows: tuple[RankedView, ...]


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal (`12.5%`), or `—` when there is none."""
    return "—" if share is None else f"{100 * share:.1f}%"


def rating_text(rating: float, lo: float, hi: float) -> str:
    """A rating with its 95% interval: `1540 [1490, 1590]`."""
    return f"{rating:.0f} [{lo:.0f}, {hi:.0f}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingView(Rating):
    """A hypothesis version's rating in a tournament (the store's `Rating`) as the report shows it: a row of a batch
    tournament's table, with the version's title and its rubric score beside it, or, in a hypothesis report, the
    hypothesis's rating with its tournament."""

    current: bool  # the rated version is the hypothesis's current one
    title: str = ""
    in_report: bool = False  # the hypothesis has a section in this report: its title links there
    score: float | None = None  # the version's rubric score on the report's first scoreboard; None: not scored there

    @classmethod
    def of(cls, rating: Rating, **shown: Any) -> RatingView:
        """The store's rating with what the report adds to it (`current` at least)."""
        return cls(**{**vars(rating), **shown})

    @property
    def text(self) -> str:
        return rating_text(self.rating, self.lo, self.hi)

    @property
    def first_share_text(self) -> str:
        """Its tournament's position bias: the first-shown share of decided comparisons and its interval."""
        return self.tournament.first_share_text if self.tournament is not None else "—"


@dataclass(frozen=True, slots=True, kw_only=True)
class TournamentView(Standing):
    """A pool's pairwise ratings on one (pairwise) scoreboard (the store's `Standing`), as the report's rows, and
    how far they agree with the rubric ranking."""

    rows: tuple[RatingView, ...]  # best first
    rubric_board: str | None  # the report's first rubric scoreboard, which `score` and `tau` compare with
    tau: float | None  # Kendall tau-b between the rating order and that scoreboard's order, over `shared`
    shared: int  # hypothesis versions both rated here and scored on `rubric_board` in this report

    @classmethod
    def of(cls, standing: Standing, **shown: Any) -> TournamentView:
        """The store's tournament with what the report adds to it."""
        return cls(**{**vars(standing), **shown})

    @property
    def order_inconsistency_text(self) -> str:
        return percent(self.order_inconsistency)

    @property
    def tau_text(self) -> str:
        """`Kendall tau 0.60 over 5 hypotheses`, or why there is none."""
        if self.rubric_board is None:
            return "no rubric scoreboard in this report to compare with"
        shared = f"{self.shared} shared hypothes{'is' if self.shared == 1 else 'es'}"
        if self.tau is None:
            return f"Kendall tau: not defined over {shared}"
        return f"Kendall tau {self.tau:.2f} over {shared}"


@dataclass(frozen=True, slots=True)
class ShownScore:
    """A generated hypothesis's score in the lineage view: the report's own score where the hypothesis has a section
    (its first scoreboard), else its stored score on its busiest scoreboard; `board` names the judges."""

    measured: Measured
    board: Board
    in_report: bool  # computed from this report's debates (False: the store's score, from all its debates)


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One generator or evolution answer of a generation, and what became of it: `new` (it is `hypothesis_id`),
    `duplicate` (merged into `hypothesis_id`, with its similarity and the method that found it), `invalid`
    (`reason`) or `pending`."""

    slot: int
    strategy: str  # grounded | gap | goal, or the evolution operator: combine | simplify | strengthen | out-of-box
    status: str
    title: str  # as the generator wrote it
    parents: tuple[str, ...]
    hypothesis_id: str | None
    target_title: str | None  # the current title of `hypothesis_id` (for a duplicate: the one it merged into)
    similarity: float | None
    method: str | None
    reason: str | None
    model: str  # as the server named it
    score: ShownScore | None = None
    rating: Rating | None = None  # its current version's rating in its generation's tournament
    in_report: bool = False  # `hypothesis_id` has a section in this report

    @property
    def merged_how(self) -> str:
        """`cosine 0.93, embedding+model-check`: how a duplicate was found (empty when nothing was recorded)."""
        cosine = f"cosine {self.similarity:.2f}" if self.similarity is not None else ""
        return ", ".join(part for part in (cosine, self.method or "") if part)

    @property
    def merged_text(self) -> str:
        """`merged into h-1a2b3c4d (cosine 0.93, embedding+model-check)`."""
        how = self.merged_how
        return f"merged into {self.hypothesis_id or '?'}" + (f" ({how})" if how else "")

    @property
    def rating_text(self) -> str:
        return "" if self.rating is None else rating_text(self.rating.rating, self.rating.lo, self.rating.hi)


@dataclass(frozen=True, slots=True)
class MetaReviewView:
    summary: str
    weaknesses: tuple[str, ...]
    rewarded: tuple[str, ...]
    model: str  # as the server named it


@dataclass(frozen=True, slots=True)
class GenerationView:
    number: int
    status: str  # open | done
    debated: int
    top: tuple[str, ...]  # hypothesis ids, best first
    tournament: Standing | None  # its tournament (its scoreboard names the judges); None: not ranked yet
    generated: tuple[CandidateView, ...]  # from the source (no parents)
    evolved: tuple[CandidateView, ...]  # children of earlier hypotheses: operator and parents
    review: MetaReviewView | None


@dataclass(frozen=True, slots=True)
class RunView:
    """One `hypodebate generate` run: its source, its generations, and what stopped it."""

    id: str
    source_kind: str  # page | gap | goal
    source: str
    source_title: str | None  # the gap's title, while a page lists it
    source_link: str | None
    status: str
    stopped: str | None  # generations | budget | no-new | stable
    stop_detail: str | None
    started_at: datetime
    finished_at: datetime | None
    generations: tuple[GenerationView, ...]


@dataclass(frozen=True, slots=True)
class PageLineageView:
    """A page's generation runs (gap → candidates → children). `slug` None: runs from a research goal."""

    slug: str | None
    title: str
    runs: tuple[RunView, ...]


@dataclass(frozen=True, slots=True)
class BatchView:
    id: str
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    protocol_hash: str
    rounds: Any
    judges: Any
    early_stop: Any
    rubric_hash: str
    provider: str
    models: dict[str, Any]
    completed: int
    failed: int
    skipped: int
    wall_s: float | None
    usage: Usage


@dataclass(frozen=True, slots=True)
class ReportData:
    generated_at: datetime
    scope: Scope
    batch: BatchView
    batches_total: int
    hypothesis_filter: str | None
    hypotheses: tuple[HypothesisView, ...]  # in ranking order (first scoreboard first), unscored last
    rankings: tuple[RankingView, ...]  # one per scoreboard, most debates first
    unscored: tuple[HypothesisView, ...]  # no completed, scored debate in the report
    failed: tuple[DebateView, ...]
    debates_total: int
    usage: Usage  # every call of the debates shown
    rubric_known: bool  # False when some verdict was scored under a rubric whose weights are not known here
    demo_warning: str | None  # set when any debate shown was argued or judged by the embedded demo model
    tournaments: tuple[TournamentView, ...] = ()  # the batch's tournaments (pool batch:<id>), most matches first
    ratings: tuple[RatingView, ...] = ()  # a hypothesis report: that hypothesis's ratings
    lineage: tuple[PageLineageView, ...] = ()  # the generation runs behind the hypotheses shown, by page
