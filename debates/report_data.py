"""Everything the transcript report shows, read from the store in a few bulk queries.

`load_report(session, batch_id=..., hypothesis_id=...)` returns a `ReportData`: the batch overview,
one ranking per scoreboard (scores are comparable only within a scoreboard: rubric, protocol and judge
models as served), the hypotheses in scope (their scores per scoreboard, debates, rounds, critic points,
closing turns and verdicts) and the failed or unfinished debates. Turns, verdicts, scores, versions and
evidence are each read with one query over the scope, never one query per debate, so a 1,000-debate
batch loads in well under a second.

Each score in the report is computed from the completed debates in the report (with the same aggregate the
store uses), per (scoreboard, hypothesis version): the numbers always match the transcripts shown.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from agents.embedded import DEMO_WARNING
from agents.roles import PriorTurn
from agents.settings import EMBEDDED_MODEL
from debates.graph import DebateState, next_step
from debates.report_views import (
    AssessmentView,
    BatchView,
    ClosingView,
    DebateView,
    DimensionView,
    EvidenceView,
    HypothesisView,
    PointView,
    RankedView,
    RankingView,
    ReportData,
    RoundView,
    ScoreboardView,
    ScoreView,
    TurnView,
    UsageTotals,
    VerdictView,
)
from scoring.aggregate import hypothesis_score
from scoring.composite import panel
from scoring.rubric import Rubric
from store.models import (
    BatchRow,
    DebateRow,
    EvidenceRow,
    HypothesisRow,
    HypothesisVersionRow,
    ScoreboardRow,
    ScoreRow,
    TurnRow,
    UsageRow,
    VerdictRow,
)
from store.rankings import Board, board_of

_NODE_STEP = {
    "open_debate": "opening",
    "critique": "critique",
    "rebut": "rebuttal",
    "close": "closing",
    "judge": "verdict",
}
_EPOCH = datetime.min.replace(tzinfo=UTC)


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
    hypotheses, rankings, unscored = _hypotheses(session, scope, debate_rows, rubrics)
    debates = [d for h in hypotheses for d in h.debates]
    demo = (
        EMBEDDED_MODEL in batch_row.models.values()
        or any(EMBEDDED_MODEL in d.models.values() for d in debates)
        or any(r.board.demo for r in rankings)
    )
    return ReportData(
        generated_at=datetime.now(UTC),
        scope="batch" if batch_id is not None else "all",
        batch=_batch_view(session, batch_row),
        batches_total=session.scalar(select(func.count()).select_from(BatchRow)) or 0,
        hypothesis_filter=hypothesis_id,
        hypotheses=hypotheses,
        rankings=rankings,
        unscored=unscored,
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


@dataclass(frozen=True)
class _Versions:
    """The stored versions of the hypotheses in scope: by content, by the debate that offered them, and
    revisions by (parent version, revised statement), for debates whose identical revision another offered first."""

    by_content: dict[tuple[str, str], HypothesisVersionRow]
    by_debate: dict[str, HypothesisVersionRow]
    by_revision: dict[tuple[str, str], HypothesisVersionRow]

    @classmethod
    def load(cls, session: Session, hypothesis_ids: Select[Any]) -> _Versions:
        rows = list(
            session.scalars(
                select(HypothesisVersionRow)
                .where(HypothesisVersionRow.hypothesis_id.in_(hypothesis_ids))
                .order_by(HypothesisVersionRow.hypothesis_id, HypothesisVersionRow.version)
            )
        )
        by_revision: dict[tuple[str, str], HypothesisVersionRow] = {}
        for v in rows:
            if v.origin == "revision" and v.parent_id and v.content:
                by_revision.setdefault((v.parent_id, str(v.content.get("mechanism", "")).strip()), v)
        return cls(
            by_content={(v.hypothesis_id, v.content_hash): v for v in rows},
            by_debate={v.debate_id: v for v in rows if v.debate_id and v.origin == "revision"},
            by_revision=by_revision,
        )

    def revision(self, row: DebateRow, version_id: str | None) -> HypothesisVersionRow | None:
        """The child version a debate's revision is stored as (offered by this debate, or first by another)."""
        found = self.by_debate.get(row.id)
        if found is None and version_id and row.revised_statement:
            found = self.by_revision.get((version_id, row.revised_statement.strip()))
        return found


_PanelScore = tuple[float, float, int, str | None]  # mean, spread, n, scoreboard id


def _hypotheses(
    session: Session, scope: Select[Any], debate_rows: Sequence[DebateRow], rubrics: dict[str, Rubric]
) -> tuple[tuple[HypothesisView, ...], tuple[RankingView, ...], tuple[HypothesisView, ...]]:
    """(every hypothesis in ranking order, one ranking per scoreboard, the hypotheses with no score)."""
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
            VerdictRow.persona,
            VerdictRow.material_order,
            VerdictRow.reasoning,
        )
        .where(VerdictRow.debate_id.in_(scope))
        .order_by(VerdictRow.debate_id, VerdictRow.judge)
    ):
        verdicts[r[0]].append(VerdictView(*r[1:]))
    scores: dict[str, _PanelScore] = {
        r[0]: (r[1], r[2], r[3], r[4])
        for r in session.execute(
            select(ScoreRow.debate_id, ScoreRow.mean, ScoreRow.spread, ScoreRow.n, ScoreRow.scoreboard_id).where(
                ScoreRow.debate_id.in_(scope)
            )
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
    versions = _Versions.load(session, in_scope)

    by_hypothesis: dict[str, list[DebateView]] = defaultdict(list)
    for row in sorted(debate_rows, key=lambda d: (d.replicate, d.started_at, d.id)):
        title = rows[row.hypothesis_id].title
        view = _debate_view(row, title, turns.get(row.id, []), verdicts.get(row.id, []), scores.get(row.id), versions)
        by_hypothesis[row.hypothesis_id].append(view)
    rubric_by_debate = {d.id: rubrics.get(d.rubric_hash) for d in debate_rows}

    # one score per (scoreboard, hypothesis, version), from its completed debates in scope
    groups: dict[tuple[str, str, str], list[DebateView]] = defaultdict(list)
    for h_id, debates in by_hypothesis.items():
        for d in debates:
            if d.status == "completed" and d.scoreboard_id is not None:
                groups[(d.scoreboard_id, h_id, d.content_hash)].append(d)
    board_rows = {
        b.id: b for b in session.scalars(select(ScoreboardRow).where(ScoreboardRow.id.in_({k[0] for k in groups})))
    }
    board_views = _board_views(groups, board_rows)
    by_board: dict[str, list[ScoreView]] = defaultdict(list)
    for (board_id, h_id, content_hash), debates in groups.items():
        version = versions.by_content.get((h_id, content_hash))
        by_board[board_id].append(_score_view(board_id, rows[h_id], content_hash, version, debates, rubric_by_debate))
    ranked_scores: dict[str, list[ScoreView]] = defaultdict(list)
    ranking_rows: dict[str, list[ScoreView]] = {}
    for board_id in board_views:
        ordered = sorted(by_board[board_id], key=lambda s: (-s.mean, -s.debates, s.hypothesis_id, s.version or 0))
        ranking_rows[board_id] = [replace(s, rank=i) for i, s in enumerate(ordered, 1)]
        for s in ranking_rows[board_id]:
            ranked_scores[s.hypothesis_id].append(s)

    views: dict[str, HypothesisView] = {}
    for h_id, debates in by_hypothesis.items():
        views[h_id] = _hypothesis_view(rows[h_id], evidence.get(h_id, []), debates, tuple(ranked_scores[h_id]))
    rankings = tuple(
        RankingView(board, tuple(RankedView(s.rank, views[s.hypothesis_id], s) for s in ranking_rows[board.id]))
        for board in board_views.values()
    )
    order = list(dict.fromkeys(row.hypothesis.id for ranking in rankings for row in ranking.rows))
    unscored = sorted((v for v in views.values() if not v.scores), key=lambda h: (-len(h.completed), h.id))
    return tuple(views[h_id] for h_id in order) + tuple(unscored), rankings, tuple(unscored)


def _board_views(
    groups: dict[tuple[str, str, str], list[DebateView]], rows: dict[str, ScoreboardRow]
) -> dict[str, ScoreboardView]:
    """The scoreboards of the debates in scope, most debates first (then newest, then id)."""
    debates: dict[str, int] = defaultdict(int)
    hypotheses: dict[str, set[str]] = defaultdict(set)
    for (board_id, h_id, _), members in groups.items():
        debates[board_id] += len(members)
        hypotheses[board_id].add(h_id)
    out: dict[str, ScoreboardView] = {}
    for board_id in sorted(debates, key=lambda b: (-debates[b], -_stamp(rows.get(b)), b)):
        row = rows.get(board_id)
        counts = (debates[board_id], len(hypotheses[board_id]))
        board = board_of(row, *counts) if row else Board(board_id, [], "?", "?", False, False, *counts)
        out[board_id] = ScoreboardView(
            id=board.id,
            label=board.label,
            judge_models=tuple(board.judge_models),
            rubric_hash=board.rubric_hash,
            protocol_hash=board.protocol_hash,
            demo=board.demo,
            legacy=board.legacy,
        )
    return out


def _stamp(row: ScoreboardRow | None) -> float:
    if row is None or row.created_at is None:
        return 0.0
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return created.timestamp()


def _latest(debates: Iterable[DebateView]) -> DebateView | None:
    return max(debates, key=lambda d: (d.finished_at or _EPOCH, d.id), default=None)


def _score_view(
    board_id: str,
    row: HypothesisRow,
    content_hash: str,
    version: HypothesisVersionRow | None,
    debates: list[DebateView],
    rubric_by_debate: dict[str, Rubric | None],
) -> ScoreView:
    panels = [[v.composite for v in d.verdicts] or [d.mean or 0.0] for d in debates]
    score = hypothesis_score(panels)
    latest = _latest(debates)
    rubric = rubric_by_debate.get(latest.id) if latest else None
    content = version.content if version is not None and version.content else {}
    return ScoreView(
        scoreboard_id=board_id,
        hypothesis_id=row.id,
        version_id=version.id if version is not None else None,
        version=version.version if version is not None else None,
        current=content_hash == row.content_hash,
        content_hash=content_hash,
        title=str(content.get("title") or row.title),
        mean=score.mean,
        lo=score.lo,
        hi=score.hi,
        interval=score.interval,
        debates=score.debates,
        verdicts=score.verdicts,
        dimensions=_dimensions([v for d in debates for v in d.verdicts], rubric),
        summary=latest.verdicts[0].summary if latest and latest.verdicts else "",
        debate_views=tuple(debates),
    )


def _hypothesis_view(
    row: HypothesisRow,
    evidence: list[EvidenceView],
    debates: list[DebateView],
    scores: tuple[ScoreView, ...],
) -> HypothesisView:
    return HypothesisView(
        id=row.id,
        title=row.title,
        version=row.version,
        targets=tuple(str(t) for t in row.targets),
        target_label=row.target_label,
        mechanism=row.mechanism,
        diseases=tuple(str(d) for d in row.diseases),
        evidence=tuple(evidence),
        scores=scores,
        debates=tuple(debates),
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
    score: _PanelScore | None,
    versions: _Versions,
) -> DebateView:
    opening = next((t for t in turns if t.step == "opening"), None)
    closing_turn = next((t for t in reversed(turns) if t.step == "closing"), None)
    rounds = _rounds(turns, closing_turn)
    verdict_turns = tuple(t for t in turns if t.step == "verdict")
    mean = spread = None
    n = 0
    board_id: str | None = None
    if score is not None:
        mean, spread, n, board_id = score
    elif row.status == "completed" and verdicts:
        p = panel([v.composite for v in verdicts])  # shown for the debate; on no scoreboard, so never ranked
        mean, spread, n = p.mean, p.spread, p.n
    version = versions.by_content.get((row.hypothesis_id, row.hypothesis_hash))
    version_id = version.id if version is not None else None
    revision = versions.revision(row, version_id)
    if revision is not None:  # the revision kept is the last one offered: say so under that round's claim
        offered = (row.revised_statement or "").strip()
        last = max((r.number for r in rounds if r.revised_claim and r.revised_claim == offered), default=None)
        rounds = tuple(replace(r, revision_id=revision.id) if r.number == last else r for r in rounds)
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
        closing=_closing(closing_turn, rounds),
        verdicts=tuple(verdicts),
        verdict_turns=verdict_turns,
        mean=mean,
        spread=spread,
        n=n,
        scoreboard_id=board_id,
        content_hash=row.hypothesis_hash,
        version_id=version_id,
        revised_statement=row.revised_statement,
        revision_id=revision.id if revision is not None else None,
        revision_debate_id=revision.debate_id if revision is not None else None,
        tokens=sum(t.tokens for t in turns),
        cost_usd=sum(t.cost_usd for t in turns),
    )


def _by_point(items: Iterable[Any]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("point"), int) and not isinstance(item["point"], bool):
            out[item["point"]].append(item)
    return out


def _rounds(turns: Iterable[TurnView], closing: TurnView | None) -> tuple[RoundView, ...]:
    critiques: dict[int, TurnView] = {}
    rebuttals: dict[int, TurnView] = {}
    for t in turns:
        if t.step == "critique":
            critiques[t.round] = t
        elif t.step == "rebuttal":
            rebuttals[t.round] = t
    numbers = sorted(critiques.keys() | rebuttals.keys())
    # the closing assesses the points of the latest critique (its round, else the last one)
    assessed_round = None
    if closing is not None and numbers:
        assessed_round = closing.round if closing.round in critiques else max(critiques, default=None)
    assessments = _by_point(closing.payload.get("assessments", [])) if closing is not None else {}
    out = []
    for number in numbers:
        critique, rebuttal = critiques.get(number), rebuttals.get(number)
        answers = _by_point(rebuttal.payload.get("answers", []) if rebuttal else [])
        assessed = number == assessed_round
        points: list[PointView] = []
        for index, p in enumerate(critique.payload.get("points", []) if critique else [], 1):
            given = answers.get(index, [])
            judged = assessments.get(index, []) if assessed else []
            points.append(
                PointView(
                    index=index,
                    point=str(p.get("point", "")) if isinstance(p, dict) else str(p),
                    severity=str(p.get("severity", "")) if isinstance(p, dict) else "",
                    answer=" / ".join(str(a.get("answer", "")) for a in given) if given else None,
                    resolved=any(bool(a.get("resolved")) for a in given) if given else None,
                    closing_resolved=all(bool(a.get("resolved")) for a in judged) if judged else None,
                    closing_reason=" / ".join(str(a.get("reason", "")) for a in judged) if judged else None,
                )
            )
        unmatched = tuple(str(a.get("answer", "")) for i, given in answers.items() if i > len(points) for a in given)
        revised = str(rebuttal.payload.get("revised_claim") or "").strip() if rebuttal else ""
        out.append(RoundView(number, critique, rebuttal, tuple(points), unmatched, revised, assessed))
    return tuple(out)


def _closing(turn: TurnView | None, rounds: Sequence[RoundView]) -> ClosingView | None:
    if turn is None:
        return None
    assessed = next((r for r in rounds if r.assessed), None)
    points = {p.index: p.point for p in assessed.points} if assessed else {}
    items = []
    for a in turn.payload.get("assessments", []):
        if not isinstance(a, dict):
            continue
        number = a.get("point") if isinstance(a.get("point"), int) and not isinstance(a.get("point"), bool) else None
        items.append(AssessmentView(number, points.get(number or 0), bool(a.get("resolved")), str(a.get("reason", ""))))
    concerns = turn.payload.get("remaining_concerns", [])
    return ClosingView(
        turn=turn,
        assessments=tuple(items),
        remaining_concerns=tuple(str(c) for c in concerns) if isinstance(concerns, list) else (),
        summary=str(turn.payload.get("summary") or ""),
    )


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
