"""One debate as the report shows it: its rounds (each critic point with the rebuttal's answer and the critic's
closing word on it), the closing turn, the verdicts and, for a debate that stopped, where it stopped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from debates.graph import DebateState, PriorTurn, next_step
from report.views import AssessmentView, ClosingView, DebateView, PointView, RoundView, TurnView, VerdictView
from scoring.composite import panel
from store.models import DebateRow, HypothesisVersionRow, ScoreRow

_NODE_STEP = {
    "open_debate": "opening",
    "critique": "critique",
    "rebut": "rebuttal",
    "close": "closing",
    "judge": "verdict",
}


@dataclass(frozen=True)
class Versions:
    """The stored versions of the hypotheses in scope: by content, by the debate that offered them, and
    revisions by (parent version, revised statement), for debates whose identical revision another offered first."""

    by_content: dict[tuple[str, str], HypothesisVersionRow]
    by_debate: dict[str, HypothesisVersionRow]
    by_revision: dict[tuple[str, str], HypothesisVersionRow]

    @classmethod
    def of(cls, rows: Sequence[HypothesisVersionRow]) -> Versions:
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


def debate_view(
    row: DebateRow,
    title: str,
    turns: list[TurnView],
    verdicts: list[VerdictView],
    score: ScoreRow | None,
    versions: Versions,
) -> DebateView:
    opening = next((t for t in turns if t.step == "opening"), None)
    closing_turn = next((t for t in reversed(turns) if t.step == "closing"), None)
    rounds = _rounds(turns, closing_turn)
    verdict_turns = tuple(t for t in turns if t.step == "verdict")
    mean = spread = None
    n = 0
    board_id: str | None = None
    if score is not None:
        mean, spread, n, board_id = score.mean, score.spread, score.n, score.scoreboard_id
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
        cost_usd=None if any(t.cost_usd is None for t in turns) else sum(t.cost_usd or 0.0 for t in turns),
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
