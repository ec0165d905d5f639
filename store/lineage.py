"""Reads and writes of where hypotheses came from: a page's gaps, each generated hypothesis's provenance and
parents, and the generation runs (their generations, candidates and meta-reviews) that made them.

A hypothesis with no provenance row was imported: its origin is "imported" and its generation 0."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.models import (
    CandidateRow,
    GapRow,
    GenerationRow,
    GenerationRunRow,
    HypothesisRow,
    LineageRow,
    MetaReviewRow,
    ProvenanceRow,
)
from store.repository import chunks

IMPORTED = "imported"


def gap_id(slug: str, title: str, link: str | None) -> str:
    """`g-` + 8 hex digits of (page, link or title): the same gap keeps its id when the page is imported again."""
    key = f"{slug}\n{link or title}"
    return "g-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def replace_gaps(session: Session, slug: str, gaps: Sequence[tuple[str, str | None]]) -> list[GapRow]:
    """Make the page's gaps exactly `gaps` ((title, link) in page order); a gap still listed keeps its id and row.
    Returns the page's gaps."""
    wanted: dict[str, tuple[int, str, str | None]] = {}
    for position, (title, link) in enumerate(gaps):
        wanted.setdefault(gap_id(slug, title, link), (position, title, link))
    have = {row.id: row for row in session.scalars(select(GapRow).where(GapRow.page_slug == slug))}
    stale = sorted(set(have) - set(wanted))
    if stale:
        session.execute(delete(GapRow).where(GapRow.id.in_(stale)))
    for gid, (position, title, link) in wanted.items():
        row = have.get(gid)
        if row is None:
            session.add(GapRow(id=gid, page_slug=slug, position=position, title=title, link=link))
        else:
            row.position, row.title, row.link = position, title, link
    session.flush()
    return gaps_of(session, slug)


def gaps_of(session: Session, slug: str) -> list[GapRow]:
    """The page's gaps in page order."""
    return list(session.scalars(select(GapRow).where(GapRow.page_slug == slug).order_by(GapRow.position)))


@dataclass(frozen=True)
class Origin:
    """Where a hypothesis came from, as `show`, the report, the web app and the export say it."""

    origin: str  # imported | generated | evolved
    generation: int
    parents: tuple[str, ...]
    strategy: str | None = None
    source_kind: str | None = None  # page | gap | goal
    source: str | None = None
    model: str | None = None
    prompt_hash: str | None = None
    run_id: str | None = None


def origins(session: Session, ids: Collection[str]) -> dict[str, Origin]:
    """Each hypothesis's origin (imported when it has no provenance row), with its parents in order."""
    ids = sorted(set(ids))
    rows: dict[str, ProvenanceRow] = {}
    parents: dict[str, list[str]] = {}
    for part in chunks(ids):
        rows.update(
            {
                r.hypothesis_id: r
                for r in session.scalars(select(ProvenanceRow).where(ProvenanceRow.hypothesis_id.in_(part)))
            }
        )
        for child, parent in session.execute(
            select(LineageRow.child_id, LineageRow.parent_id)
            .where(LineageRow.child_id.in_(part))
            .order_by(LineageRow.child_id, LineageRow.position)
        ):
            parents.setdefault(child, []).append(parent)
    out: dict[str, Origin] = {}
    for hid in ids:
        row = rows.get(hid)
        if row is None:
            out[hid] = Origin(IMPORTED, 0, tuple(parents.get(hid, ())))
            continue
        out[hid] = Origin(
            row.origin,
            row.generation,
            tuple(parents.get(hid, ())),
            strategy=row.strategy,
            source_kind=row.source_kind,
            source=row.source,
            model=row.model,
            prompt_hash=row.prompt_hash,
            run_id=row.run_id,
        )
    return out


def children(session: Session, ids: Collection[str]) -> dict[str, list[str]]:
    """Each hypothesis's children (hypotheses evolved from it), in id order."""
    out: dict[str, list[str]] = {}
    for part in chunks(sorted(set(ids))):
        for child, parent in session.execute(
            select(LineageRow.child_id, LineageRow.parent_id)
            .where(LineageRow.parent_id.in_(part))
            .order_by(LineageRow.parent_id, LineageRow.child_id)
        ):
            out.setdefault(parent, []).append(child)
    return out


def add_generated(session: Session, hypothesis_id: str, provenance: dict[str, object], parents: Sequence[str]) -> None:
    """Record a new generated or evolved hypothesis's provenance and parents (the hypothesis is already stored).
    A hypothesis already holding provenance keeps its first (the earlier run made it)."""
    if session.get(ProvenanceRow, hypothesis_id) is not None:
        return
    session.add(ProvenanceRow(hypothesis_id=hypothesis_id, **provenance))
    for position, parent in enumerate(dict.fromkeys(parents)):
        if parent != hypothesis_id:
            session.add(LineageRow(child_id=hypothesis_id, parent_id=parent, position=position))
    session.flush()


def runs_for_page(session: Session, slug: str) -> list[GenerationRunRow]:
    """The generation runs whose hypotheses join the page (from the page, one of its gaps), oldest first."""
    return list(
        session.scalars(
            select(GenerationRunRow).where(GenerationRunRow.page_slug == slug).order_by(GenerationRunRow.started_at)
        )
    )


def generations_of(session: Session, run_id: str) -> list[GenerationRow]:
    return list(
        session.scalars(select(GenerationRow).where(GenerationRow.run_id == run_id).order_by(GenerationRow.number))
    )


def candidates_of(session: Session, run_id: str, generation: int | None = None) -> list[CandidateRow]:
    """The run's candidates (every generator and evolution answer), by generation and slot."""
    query = select(CandidateRow).where(CandidateRow.run_id == run_id)
    if generation is not None:
        query = query.where(CandidateRow.generation == generation)
    return list(session.scalars(query.order_by(CandidateRow.generation, CandidateRow.slot)))


def meta_reviews_of(session: Session, run_id: str) -> dict[int, MetaReviewRow]:
    """generation number -> its meta-review."""
    rows = session.scalars(select(MetaReviewRow).where(MetaReviewRow.run_id == run_id))
    return {row.generation: row for row in rows}


def gaps_by_id(session: Session, ids: Collection[str]) -> dict[str, GapRow]:
    """The gaps among `ids` that exist, by id (a gap a page no longer lists is gone)."""
    out: dict[str, GapRow] = {}
    for part in chunks(sorted(set(ids))):
        out.update({row.id: row for row in session.scalars(select(GapRow).where(GapRow.id.in_(part)))})
    return out


def runs_of_hypotheses(session: Session, ids: Collection[str]) -> list[GenerationRunRow]:
    """The generation runs that proposed any of `ids` (as a new candidate, or one merged into it), oldest first."""
    run_ids: set[str] = set()
    for part in chunks(sorted(set(ids))):
        run_ids.update(
            session.scalars(select(CandidateRow.run_id).where(CandidateRow.hypothesis_id.in_(part)).distinct())
        )
    runs: list[GenerationRunRow] = []
    for part in chunks(sorted(run_ids)):
        runs.extend(session.scalars(select(GenerationRunRow).where(GenerationRunRow.id.in_(part))))
    return sorted(runs, key=lambda r: (r.started_at, r.id))


def titles(session: Session, ids: Collection[str]) -> dict[str, str]:
    """The current title of each hypothesis among `ids` that exists."""
    out: dict[str, str] = {}
    for part in chunks(sorted(set(ids))):
        query = select(HypothesisRow.id, HypothesisRow.title).where(HypothesisRow.id.in_(part))
        out.update({hid: title for hid, title in session.execute(query)})
    return out


def model_written(session: Session, ids: Collection[str]) -> set[str]:
    """Those of `ids` a model wrote (generated or evolved: they have provenance), whose citations are held to the
    rule for debate turns (not in any bibliography: made up)."""
    found: set[str] = set()
    for part in chunks(sorted(set(ids))):
        found.update(session.scalars(select(ProvenanceRow.hypothesis_id).where(ProvenanceRow.hypothesis_id.in_(part))))
    return found
