"""Reads and writes of wiki pages and of the hypothesis ↔ entity links that pages are related through."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from store.models import EvalItemRow, HypothesisRow, LinkRow, PageRow, utcnow


def hypothesis_entity_sources(session: Session) -> list[tuple[str, list[str], list[str], list[str]]]:
    """(id, targets, diseases, pages) of every hypothesis except labelled eval items (measurement material, kept
    off pages): what links are derived from."""
    rows = session.execute(
        select(HypothesisRow.id, HypothesisRow.targets, HypothesisRow.diseases, HypothesisRow.pages).where(
            HypothesisRow.id.not_in(select(EvalItemRow.hypothesis_id))
        )
    )
    return [(i, list(t or []), list(d or []), list(p or [])) for i, t, d, p in rows]


def known_targets(session: Session) -> set[str]:
    """Every target symbol of every stored hypothesis."""
    return {str(t) for targets in session.scalars(select(HypothesisRow.targets)) for t in targets or []}


def replace_links(session: Session, links: dict[str, set[str]]) -> tuple[int, int]:
    """Make the links of each hypothesis in `links` exactly the given entities. Returns (added, removed)."""
    existing: dict[str, set[str]] = {}
    for entity, hypothesis_id in session.execute(select(LinkRow.entity, LinkRow.hypothesis_id)):
        existing.setdefault(hypothesis_id, set()).add(entity)
    added: list[dict[str, str]] = []
    removed = 0
    for hypothesis_id, wanted in links.items():
        have = existing.get(hypothesis_id, set())
        added += [{"entity": e, "hypothesis_id": hypothesis_id} for e in sorted(wanted - have)]
        stale = have - wanted
        if stale:
            removed += len(stale)
            session.execute(
                delete(LinkRow).where(LinkRow.hypothesis_id == hypothesis_id, LinkRow.entity.in_(sorted(stale)))
            )
    if added:
        session.execute(insert(LinkRow), added)
    return len(added), removed


def page_sources(session: Session, slugs: Collection[str] | None = None) -> dict[str, str]:
    """slug -> the stored source path (relative to the pages root) of the given pages, or of every page, by slug."""
    query = select(PageRow.slug, PageRow.source_path).order_by(PageRow.slug)
    if slugs is not None:
        query = query.where(PageRow.slug.in_(sorted(slugs)))
    return {slug: source for slug, source in session.execute(query)}


def upsert_page(
    session: Session,
    *,
    slug: str,
    title: str,
    entity_type: str | None,
    entities: list[str],
    source_path: str,
    markdown: str,
) -> bool:
    """Insert or update a page; returns True when it was new."""
    row = session.get(PageRow, slug)
    new = row is None
    if row is None:
        row = PageRow(slug=slug)
        session.add(row)
    row.title = title
    row.entity_type = entity_type
    row.entities = list(entities)
    row.source_path = source_path
    row.markdown = markdown
    row.updated_at = utcnow()
    return new


def page(session: Session, slug: str) -> PageRow | None:
    return session.get(PageRow, slug)
