"""Reads behind a page's related-hypotheses block: the hypotheses linked to a set of entities, ranked within
one scoreboard, and the scoreboards holding their scores. Scores from different scoreboards are never ranked
together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from store.models import HypothesisRow, HypothesisScoreRow, LinkRow
from store.rankings import LINE, Related, linked_boards
from store.scoreboards import Board


def linked(entities: Iterable[str]) -> Select[tuple[str]]:
    """The ids of hypotheses linked to any of `entities` (a subquery)."""
    return select(LinkRow.hypothesis_id).where(LinkRow.entity.in_(sorted(set(entities))))


def entity_boards(session: Session, entities: Iterable[str]) -> list[Board]:
    """Scoreboards holding current scores of hypotheses linked to `entities`, most of their debates first."""
    return linked_boards(session, linked(entities))


def newest_score_change(session: Session) -> datetime | None:
    """When any hypothesis score last changed: cached page reads are stale after it."""
    return session.scalar(select(func.max(HypothesisScoreRow.updated_at)))


def related_for_entities(
    session: Session,
    entities: Iterable[str],
    board_id: str,
    *,
    top: int,
    min_score: float = 0.0,
    min_debates: int = 1,
) -> list[Related]:
    """Hypotheses linked to any of `entities` whose current version is scored on `board_id`, with at least
    `min_debates` debates there (never fewer than one) and a score of at least `min_score`, best first."""
    wanted = sorted(set(entities))
    if not wanted:
        return []
    # `hypothesis_id || ''` keeps SQLite from driving the query through the links (every linked hypothesis
    # looked up, then all sorted): it walks ix_hypothesis_scores_rank in rank order instead, testing
    # membership in the linked set, and stops at `top`.
    ranked_id = HypothesisScoreRow.hypothesis_id.op("||")(literal_column("''"))
    query = (
        select(*LINE)
        .join(HypothesisRow, HypothesisRow.id == HypothesisScoreRow.hypothesis_id)
        .where(
            HypothesisScoreRow.scoreboard_id == board_id,
            HypothesisScoreRow.current.is_(True),
            ranked_id.in_(linked(wanted)),
            HypothesisScoreRow.mean >= min_score,
            HypothesisScoreRow.debates >= max(1, min_debates),
        )
        .order_by(HypothesisScoreRow.mean.desc(), HypothesisScoreRow.debates.desc(), HypothesisScoreRow.hypothesis_id)
        .limit(top)
    )
    return [Related(*row) for row in session.execute(query)]
