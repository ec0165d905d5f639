"""What the web app shows, read from the store: one function per view, returning plain values."""

from __future__ import annotations

from sqlalchemy.orm import Session

from store import debates as stored
from store.demo import DEMO_WARNING
from store.models import DebateRow, HypothesisRow, ScoreRow
from store.rankings import Board, Ranked, hypothesis_scores, ranking
from store.reports import dimension_means
from store.repository import versions_of
from wiki.schemas import DebateSummary, Evidence, HypothesisResponse, Score, Scoreboard, Version

__all__ = ["DEMO_WARNING", "board_schema", "debate_detail", "debate_is_demo", "exchange", "hypothesis_detail"]


def debate_is_demo(session: Session, score: ScoreRow | None) -> bool:
    return score is not None and stored.scoreboard_is_demo(session, score.scoreboard_id)


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


def hypothesis_detail(
    session: Session, h: HypothesisRow, *, offset: int = 0, limit: int | None = None
) -> HypothesisResponse:
    """The hypothesis with its scores, and its debates `limit` at a time from `offset` (all when None)."""
    debates = stored.debates_of(session, h.id, offset=offset, limit=limit)
    scores = stored.scores_of(session, [d.id for d in debates])
    versions = versions_of(session, h.id)
    version_of = {v.content_hash: v.id for v in versions}
    # the current version on its first scoreboard: the same definition the report shows (store.reports)
    board_id = next((row.scoreboard_id for row, _ in hypothesis_scores(session, h.id) if row.current), "")
    means = dimension_means(session, hypothesis_id=h.id).get((board_id, h.id, h.content_hash), ())
    dimensions = {m.name: m.mean for m in means}
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
    debate = stored.debate(session, debate_id)
    if debate is None:
        return None
    hypothesis = stored.hypothesis(session, debate.hypothesis_id)
    assert hypothesis is not None  # a debate's hypothesis is a foreign key
    return debate, hypothesis, stored.debate_score(session, debate_id)
