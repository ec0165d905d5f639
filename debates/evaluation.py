"""Eval: score labelled rows under each protocol and measure how well the scores predict what really happened.

Protocols, on the same rows and the same model:
- `single`: K independent judge calls per row on the rubric, no debate (the "single-judge" design), K being the
  debate's panel size, so that the lift of `debate` over `single` measures the debate, not the averaging of K
  judges; a row's score is the mean of the K composites, as the debate's is. K is part of the arm's protocol
  hash, so stored 1-judge scores are never reused for a 3-judge arm;
- `debate`: the full debate protocol of config.yaml (`--rounds`, `--judges` override it);
- `pairwise`: a tournament over the rows (debates/tournament.py) judging the stated hypotheses two at a time, both
  orders; a row's score is its Bradley-Terry rating as the chance of beating the pool's average row, so AUROC and
  pairwise accuracy apply (they only rank) while Brier and ECE do not (it is not a probability of holding).
With `no_evidence`, each protocol is also run on the rows with their evidence removed ("single:no-evidence", ...).

Every call is an ordinary stored debate (a batch per protocol), so a killed eval resumes and a repeated one costs
nothing. Labels, strata and pairs are stored in `eval_items`, never in the hypothesis, so they never reach a
prompt. Figures come from `scoring.evaluation` (scikit-learn, scipy, numpy), computed per protocol on one
scoreboard: scores from different scoreboards are never pooled. Every bootstrap resamples clusters (a pair, a
gene's rows: debates.labelled.clusters_of), never single rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from agents.client import LLMClient
from agents.prompts import PromptSet
from debates.eval_figures import ArmScores, ProtocolName, Scope, arm_figures, lift, strata_of
from debates.eval_result import EvalResult, ProtocolFigures
from debates.graph import Design
from debates.labelled import Labelled, LabelledSubject, clusters_of
from debates.rows import hypothesis_record
from debates.runner import BatchRunner, DebateDispatch, Progress
from debates.settings import DebateSettings
from debates.tournament import Dispatch, TournamentRunner
from debates.tournament_result import TournamentProgress
from scoring import evaluation as stats
from scoring.rubric import Rubric
from store import evaluation as store
from store import repository
from store import tournaments as tournament_store
from store.models import ScoreboardRow

PROTOCOLS: tuple[ProtocolName, ...] = ("single", "debate")  # the default; "pairwise" is asked for by name


@dataclass(frozen=True)
class EvalPlan:
    protocols: tuple[ProtocolName, ...] = PROTOCOLS
    no_evidence: bool = False
    seed: int = 0  # the bootstrap's seed (and the sample's, when one was drawn)
    resamples: int = stats.RESAMPLES
    files: tuple[str, ...] = ()
    sample: dict[str, int] | None = None  # {"limit": N, "seed": S} when a stratified sample was drawn


@dataclass(frozen=True)
class _Arm:
    """One protocol on one variant of the rows: the unit that is run, scored and reported."""

    name: str  # "debate", "single:no-evidence", ...
    protocol: ProtocolName
    evidence: bool


@dataclass
class EvalRunner:
    """Runs an eval's arms and reports their figures. Everything it depends on is given when it is built, by keyword,
    including how the arms' debates and comparisons are dispatched (`debates_via`, `comparisons_via`: None runs them
    here); nothing is altered after."""

    client: LLMClient
    sessions: sessionmaker[Session]
    settings: DebateSettings  # the debate protocol (rounds, judges, replicates already overridden)
    rubric: Rubric
    prompts: PromptSet
    progress: Callable[[str, Progress], None] | None = None  # (arm name, batch progress)
    budget_tokens: int | None = None
    budget_usd: float | None = None
    # set: the arms' debates and comparisons are jobs for queue workers (eval --queue), given the options a worker
    # needs to rebuild this arm's protocol from its own config.yaml
    debates_via: Callable[[Mapping[str, Any]], DebateDispatch] | None = None
    comparisons_via: Callable[[Mapping[str, Any]], Dispatch] | None = None

    async def run(self, rows: Sequence[Labelled], plan: EvalPlan) -> EvalResult:
        arms = [
            _Arm(f"{p}{'' if evidence else ':no-evidence'}", p, evidence)
            for evidence in ((True, False) if plan.no_evidence else (True,))
            for p in plan.protocols
        ]
        subjects = {evidence: [_subject(r, evidence) for r in rows] for evidence in {a.evidence for a in arms}}
        self._store_items(rows, subjects)
        order = run_order(rows, plan.seed)
        hashes: dict[str, str] = {}
        for arm in arms:
            variant = subjects[arm.evidence]
            unique = list({variant[i].content_hash: variant[i] for i in order}.values())
            if arm.protocol == "pairwise":
                hashes[arm.name] = await self._tournament(arm, [s.hypothesis_id for s in unique], plan)
                continue
            settings = self._settings(arm.protocol)
            design: Design = "single-judge" if arm.protocol == "single" else "symmetric-closing"
            options = {
                "rounds": settings.rounds,
                "judges": settings.judges,
                "early_stop": settings.early_stop,
                "design": design,
                "audit": False,
                "subject": "labelled",  # a worker rebuilds the rows as LabelledSubject, not as validated hypotheses
            }
            runner = BatchRunner(
                client=self.client,
                sessions=self.sessions,
                settings=settings,
                rubric=self.rubric,
                prompts=self.prompts,
                progress=(lambda p, name=arm.name: self.progress(name, p)) if self.progress else None,
                budget_tokens=self.budget_tokens,
                budget_usd=self.budget_usd,
                design=design,
                dispatch=self.debates_via(options) if self.debates_via else None,
            )
            try:
                await runner.run(unique, source=f"eval [{arm.name}] " + ", ".join(plan.files))
            finally:
                runner.detach()
            hashes[arm.name] = runner.protocol.hash
        with self.sessions() as session:
            judges = {a.name: self._judges(a.protocol) for a in arms}
            return _report(session, rows, subjects, arms, hashes, plan, self.settings.replicates, judges)

    async def _tournament(self, arm: _Arm, ids: list[str], plan: EvalPlan) -> str:
        """The pairwise arm: a tournament over the rows' stated hypotheses (no debate digests, so the arm does not
        depend on which other arms ran). Returns its protocol hash."""

        def progress(p: TournamentProgress) -> None:
            if self.progress is not None:
                done = Progress(p.planned, p.done, p.failed, 0, p.calls, p.tokens, p.cost_usd, step=p.step)
                self.progress(arm.name, done)

        runner = TournamentRunner(
            client=self.client,
            sessions=self.sessions,
            rubric=self.rubric,
            prompts=self.prompts,
            concurrency=self.client.settings.concurrency,  # comparisons in flight: one per call slot
            budget_usd=self.budget_usd,
            progress=progress,
            digests=False,
            dispatch=self.comparisons_via({"judges": 1, "digests": False}) if self.comparisons_via else None,
        )
        try:
            await runner.run(eval_pool(arm.name, plan), ids)
        finally:
            runner.detach()
        return runner.protocol.hash

    def _settings(self, protocol: ProtocolName) -> DebateSettings:
        """The arm's protocol: `single` keeps the debate's panel (K judges, the same seats) and holds no debate."""
        if protocol == "single":
            return self.settings.model_copy(update={"rounds": 0, "early_stop": False})
        return self.settings

    def _judges(self, protocol: ProtocolName) -> int:
        """Judge calls per row: the panel's K (single and debate alike); one per comparison in a tournament."""
        return 1 if protocol == "pairwise" else self._settings(protocol).judges

    def _store_items(self, rows: Sequence[Labelled], subjects: dict[bool, list[LabelledSubject]]) -> None:
        records = {s.hypothesis_id: hypothesis_record(s) for variant in subjects.values() for s in variant}
        items = [
            store.ItemRecord(
                dataset=row.dataset,
                item_id=row.row.id,
                variant="evidence" if evidence else "no-evidence",
                hypothesis_id=subject.hypothesis_id,
                content_hash=subject.content_hash,
                label=row.label,
                pair=row.row.pair,
                strata=dict(row.row.strata),
                details=row.row.details(),
            )
            for evidence, variant in subjects.items()
            for row, subject in zip(rows, variant, strict=True)
        ]
        with self.sessions() as session:
            repository.upsert_hypotheses(session, list(records.values()))
            store.upsert_items(session, items)
            session.commit()  # the rows land together or not at all


def eval_pool(arm: str, plan: EvalPlan) -> str:
    """The tournament pool of a pairwise arm: its name and the files (and sample) it ranks."""
    sample = f" (sample {plan.sample['limit']}, seed {plan.sample['seed']})" if plan.sample else ""
    return f"eval:{arm}:{', '.join(plan.files)}{sample}"


def run_order(rows: Sequence[Labelled], seed: int) -> list[int]:
    """The order rows are scored in: shuffled (numpy, `seed`) with each pair's members together, so an eval
    stopped part way (a budget, Ctrl-C) has scored a random subset of every file, with its pairs whole."""
    units: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        units[(row.dataset, f"pair:{row.row.pair}" if row.row.pair is not None else f"row:{row.row.id}")].append(index)
    groups = list(units.values())
    return [i for g in np.random.default_rng(seed).permutation(len(groups)) for i in groups[g]]


def _subject(row: Labelled, evidence: bool) -> LabelledSubject:
    return row.subject if evidence else row.without_evidence()


# -- the figures ----------------------------------------------------------------------------------


def _report(
    session: Session,
    rows: Sequence[Labelled],
    subjects: dict[bool, list[LabelledSubject]],
    arms: Sequence[_Arm],
    hashes: dict[str, str],
    plan: EvalPlan,
    replicates: int,
    judges: dict[str, int],
) -> EvalResult:
    labels = np.array([r.label for r in rows], dtype=int)
    strata, skipped = strata_of(rows)
    clusters = clusters_of(rows)
    scope = Scope(rows, labels, clusters, strata, plan.seed, plan.resamples, replicates)
    protocols: dict[str, ProtocolFigures] = {}
    item_scores: dict[str, dict[int, float]] = {}
    boards: list[ScoreboardRow] = []
    for arm in arms:
        scores = _arm_scores(session, arm, subjects[arm.evidence], hashes[arm.name], plan)
        item_scores[arm.name] = scores.means
        if scores.board is not None:
            boards.append(scores.board)
        usage = store.usage_of(session, scores.spent)
        protocols[arm.name] = arm_figures(
            scope, arm.protocol, arm.evidence, scores, hashes[arm.name], usage, judges[arm.name]
        )
    models = sorted({str(m) for b in boards for m in b.judge_models})
    return {
        "title": "Evaluation against real outcomes",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": list(plan.files),
        "rows": len(rows),
        "sample": plan.sample,
        "bootstrap": {
            "resamples": plan.resamples,
            "seed": plan.seed,
            "level": stats.LEVEL,
            "clusters": len(set(clusters)),
        },
        "model": ", ".join(models) or None,
        "demo": any(b.demo for b in boards),
        "base_rate": stats.base_rate(labels),
        "base_rate_brier": stats.base_rate_brier(labels),
        "protocols": protocols,
        "lift": lift(scope, [a.evidence for a in arms], item_scores, judges),
        "strata_skipped": skipped,
    }


def _arm_scores(
    session: Session, arm: _Arm, variant: Sequence[LabelledSubject], protocol_hash: str, plan: EvalPlan
) -> ArmScores:
    """The arm's scores on the scoreboard holding most of them (a tournament's ratings for the pairwise arm)."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for index, subject in enumerate(variant):
        by_hash[subject.content_hash].append(index)
    if arm.protocol == "pairwise":
        board_id, per_item, board_counts, spent = _pairwise_scores(session, arm, protocol_hash, by_hash, plan)
    else:
        scores = store.protocol_scores(session, protocol_hash, by_hash)
        board_counts = Counter(s.scoreboard_id for s in scores if s.scoreboard_id)
        board_id = board_counts.most_common(1)[0][0] if board_counts else None
        per_item = defaultdict(list)
        for s in scores:
            if s.scoreboard_id == board_id:
                for index in by_hash[s.content_hash]:
                    per_item[index].append(s.mean)
        spent = store.protocol_debates(session, protocol_hash, by_hash)
    board = store.scoreboards(session, [board_id]).get(board_id) if board_id else None
    means = {i: float(np.mean(v)) for i, v in per_item.items()}
    return ArmScores(board_id, board, per_item, board_counts, spent, means)


def _pairwise_scores(
    session: Session, arm: _Arm, protocol_hash: str, by_hash: dict[str, list[int]], plan: EvalPlan
) -> tuple[str | None, dict[int, list[float]], Counter[str], list[str]]:
    """The pairwise arm's per-row scores: each rating as the chance of beating the pool's average (1500), its
    scoreboard, and the comparisons whose calls it cost."""
    standings = tournament_store.standings(session, eval_pool(arm.name, plan))
    per_item: dict[int, list[float]] = defaultdict(list)
    if not standings:
        return None, per_item, Counter(), []
    best = standings[0]
    for rating in best.ratings:
        for index in by_hash.get(rating.content_hash, []):
            per_item[index].append(1 / (1 + 10 ** ((1500 - rating.rating) / 400)))
    comparisons = tournament_store.comparisons_among(session, protocol_hash, by_hash)
    return best.board.id, per_item, Counter({best.board.id: len(best.ratings)}), [c.id for c in comparisons]
