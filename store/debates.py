"""Reads of single hypotheses and debates for the views that show them (the web app, `hypodebate show`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import DebateRow, HypothesisRow, ScoreboardRow, ScoreRow


def hypothesis(session: Session, hypothesis_id: str) -> HypothesisRow | None:
    return session.get(HypothesisRow, hypothesis_id)


def debate(session: Session, debate_id: str) -> DebateRow | None:
    return session.get(DebateRow, debate_id)


def debates_of(session: Session, hypothesis_id: str, *, offset: int = 0, limit: int | None = None) -> list[DebateRow]:
    """A hypothesis's debates, oldest first, `limit` of them from `offset` (all when `limit` is None)."""
    query = (
        select(DebateRow)
        .where(DebateRow.hypothesis_id == hypothesis_id)
        .order_by(DebateRow.started_at, DebateRow.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def debate_count(session: Session, hypothesis_id: str) -> int:
    query = select(func.count()).select_from(DebateRow).where(DebateRow.hypothesis_id == hypothesis_id)
    return int(session.scalar(query) or 0)


def scores_of(session: Session, debate_ids: list[str]) -> dict[str, ScoreRow]:
    """The panel score of each of `debate_ids` that has one (completed debates), by debate id."""
    if not debate_ids:
        return {}
    return {s.debate_id: s for s in session.scalars(select(ScoreRow).where(ScoreRow.debate_id.in_(debate_ids)))}


def debate_score(session: Session, debate_id: str) -> ScoreRow | None:
    return session.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate_id)).first()


def scoreboard_is_demo(session: Session, scoreboard_id: str | None) -> bool:
    """The scoreboard's scores came from the embedded demo model."""
    if scoreboard_id is None:
        return False
    board = session.get(ScoreboardRow, scoreboard_id)
    return bool(board and board.demo)
