"""Everything the transcript report shows, read from the store in a few bulk queries.

`load_report(session, batch_id=..., hypothesis_id=...)` returns a `ReportData`: the batch overview,
the hypotheses in scope (ranked, with their debates, rounds, critic points and verdicts) and the
failed or unfinished debates. Turns, verdicts, scores and evidence are each read with one query over
the scope, never one query per debate, so a 1,000-debate batch loads in well under a second.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from agents.embedded import DEMO_WARNING
from agents.roles import PriorTurn
from agents.settings import EMBEDDED_MODEL
from debates.graph import DebateState, next_step
from debates.report_views import (
    BatchView,
    DebateView,
    DimensionView,
    EvidenceView,
    HypothesisView,
    PointView,
    ReportData,
    RoundView,
    TurnView,
    UsageTotals,
    VerdictView,
)
from scoring.composite import panel
from scoring.rubric import Rubric
from store.models import BatchRow, DebateRow, EvidenceRow, HypothesisRow, ScoreRow, TurnRow, UsageRow, VerdictRow

_NODE_STEP = {"open_debate": "opening", "critique": "critique", "rebut": "rebuttal", "judge": "verdict"}


class ReportScopeError(LookupError):
    """The batch or hypothesis asked for is not in the database; the message names it."""


def load_report(
    session: Session,
    *,
    batch_id: str | None = None,
    hypothesis_id: str | None = None,
    rubric: Rubric | None = None,
) -> ReportData:
    """The report of one batch (or, without `batch_id`, of every hypothesis that has debates)."""
    if batch_id is not None:
        batch_row = session.get(BatchRow, batch_id)
        if batch_row is None:
            raise ReportScopeError(f"{batch_id}: no such batch")
    else:
        batch_row = session.scalars(select(BatchRow).order_by(BatchRow.started_at.desc(), BatchRow.id)).first()
        if batch_row is None:
            raise ReportScopeError("no batches yet: run `hypodebate run` first")
    if hypothesis_id is not None and session.get(HypothesisRow, hypothesis_id) is None:
        raise ReportScopeError(f"{hypothesis_id}: no such hypothesis")

    scope = select(DebateRow.id)
    if batch_id is not None:
        scope = scope.where(DebateRow.batch_id == batch_id)
    if hypothesis_id is not None:
        scope = scope.where(DebateRow.hypothesis_id == hypothesis_id)
    debate_rows = list(session.scalars(select(DebateRow).where(DebateRow.id.in_(scope))))
    if hypothesis_id is not None and not debate_rows:
        where = f" in batch {batch_id}" if batch_id else ""
        raise ReportScopeError(f"{hypothesis_id}: no debates{where}")

    rubrics = {r.hash: r for r in (Rubric(), rubric) if r is not None}
    hypotheses = _hypotheses(session, scope, debate_rows, rubrics)
    debates = [d for h in hypotheses for d in h.debates]
    demo = EMBEDDED_MODEL in batch_row.models.values() or any(EMBEDDED_MODEL in d.models.values() for d in debates)
    return ReportData(
        generated_at=datetime.now(UTC),
        scope="batch" if batch_id is not None else "all",
        batch=_batch_view(session, batch_row),
        batches_total=session.scalar(select(func.count()).select_from(BatchRow)) or 0,
        hypothesis_filter=hypothesis_id,
        hypotheses=hypotheses,
        failed=tuple(d for d in debates if d.status != "completed"),
        debates_total=len(debates),
        usage=_usage(session, UsageRow.debate_id.in_(scope)),
        rubric_known={d.rubric_hash for d in debate_rows} <= rubrics.keys(),
        demo_warning=DEMO_WARNING if demo else None,
    )


def _batch_view(session: Session, row: BatchRow) -> BatchView:
    in_batch = select(DebateRow.id).where(DebateRow.batch_id == row.id)
    # Turn-time usage rows carry only the debate id; completion/failure rows carry the batch id too.
    own = or_(
        UsageRow.batch_id == row.id,
        and_(UsageRow.batch_id.is_(None), UsageRow.debate_id.in_(in_batch), UsageRow.created_at >= row.started_at),
    )
    protocol = row.protocol or {}
    return BatchView(
        id=row.id,
        source=row.source,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        protocol_hash=row.protocol_hash,
        rounds=protocol.get("rounds", "?"),
        judges=protocol.get("judges", "?"),
        early_stop=protocol.get("early_stop", "?"),
        rubric_hash=str(protocol.get("rubric_hash", "?")),
        provider=row.provider,
        models=dict(row.models),
        completed=row.debates_completed,
        failed=row.debates_failed,
        skipped=row.debates_skipped,
        wall_s=row.wall_s,
        usage=_usage(session, own),
    )


def _usage(session: Session, condition: Any) -> UsageTotals:
    calls, prompt, completion, cost = session.execute(
        select(
            func.count(UsageRow.id),
            func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRow.completion_tokens), 0),
            func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
        ).where(condition)
    ).one()
    return UsageTotals(int(calls), int(prompt), int(completion), float(cost))


def _hypotheses(
    session: Session, scope: Select[Any], debate_rows: Sequence[DebateRow], rubrics: dict[str, Rubric]
) -> tuple[HypothesisView, ...]:
    turns: dict[str, list[TurnView]] = defaultdict(list)
    for r in session.execute(
        select(
            TurnRow.debate_id,
            TurnRow.seq,
            TurnRow.round,
            TurnRow.role,
            TurnRow.step,
            TurnRow.text,
            TurnRow.payload,
            TurnRow.model,
            TurnRow.prompt_tokens,
            TurnRow.completion_tokens,
            TurnRow.cost_usd,
        )
        .where(TurnRow.debate_id.in_(scope))
        .order_by(TurnRow.debate_id, TurnRow.seq)
    ):
        turns[r[0]].append(TurnView(*r[1:]))
    verdicts: dict[str, list[VerdictView]] = defaultdict(list)
    for r in session.execute(
        select(
            VerdictRow.debate_id,
            VerdictRow.judge,
            VerdictRow.scores,
            VerdictRow.rationales,
            VerdictRow.summary,
            VerdictRow.composite,
            VerdictRow.model,
        )
        .where(VerdictRow.debate_id.in_(scope))
        .order_by(VerdictRow.debate_id, VerdictRow.judge)
    ):
        verdicts[r[0]].append(VerdictView(*r[1:]))
    scores = {
        r[0]: (r[1], r[2], r[3])
        for r in session.execute(
            select(ScoreRow.debate_id, ScoreRow.mean, ScoreRow.spread, ScoreRow.n).where(ScoreRow.debate_id.in_(scope))
        )
    }
    in_scope = select(DebateRow.hypothesis_id).where(DebateRow.id.in_(scope))
    rows = {h.id: h for h in session.scalars(select(HypothesisRow).where(HypothesisRow.id.in_(in_scope)))}
    evidence: dict[str, list[EvidenceView]] = defaultdict(list)
    for r in session.execute(
        select(EvidenceRow.hypothesis_id, EvidenceRow.claim, EvidenceRow.citation, EvidenceRow.stance)
        .where(EvidenceRow.hypothesis_id.in_(in_scope))
        .order_by(EvidenceRow.hypothesis_id, EvidenceRow.position)
    ):
        evidence[r[0]].append(EvidenceView(*r[1:]))

    by_hypothesis: dict[str, list[DebateView]] = defaultdict(list)
    for row in sorted(debate_rows, key=lambda d: (d.replicate, d.started_at, d.id)):
        title = rows[row.hypothesis_id].title
        view = _debate_view(row, title, turns.get(row.id, []), verdicts.get(row.id, []), scores.get(row.id))
        by_hypothesis[row.hypothesis_id].append(view)
    rubric_by_debate = {d.id: rubrics.get(d.rubric_hash) for d in debate_rows}

    unranked = [
        _hypothesis_view(rows[h_id], evidence.get(h_id, []), debates, rubric_by_debate)
        for h_id, debates in by_hypothesis.items()
    ]
    unranked.sort(key=lambda h: (h.score is None, -(h.score or 0.0), -len(h.completed), h.id))
    return tuple(replace(h, rank=i) for i, h in enumerate(unranked, 1))


def _hypothesis_view(
    row: HypothesisRow,
    evidence: list[EvidenceView],
    debates: list[DebateView],
    rubric_by_debate: dict[str, Rubric | None],
) -> HypothesisView:
    completed = [d for d in debates if d.status == "completed"]
    composites = [v.composite for d in completed for v in d.verdicts]
    score = panel(composites) if composites else None
    latest = max(completed, key=lambda d: (d.finished_at or datetime.min.replace(tzinfo=UTC), d.id), default=None)
    rubric = rubric_by_debate.get(latest.id) if latest else None
    return HypothesisView(
        rank=0,
        id=row.id,
        title=row.title,
        targets=tuple(str(t) for t in row.targets),
        target_label=row.target_label,
        mechanism=row.mechanism,
        diseases=tuple(str(d) for d in row.diseases),
        evidence=tuple(evidence),
        score=score.mean if score else None,
        spread=score.spread if score else None,
        n=score.n if score else 0,
        debates=tuple(debates),
        dimensions=_dimensions([v for d in completed for v in d.verdicts], rubric),
        summary=latest.verdicts[0].summary if latest and latest.verdicts else "",
    )


def _dimensions(verdicts: Sequence[VerdictView], rubric: Rubric | None) -> tuple[DimensionView, ...]:
    if not verdicts:
        return ()
    names: list[str] = list(rubric.dimensions) if rubric else []
    for v in verdicts:
        names += [n for n in v.scores if n not in names]
    scale = rubric.scale if rubric else max(10, *(int(s) for v in verdicts for s in v.scores.values()))
    out = []
    for name in names:
        values = [float(v.scores[name]) for v in verdicts if isinstance(v.scores.get(name), int | float)]
        if not values:
            continue
        mean = statistics.fmean(values)
        weight = rubric.dimensions.get(name) if rubric else None
        fraction = min(1.0, max(0.0, (mean - 1) / (scale - 1)))
        out.append(DimensionView(name, name.replace("_", " "), weight, mean, scale, fraction))
    return tuple(out)


def _debate_view(
    row: DebateRow,
    title: str,
    turns: list[TurnView],
    verdicts: list[VerdictView],
    score: tuple[float, float, int] | None,
) -> DebateView:
    opening = next((t for t in turns if t.step == "opening"), None)
    rounds = _rounds(turns)
    verdict_turns = tuple(t for t in turns if t.step == "verdict")
    if score is None and row.status == "completed" and verdicts:
        p = panel([v.composite for v in verdicts])
        score = (p.mean, p.spread, p.n)
    return DebateView(
        id=row.id,
        hypothesis_id=row.hypothesis_id,
        hypothesis_title=title,
        replicate=row.replicate,
        batch_id=row.batch_id,
        protocol_hash=row.protocol_hash,
        status=row.status,
        failure_reason=row.failure_reason,
        stopped_at=None if row.status == "completed" else _stopped_at(row, turns),
        rounds_run=row.rounds_run,
        early_stopped=row.early_stopped,
        models=dict(row.models),
        finished_at=row.finished_at,
        opening=opening,
        rounds=rounds,
        verdicts=tuple(verdicts),
        verdict_turns=verdict_turns,
        mean=score[0] if score else None,
        spread=score[1] if score else None,
        n=score[2] if score else 0,
        tokens=sum(t.tokens for t in turns),
        cost_usd=sum(t.cost_usd for t in turns),
    )


def _rounds(turns: Iterable[TurnView]) -> tuple[RoundView, ...]:
    critiques: dict[int, TurnView] = {}
    rebuttals: dict[int, TurnView] = {}
    for t in turns:
        if t.step == "critique":
            critiques[t.round] = t
        elif t.step == "rebuttal":
            rebuttals[t.round] = t
    out = []
    for number in sorted(critiques.keys() | rebuttals.keys()):
        critique, rebuttal = critiques.get(number), rebuttals.get(number)
        answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for a in rebuttal.payload.get("answers", []) if rebuttal else []:
            if isinstance(a, dict) and isinstance(a.get("point"), int):
                answers[a["point"]].append(a)
        points: list[PointView] = []
        for index, p in enumerate(critique.payload.get("points", []) if critique else [], 1):
            given = answers.get(index, [])
            points.append(
                PointView(
                    index=index,
                    point=str(p.get("point", "")) if isinstance(p, dict) else str(p),
                    severity=str(p.get("severity", "")) if isinstance(p, dict) else "",
                    answer=" / ".join(str(a.get("answer", "")) for a in given) if given else None,
                    resolved=any(bool(a.get("resolved")) for a in given) if given else None,
                )
            )
        unmatched = tuple(str(a.get("answer", "")) for i, given in answers.items() if i > len(points) for a in given)
        revised = str(rebuttal.payload.get("revised_claim") or "").strip() if rebuttal else ""
        out.append(RoundView(number, critique, rebuttal, tuple(points), unmatched, revised))
    return tuple(out)


def _stopped_at(row: DebateRow, turns: list[TurnView]) -> str:
    """The step the debate was on when it stopped: the stored failed step, else the protocol's next step."""
    prior = [PriorTurn(t.role, t.step, t.round, t.text, t.payload) for t in turns]
    protocol = row.protocol or {}
    state = DebateState(
        transcript=prior,
        rounds=int(protocol.get("rounds", 0)),
        judges=int(protocol.get("judges", 1)),
        early_stop=bool(protocol.get("early_stop", True)),
    )
    step = row.failed_step or _NODE_STEP.get(next_step(state), "end")
    critiques = sum(1 for t in turns if t.step == "critique")
    where = {"critique": f" (round {critiques + 1})", "rebuttal": f" (round {critiques})"}.get(step, "")
    return f"{step}{where}, after {len(turns)} stored turn{'s' if len(turns) != 1 else ''}"


# -- export: every hypothesis, debate, panel score, verdict and turn, streamed --------------------


def export_records(session: Session, *, chunk: int = 500) -> Iterator[dict[str, Any]]:
    """Rows for analysis elsewhere, each with a `kind`: hypothesis, debate, score, verdict, turn."""
    evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in session.execute(select(EvidenceRow).order_by(EvidenceRow.hypothesis_id, EvidenceRow.position)).scalars():
        evidence[e.hypothesis_id].append({"claim": e.claim, "citation": e.citation, "stance": e.stance})
    for h in session.scalars(select(HypothesisRow).order_by(HypothesisRow.id)):
        yield {
            "kind": "hypothesis",
            "hypothesis_id": h.id,
            "title": h.title,
            "targets": list(h.targets),
            "target_label": h.target_label,
            "diseases": list(h.diseases),
            "mechanism": h.mechanism,
            "evidence": evidence.get(h.id, []),
            "score": h.score,
            "spread": h.score_spread,
            "n": h.score_n,
            "debates_completed": h.debates_completed,
        }
    debate_columns = [
        DebateRow.id.label("debate_id"),
        *(getattr(DebateRow, c) for c in _DEBATE_COLUMNS),
    ]
    debates = select(*debate_columns).order_by(DebateRow.hypothesis_id, DebateRow.id)
    yield from _stream(session, "debate", debates, chunk)
    score_columns = [ScoreRow.mean.label("score"), *(getattr(ScoreRow, c) for c in _SCORE_COLUMNS)]
    yield from _stream(session, "score", select(*score_columns).order_by(ScoreRow.debate_id), chunk)
    verdicts = (
        select(DebateRow.hypothesis_id, *(getattr(VerdictRow, c) for c in _VERDICT_COLUMNS))
        .join(DebateRow, DebateRow.id == VerdictRow.debate_id)
        .order_by(VerdictRow.debate_id, VerdictRow.judge)
    )
    yield from _stream(session, "verdict", verdicts, chunk)
    turns = (
        select(DebateRow.hypothesis_id, *(getattr(TurnRow, c) for c in _TURN_COLUMNS))
        .join(DebateRow, DebateRow.id == TurnRow.debate_id)
        .order_by(TurnRow.debate_id, TurnRow.seq)
    )
    yield from _stream(session, "turn", turns, chunk)


_DEBATE_COLUMNS = (
    "hypothesis_id", "batch_id", "replicate", "protocol_hash", "rubric_hash", "status", "failure_reason",
    "failed_step", "rounds_run", "early_stopped", "revised_statement", "models", "attempts", "started_at",
    "finished_at",
)  # fmt: skip
_SCORE_COLUMNS = (
    "debate_id", "hypothesis_id", "spread", "n", "rubric_hash", "judge_models", "created_at",
)  # fmt: skip
_VERDICT_COLUMNS = (
    "debate_id", "judge", "model", "composite", "scores", "rationales", "summary", "rubric_hash", "created_at",
)  # fmt: skip
_TURN_COLUMNS = (
    "debate_id", "seq", "round", "role", "step", "model", "text", "payload", "prompt_tokens", "completion_tokens",
    "latency_s", "cost_usd", "attempts", "created_at",
)  # fmt: skip


def _stream(session: Session, kind: str, query: Select[Any], chunk: int) -> Iterator[dict[str, Any]]:
    for row in session.execute(query.execution_options(yield_per=chunk)).mappings():
        yield {"kind": kind, **row}
