"""What the web app shows, read from the store: one function per view, returning plain values."""

from __future__ import annotations

import statistics

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import DebateRow, HypothesisRow, ScoreboardRow, ScoreRow
from store.rankings import Board, Ranked, hypothesis_scores, ranking
from store.repository import versions_of
from wiki.schemas import DebateSummary, Evidence, HypothesisResponse, Score, Scoreboard, Version

DEMO_WARNING = (
    "Scores marked demo come from the embedded demo model (SmolLM2-135M-Instruct, 135M parameters): "
    "they carry no information; point hypodebate at a real model for research use."
)


def debate_is_demo(session: Session, score: ScoreRow | None) -> bool:
    if score is None or score.scoreboard_id is None:
        return False
    board = session.get(ScoreboardRow, score.scoreboard_id)
    return bool(board and board.demo)


def board_schema(board: Board) -> Scoreboard:
    return Scoreboard(
        id=board.id,
        judge_models=list(board.judge_models),
        rubric_hash=board.rubric_hash,
        protocol_hash=board.protocol_hash,
        demo=board.demo,
        legacy=board.legacy,
        design=board.design,
        label=board.label,
    )


def exchange(session: Session, board_id: str, *, limit: int, offset: int) -> tuple[list[Ranked], int]:
    """Current versions ranked on one scoreboard, a page at a time."""
    ranked = ranking(session, board_id)
    return ranked[offset : offset + limit], len(ranked)


def hypothesis_detail(session: Session, h: HypothesisRow) -> HypothesisResponse:
    debates = list(
        session.scalars(select(DebateRow).where(DebateRow.hypothesis_id == h.id).order_by(DebateRow.started_at))
    )
    scores = {s.debate_id: s for s in session.scalars(select(ScoreRow).where(ScoreRow.hypothesis_id == h.id))}
    versions = versions_of(session, h.id)
    version_of = {v.content_hash: v.id for v in versions}
    completed = [d for d in debates if d.status == "completed" and d.hypothesis_hash == h.content_hash]
    latest = max(completed, key=lambda d: (d.finished_at is not None, d.finished_at or d.started_at), default=None)
    dimensions: dict[str, float] = {}
    if latest is not None:
        per: dict[str, list[float]] = {}
        for verdict in latest.verdicts:
            for name, value in verdict.scores.items():
                per.setdefault(name, []).append(float(value))
        dimensions = {name: statistics.fmean(values) for name, values in per.items()}
    summaries = []
    for d in debates:
        s = scores.get(d.id)
        summaries.append(
            DebateSummary(
                id=d.id,
                status=d.status,
                version_id=version_of.get(d.hypothesis_hash),
                scoreboard_id=s.scoreboard_id if s else None,
                rounds_run=d.rounds_run,
                models={str(k): str(v) for k, v in d.models.items()},
                score=s.mean if s else None,
                spread=s.spread if s else None,
                n=s.n if s else None,
                finished_at=d.finished_at,
                url=f"/debates/{d.id}",
            )
        )
    board_scores = [
        Score(
            scoreboard=board_schema(board),
            version_id=version_of.get(row.content_hash),
            current=row.current,
            mean=row.mean,
            lo=row.lo,
            hi=row.hi,
            interval=row.interval,
            debates=row.debates,
            verdicts=row.verdicts,
        )
        for row, board in hypothesis_scores(session, h.id)
    ]
    demo_used = any(s.scoreboard.demo for s in board_scores)
    return HypothesisResponse(
        id=h.id,
        title=h.title,
        targets=[str(t) for t in h.targets],
        target_label=h.target_label,
        mechanism=h.mechanism,
        diseases=[str(d) for d in h.diseases],
        pages=[str(p) for p in h.pages],
        version=h.version,
        versions=[
            Version(
                id=v.id,
                version=v.version,
                origin=v.origin,
                parent_id=v.parent_id,
                debate_id=v.debate_id,
                current=v.content_hash == h.content_hash,
            )
            for v in versions
        ],
        scores=board_scores,
        dimensions=dimensions,
        evidence=[Evidence(claim=e.claim, citation=e.citation, stance=e.stance) for e in h.evidence],
        debates=summaries,
        demo_warning=DEMO_WARNING if demo_used else None,
    )


def debate_detail(session: Session, debate_id: str) -> tuple[DebateRow, HypothesisRow, ScoreRow | None] | None:
    debate = session.get(DebateRow, debate_id)
    if debate is None:
        return None
    hypothesis = session.get_one(HypothesisRow, debate.hypothesis_id)
    score = session.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate_id)).first()
    return debate, hypothesis, score
