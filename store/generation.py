"""Writes of the generation loop: its run, each generation, each candidate as it lands, and the meta-reviews. Every
write commits on its own, so a killed `hypodebate generate` resumes from what landed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import CandidateRow, GenerationRow, GenerationRunRow, MetaReviewRow, utcnow
from store.repository import add_usage


def open_run_commit(
    session: Session, run_id: str, *, source_kind: str, source: str, page_slug: str | None, settings: dict[str, Any]
) -> GenerationRunRow:
    """The run `run_id`, created on first use; a finished run opens again (asked for more, it goes on)."""
    row = session.get(GenerationRunRow, run_id)
    if row is None:
        row = GenerationRunRow(
            id=run_id, source_kind=source_kind, source=source, page_slug=page_slug, settings=settings
        )
        session.add(row)
    row.status, row.stopped, row.stop_detail, row.finished_at = "running", None, None, None
    session.commit()
    return row


def finish_run_commit(session: Session, run_id: str, stopped: str, detail: str) -> None:
    row = session.get(GenerationRunRow, run_id)
    assert row is not None
    row.status, row.stopped, row.stop_detail, row.finished_at = "finished", stopped, detail, utcnow()
    session.commit()


def generation_commit(session: Session, run_id: str, number: int) -> GenerationRow:
    """Generation `number` of the run, created open on first use."""
    row = session.scalars(
        select(GenerationRow).where(GenerationRow.run_id == run_id, GenerationRow.number == number)
    ).first()
    if row is None:
        row = GenerationRow(run_id=run_id, number=number, status="open", debated=0, top=[])
        session.add(row)
        session.commit()
    return row


def close_generation_commit(
    session: Session, run_id: str, number: int, *, debated: int, tournament_id: str | None, top: list[str]
) -> None:
    row = generation_commit(session, run_id, number)
    row.debated, row.tournament_id, row.top, row.status = debated, tournament_id, list(top), "done"
    session.commit()


def candidate(session: Session, run_id: str, generation: int, slot: int) -> CandidateRow | None:
    return session.scalars(
        select(CandidateRow).where(
            CandidateRow.run_id == run_id, CandidateRow.generation == generation, CandidateRow.slot == slot
        )
    ).first()


def add_candidate_commit(session: Session, values: dict[str, Any]) -> CandidateRow:
    """Store one answer as it landed (status `pending` until deduplicated, or `invalid`)."""
    row = CandidateRow(**values)
    session.add(row)
    session.commit()
    return row


def settle_candidate_commit(session: Session, row_id: int, **values: Any) -> None:
    """Record what became of a candidate: status, hypothesis id, similarity, method, reason."""
    row = session.get(CandidateRow, row_id)
    assert row is not None
    for key, value in values.items():
        setattr(row, key, value)
    session.commit()


def meta_review(session: Session, run_id: str, generation: int) -> MetaReviewRow | None:
    return session.scalars(
        select(MetaReviewRow).where(MetaReviewRow.run_id == run_id, MetaReviewRow.generation == generation)
    ).first()


def add_meta_review_commit(session: Session, values: dict[str, Any]) -> None:
    session.add(MetaReviewRow(**values))
    session.commit()


def add_usage_commit(session: Session, usage: Sequence[dict[str, Any]]) -> None:
    """The calls of a generator answer, a meta-review or a duplicate check, whether it answered or not: the usage
    table holds every call the loop made (`hypodebate usage`)."""
    if usage:
        add_usage(session, usage)
        session.commit()
