"""The JSON API's response models (they are the OpenAPI schema at /openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from scoring.ranks import RankRange
from store.reports import AuditSource, AuditStatus, Support

M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: object, **given: Any) -> M:
    """A `model` answer whose fields are `row`'s attributes of the same names, except those `given`."""
    values = {name: getattr(row, name) for name in model.model_fields if name not in given}
    return model(**values, **given)


class Scoreboard(BaseModel):
    """What produced a score: scores are comparable only within one scoreboard."""

    id: str
    judge_models: list[str] = Field(description="the judge models as the server named them")
    rubric_hash: str
    protocol_hash: str
    demo: bool = Field(description="scores from the embedded demo model: they carry no information")
    legacy: bool = Field(description="stored before scoreboards: judge models are the configured names")
    design: str = Field(description="the protocol in words, e.g. '1 round, 3 judges'")
    label: str


INTERVAL_KINDS = (
    "how the 95% interval was computed, from the scoreboard's pooled variance model: pooled (debates and judges), "
    "bound (too few debates repeated: a conservative bound counting all spread between debates as noise), "
    "no-variation (zero width: nothing varies on the scoreboard), too-few (no interval)"
)


class RelatedHypothesis(BaseModel):
    id: str
    title: str
    target_label: str
    score: float = Field(ge=0, le=1, description="mean of the debates' panel means on this scoreboard")
    lo: float | None = Field(description="95% interval, lower end (None: the interval's kind shows none)")
    hi: float | None
    interval: str = Field(description=INTERVAL_KINDS)
    se: float | None = Field(description="standard error under the scoreboard's pooled model (None: not estimable)")
    df: float | None = Field(description="its degrees of freedom")
    debates: int = Field(ge=1)
    verdicts: int = Field(ge=1)
    url: str
    rating: float | None = Field(
        None, description="its current version's rating in the page's tournament (`tournament`); null: unrated"
    )


class Tournament(BaseModel):
    """A pool's pairwise ratings on one (pairwise) scoreboard: never mixed with rubric scores."""

    id: str
    pool: str = Field(description="what was compared: page:<slug>, batch:<b-id>, file:<name>")
    scoreboard: Scoreboard
    hypotheses: int
    comparisons: int = Field(description="judged orders of a pair")
    matches: int = Field(description="pairs judged in both orders (by one judge)")
    order_inconsistency: float | None = Field(description="share of matches whose two orders disagreed")
    first_share: float | None = Field(
        description="position bias: of the comparisons that named a winner, the share won by the one shown first "
        "(0.5: no lean)"
    )
    first_share_lo: float | None = Field(description="its 95% interval runs from first_share_lo to first_share_hi")
    first_share_hi: float | None
    first_advantage: float | None = Field(description="the fitted first-position parameter, in rating points")


class Gap(BaseModel):
    """An open knowledge gap the page lists under "Related Analyses": `hypodebate generate --gap ID` takes its id."""

    id: str = Field(description="g- and 8 hex digits of (page, link or title): kept when the page is imported again")
    title: str
    link: str | None = Field(description="as the page wrote it")


class RelatedResponse(BaseModel):
    slug: str
    title: str
    entities: list[str]
    scoreboard: Scoreboard | None = Field(description="the scoreboard the hypotheses are ranked on")
    hypotheses: list[RelatedHypothesis]
    other_scoreboards: list[Scoreboard] = Field(description="other scoreboards with scores for this page")
    tournament: Tournament | None = Field(
        None, description="the page pool's tournament with the most matches (each hypothesis's `rating`)"
    )
    ordered_by: str | None = Field(
        None, description="the tournament whose ratings ordered the hypotheses (wiki.rank_by: rating); null: by score"
    )
    gaps: list[Gap] = Field(default_factory=list, description="the page's gaps (Related Analyses), in page order")


class Evidence(BaseModel):
    claim: str
    citation: str | None
    stance: str


class AuditItem(BaseModel):
    """One audited citation of the hypothesis's current version. Its text is as users and models wrote it."""

    source: AuditSource = Field(description="evidence: a claim of its evidence; turn: a citation in a debate turn")
    claim: str = Field(description="the claim, or the sentence of the turn around the citation")
    citation: str = Field(description="as written: PMID:123, a DOI, @key, an NCT id, a URL")
    status: AuditStatus
    detail: str | None = Field(description="why the status, e.g. what disagreed with the bibliography entry")
    entry_key: str | None = Field(description="the bibliography entry it resolved to")
    support: Support | None = Field(description="the verifier's label; null: not checked (no abstract)")
    quote: str | None = Field(description="the span of the entry's abstract that backs the label")
    debate_id: str | None
    turn_seq: int | None
    role: str | None = Field(description="who cited it in the turn")


class EvidenceAudit(BaseModel):
    """The evidence audit of the hypothesis's current version (`hypodebate evidence`)."""

    counts: dict[AuditStatus, int] = Field(description="citations per status, every status present")
    contradicted: int = Field(description="citations whose entry's abstract contradicts the claim")
    items: list[AuditItem] = Field(description="the audited citations, in audit order")


class DebateSummary(BaseModel):
    id: str
    status: str
    version_id: str | None
    scoreboard_id: str | None
    rounds_run: int
    models: dict[str, str]
    score: float | None = Field(description="the panel's mean composite")
    spread: float | None = Field(description="standard deviation of the judges' composites")
    n: int | None = Field(description="verdicts on the panel")
    finished_at: datetime | None
    url: str


class Version(BaseModel):
    id: str
    version: int
    origin: str = Field(description="input, revision (offered in a rebuttal) or legacy")
    parent_id: str | None
    debate_id: str | None
    current: bool


class Score(BaseModel):
    scoreboard: Scoreboard
    version_id: str | None
    current: bool
    mean: float
    lo: float | None
    hi: float | None
    interval: str = Field(description=INTERVAL_KINDS)
    se: float | None
    df: float | None
    debates: int
    verdicts: int


class Rating(BaseModel):
    """A hypothesis version's rating in one tournament: Elo-like (1500 + 400 log10 odds), with a 95% interval."""

    tournament: str
    pool: str
    scoreboard: Scoreboard
    rating: float
    lo: float = Field(description="the 95% interval runs from lo to hi")
    hi: float
    wins: int = Field(description="judged orders it was preferred in")
    ties: int
    losses: int
    rank: int = Field(description="the best rank the data allow (hypotheses they do not separate share it)")
    rank_lo: int = Field(description="the ranks the data allow run from rank_lo to rank_hi")
    rank_hi: int
    of: int = Field(description="hypotheses in the tournament's pool")
    current: bool = Field(description="the rated version is the hypothesis's current one")
    version_id: str | None
    matches: int
    order_inconsistency: float | None = Field(
        description="the tournament's share of matches whose two orders disagreed"
    )
    first_share: float | None = Field(
        description="the tournament's position bias: the share of decided comparisons won by the one shown first"
    )

    @property
    def rank_text(self) -> str:
        """`3` when the data place it, `2–5` when they allow a range (scoring.ranks)."""
        return RankRange(self.rank_lo, self.rank_hi, self.of).text()


class Lineage(BaseModel):
    """Where a hypothesis came from: imported (from a file or an eval set: generation 0, no parents), generated
    from a page, a gap or a goal, or evolved from parents."""

    origin: str = Field(description="imported, generated or evolved")
    generation: int = Field(description="the generation of its run that made it (0: imported)")
    strategy: str | None = Field(description="grounded, gap, goal, or an evolution operator (combine, simplify, ...)")
    source_kind: str | None = Field(description="page, gap or goal")
    source: str | None = Field(description="the page's slug, the gap's id or the goal's words")
    source_title: str | None = Field(description="the gap's title, when a page still lists the gap")
    model: str | None = Field(description="the generator's model as the server named it")
    prompt_hash: str | None
    run_id: str | None = Field(description="the `hypodebate generate` run that made it")
    parents: list[str] = Field(description="the hypotheses it was evolved from, in order")
    children: list[str] = Field(description="the hypotheses evolved from it")


class HypothesisResponse(BaseModel):
    id: str
    title: str
    targets: list[str]
    target_label: str
    mechanism: str
    diseases: list[str]
    pages: list[str]
    version: int
    versions: list[Version]
    scores: list[Score] = Field(description="one per scoreboard and version; never averaged across them")
    dimensions: dict[str, float] = Field(
        description="mean judge score per rubric dimension: the current version's completed debates on its first "
        "scoreboard, mean over debates of each debate's panel mean (as in the report)"
    )
    evidence: list[Evidence]
    evidence_audit: EvidenceAudit | None = Field(
        description="its current version's evidence audit; null: not audited since it last changed"
    )
    debates: list[DebateSummary]
    ratings: list[Rating] = Field(
        default_factory=list, description="its tournament ratings, current version first, then the busiest tournament"
    )
    lineage: Lineage = Field(description="its origin, how it was made, its parents and its children")
    demo_warning: str | None = Field(description="set when a score or rating comes from the embedded demo model")
