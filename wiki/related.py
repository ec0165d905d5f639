"""A page's related hypotheses: one query over the entity links, ranked by score, then debates, then id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from store.models import HypothesisRow, LinkRow, PageRow
from wiki.entities import page_id


@dataclass(frozen=True)
class Related:
    id: str
    title: str
    target_label: str
    score: float
    spread: float
    debates: int


def related_for_entities(
    session: Session, entities: Iterable[str], *, top: int, min_score: float = 0.0, min_debates: int = 1
) -> list[Related]:
    """Hypotheses linked to any of `entities`, with at least `min_debates` completed debates (never
    fewer than one) and a score of at least `min_score`, best first."""
    wanted = sorted(set(entities))
    if not wanted:
        return []
    linked = select(LinkRow.hypothesis_id).where(LinkRow.entity.in_(wanted))
    # `id || ''` keeps SQLite from looking each linked id up by primary key and then sorting them all
    # (20-35 ms when a page's diseases link 15,000 hypotheses): it walks ix_hypotheses_rank in order
    # instead, testing membership in the linked set, and stops at `top` (about 4 ms; 13 ms worst case,
    # when almost nothing is linked and the whole index is walked).
    ranked_id = HypothesisRow.id.op("||")(literal_column("''"))
    query = (
        select(
            HypothesisRow.id,
            HypothesisRow.title,
            HypothesisRow.target_label,
            HypothesisRow.score,
            HypothesisRow.score_spread,
            HypothesisRow.debates_completed,
        )
        .where(
            ranked_id.in_(linked),
            HypothesisRow.score.is_not(None),
            HypothesisRow.score >= min_score,
            HypothesisRow.debates_completed >= max(1, min_debates),
        )
        .order_by(HypothesisRow.score.desc(), HypothesisRow.debates_completed.desc(), HypothesisRow.id)
        .limit(top)
    )
    return [Related(i, t, label, score, spread or 0.0, n) for i, t, label, score, spread, n in session.execute(query)]


def page_entities(page: PageRow) -> list[str]:
    """What a page links through: its entities and itself (hypotheses that list its slug in `pages`)."""
    return [*page.entities, page_id(page.slug)]


def related_for_page(
    session: Session, page: PageRow, *, top: int, min_score: float = 0.0, min_debates: int = 1
) -> list[Related]:
    return related_for_entities(session, page_entities(page), top=top, min_score=min_score, min_debates=min_debates)
