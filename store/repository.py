"""The writes and reads other parts need. Every function takes a Session; callers own transactions
unless the name says otherwise (`*_commit`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.leases import expiry, lease_free
from store.models import (
    BatchRow,
    DebateRow,
    EvidenceRow,
    HypothesisRow,
    LinkRow,
    PageRow,
    ScoreRow,
    TurnRow,
    UsageRow,
    VerdictRow,
    utcnow,
)


@dataclass(frozen=True)
class HypothesisRecord:
    """What the store needs of a hypothesis (built by the caller from its validated input)."""

    id: str
    content_hash: str
    title: str
    targets: list[str]
    target_label: str
    mechanism: str
    diseases: list[str]
    pages: list[str]
    evidence: list[dict[str, Any]]


# Any fixed number: the PostgreSQL advisory lock that serialises hypothesis upserts across workers.
_UPSERT_LOCK = 0x6879706F


def upsert_hypotheses(session: Session, records: Sequence[HypothesisRecord]) -> tuple[int, int]:
    """Insert new hypotheses, update changed ones (evidence replaced). Returns (inserted, updated).

    On PostgreSQL, concurrent workers importing the same batch take turns (a transaction-scoped
    advisory lock), so none of them hits a duplicate key halfway through a pipelined insert; SQLite
    serialises writers itself, and the caller retries the rare conflict there.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_UPSERT_LOCK)))
    existing = {
        row.id: row
        for row in session.scalars(select(HypothesisRow).where(HypothesisRow.id.in_([r.id for r in records])))
    }
    inserted = updated = 0
    for record in records:
        row = existing.get(record.id)
        if row is None:
            row = HypothesisRow(id=record.id, score_n=0, debates_completed=0)
            session.add(row)
            inserted += 1
        elif row.content_hash == record.content_hash and row.pages == record.pages:
            continue
        else:
            updated += 1
            row.evidence.clear()
            session.flush()
        row.content_hash = record.content_hash
        row.title = record.title
        row.targets = list(record.targets)
        row.target_label = record.target_label
        row.mechanism = record.mechanism
        row.diseases = list(record.diseases)
        row.pages = list(record.pages)
        row.evidence = [
            EvidenceRow(position=i, claim=e["claim"], citation=e.get("citation"), stance=e.get("stance", "for"))
            for i, e in enumerate(record.evidence)
        ]
    return inserted, updated


def create_batch(session: Session, batch: BatchRow) -> None:
    session.add(batch)


@dataclass(frozen=True)
class Claim:
    debate_id: str
    status: str  # "new", "resume", "completed" or "busy" (leased by another live worker)
    turns: list[TurnRow]
    holder: str | None = None


class LeaseLost(Exception):
    """Another worker took this debate over (our lease expired); stop working on it."""


def claim_debate(session: Session, row: DebateRow, *, owner: str, lease_s: float) -> Claim:
    """Lease the debate `row` describes, or find it: completed ones are skipped, ones leased by another live
    worker are left alone, interrupted ones resumed, failed ones reset and retried. Commits."""
    row.lease_owner, row.lease_expires = owner, expiry(lease_s)
    existing = session.get(DebateRow, row.id)
    if existing is None:
        session.add(row)
        try:
            session.commit()
            return Claim(row.id, "new", [])
        except IntegrityError:  # another worker inserted it first
            session.rollback()
            existing = session.get(DebateRow, row.id, populate_existing=True)
            if existing is None:
                raise
    if existing.status == "completed":
        session.rollback()
        return Claim(existing.id, "completed", [])
    held_by = existing.lease_owner
    if not lease_free(held_by, existing.lease_expires, owner):
        session.rollback()
        return Claim(existing.id, "busy", [], holder=held_by)
    swapped = session.execute(  # compare-and-swap: only if nobody re-leased it since we looked
        update(DebateRow)
        .where(
            DebateRow.id == existing.id,
            DebateRow.status != "completed",
            DebateRow.lease_owner.is_(None) if held_by is None else DebateRow.lease_owner == held_by,
        )
        .values(lease_owner=owner, lease_expires=expiry(lease_s), batch_id=row.batch_id)
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:
        session.rollback()
        return Claim(existing.id, "busy", [], holder="another worker")
    session.refresh(existing)
    if existing.status == "failed":
        session.execute(delete(TurnRow).where(TurnRow.debate_id == existing.id))
        session.execute(delete(VerdictRow).where(VerdictRow.debate_id == existing.id))
        existing.status = "running"
        existing.failure_reason = None
        existing.failed_step = None
        existing.attempts += 1
        existing.started_at = utcnow()
        session.commit()
        return Claim(existing.id, "new", [])
    turns = list(session.scalars(select(TurnRow).where(TurnRow.debate_id == existing.id).order_by(TurnRow.seq)))
    session.commit()
    return Claim(existing.id, "resume", turns)


def _renew(connection: Connection, debate_id: str, owner: str, lease_s: float) -> None:
    renewed = connection.execute(
        update(DebateRow.__table__)
        .where(DebateRow.__table__.c.id == debate_id, DebateRow.__table__.c.lease_owner == owner)
        .values(lease_expires=expiry(lease_s))
    )
    if renewed.rowcount != 1:
        raise LeaseLost(f"{debate_id}: lease lost to another worker")


def add_turn(
    engine: Engine,
    turn: dict[str, Any],
    verdict: dict[str, Any] | None,
    usage: Sequence[dict[str, Any]],
    *,
    owner: str,
    lease_s: float,
) -> None:
    """One transaction per turn: renew the lease, then the turn, its verdict (for judges) and the calls
    that produced it. Raises LeaseLost (writing nothing) if another worker took the debate over.

    SQLAlchemy Core on a plain connection, not the ORM: this runs once per LLM turn, on the hot path.
    """
    with engine.begin() as connection:
        _renew(connection, turn["debate_id"], owner, lease_s)
        connection.execute(TurnRow.__table__.insert(), [turn])
        if verdict is not None:
            connection.execute(VerdictRow.__table__.insert(), [verdict])
        if usage:
            connection.execute(UsageRow.__table__.insert(), list(usage))


def add_usage(session: Session, usage: Sequence[dict[str, Any]]) -> None:
    if usage:
        session.execute(insert(UsageRow), list(usage))


def complete_debate_commit(
    session: Session,
    debate_id: str,
    *,
    mean: float,
    spread: float,
    n: int,
    rounds_run: int,
    early_stopped: bool,
    revised_statement: str | None,
    judge_models: list[str],
    usage: Sequence[dict[str, Any]] = (),
    owner: str,
) -> None:
    """Mark the debate completed, store its panel score and refresh its hypothesis's aggregate, atomically."""
    debate = session.get_one(DebateRow, debate_id, populate_existing=True)
    if debate.lease_owner != owner:
        session.rollback()
        raise LeaseLost(f"{debate_id}: lease lost to another worker")
    debate.lease_owner = None
    debate.status = "completed"
    debate.finished_at = utcnow()
    debate.rounds_run = rounds_run
    debate.early_stopped = early_stopped
    debate.revised_statement = revised_statement
    session.add(
        ScoreRow(
            debate_id=debate_id,
            hypothesis_id=debate.hypothesis_id,
            mean=mean,
            spread=spread,
            n=n,
            rubric_hash=debate.rubric_hash,
            judge_models=judge_models,
            prompt_hashes=debate.prompt_hashes,
        )
    )
    add_usage(session, usage)
    session.flush()
    refresh_hypothesis_score(session, debate.hypothesis_id)
    session.commit()


def refresh_hypothesis_score(session: Session, hypothesis_id: str) -> None:
    """A hypothesis's score: mean, spread and n over the verdicts of all its completed debates."""
    composites = list(
        session.scalars(
            select(VerdictRow.composite)
            .join(DebateRow, DebateRow.id == VerdictRow.debate_id)
            .where(DebateRow.hypothesis_id == hypothesis_id, DebateRow.status == "completed")
        )
    )
    debates = session.scalar(
        select(func.count()).where(DebateRow.hypothesis_id == hypothesis_id, DebateRow.status == "completed")
    )
    row = session.get_one(HypothesisRow, hypothesis_id, with_for_update=True)
    row.score = statistics.fmean(composites) if composites else None
    row.score_spread = statistics.pstdev(composites) if len(composites) > 1 else (0.0 if composites else None)
    row.score_n = len(composites)
    row.debates_completed = int(debates or 0)


def fail_debate_commit(
    session: Session, debate_id: str, reason: str, step: str | None, usage: Sequence[dict[str, Any]], *, owner: str
) -> None:
    debate = session.get_one(DebateRow, debate_id, populate_existing=True)
    if debate.lease_owner != owner:
        session.rollback()
        raise LeaseLost(f"{debate_id}: lease lost to another worker")
    debate.lease_owner = None
    debate.status = "failed"
    debate.failure_reason = reason[:2000]
    debate.failed_step = step
    debate.finished_at = utcnow()
    add_usage(session, usage)
    session.commit()


def finish_batch_commit(
    session: Session, batch_id: str, *, completed: int, failed: int, skipped: int, wall_s: float, status: str
) -> None:
    batch = session.get_one(BatchRow, batch_id)
    batch.debates_completed = completed
    batch.debates_failed = failed
    batch.debates_skipped = skipped
    batch.wall_s = wall_s
    batch.status = status
    batch.finished_at = utcnow()
    session.commit()


@dataclass(frozen=True)
class Ranked:
    id: str
    title: str
    target_label: str
    diseases: list[str]
    score: float
    spread: float
    n: int
    debates: int


def ranking(session: Session, hypothesis_ids: Sequence[str] | None = None, limit: int | None = None) -> list[Ranked]:
    """Hypotheses with at least one completed debate, best score first (then more debates, then id)."""
    query = select(HypothesisRow).where(HypothesisRow.score.is_not(None))
    if hypothesis_ids is not None:
        query = query.where(HypothesisRow.id.in_(list(hypothesis_ids)))
    query = query.order_by(HypothesisRow.score.desc(), HypothesisRow.debates_completed.desc(), HypothesisRow.id)
    if limit:
        query = query.limit(limit)
    return [
        Ranked(
            r.id,
            r.title,
            r.target_label,
            list(r.diseases),
            r.score or 0.0,
            r.score_spread or 0.0,
            r.score_n,
            r.debates_completed,
        )
        for r in session.scalars(query)
    ]


# -- pages and links ------------------------------------------------------------------------------


def hypothesis_entity_sources(session: Session) -> list[tuple[str, list[str], list[str], list[str]]]:
    """(id, targets, diseases, pages) of every hypothesis: what links are derived from."""
    rows = session.execute(select(HypothesisRow.id, HypothesisRow.targets, HypothesisRow.diseases, HypothesisRow.pages))
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
