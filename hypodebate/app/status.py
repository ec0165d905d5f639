"""The status of batches (`hypodebate status`): each batch's debates by state, and the job queue's jobs and live
workers where there is a queue. Reads the store and the queue's tables only: it starts at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from debates.queue_tables import queue_counts
from hypodebate.app.workspace import Workspace
from hypodebate.config import Settings
from safeio.errors import InputError
from store import repository
from store.claims import DebateLocks, debate_locks
from store.models import BatchRow


@dataclass(frozen=True)
class BatchStatus:
    """One batch's debates by state."""

    batch_id: str
    source: str
    started_at: datetime
    queued: int
    running: int  # held by a live process now
    done: int
    failed: int
    stalled: int  # running, but no live process holds it: a killed worker's (a queue job retries it) or a killed run's


@dataclass(frozen=True)
class QueueStatus:
    """The batches asked for, and the queue's jobs and live workers where there is a queue."""

    batches: list[BatchStatus]
    jobs: dict[str, int] | None  # the queue's debate jobs per procrastinate status; None without a queue
    workers: int | None  # workers whose heartbeat is fresh


def queue_status(*, settings: Settings, db: str | None = None, batch: str | None = None, last: int = 10) -> QueueStatus:
    """Per batch (one, or the `last` most recent): queued, running, done, failed and stalled debates."""
    with Workspace(settings, db) as ws:
        locks = debate_locks(ws.store.engine)
        try:
            with ws.store() as session:
                batches = [_status(session, row, locks) for row in _batches(session, batch, last)]
            jobs, workers = queue_counts(ws.store.engine, settings.queue.stalled_s)
            return QueueStatus(batches, jobs, workers)
        finally:
            locks.close()


def _batches(session: Session, batch: str | None, last: int) -> list[BatchRow]:
    if batch is None:
        return list(session.scalars(select(BatchRow).order_by(BatchRow.started_at.desc()).limit(last)))
    row = session.get(BatchRow, batch)
    if row is None:
        raise InputError(f"--batch: no batch {batch!r} in the database")
    return [row]


def _status(session: Session, row: BatchRow, locks: DebateLocks) -> BatchStatus:
    counts = repository.debate_counts(session, row.id)
    stalled = 0
    for d_id in repository.running_debates(session, row.id):
        if locks.acquire(d_id):  # nobody holds it: its process is gone
            locks.release(d_id)
            stalled += 1
    return BatchStatus(
        batch_id=row.id,
        source=row.source,
        started_at=row.started_at,
        queued=counts.get("queued", 0),
        running=counts.get("running", 0) - stalled,
        done=counts.get("completed", 0),
        failed=counts.get("failed", 0),
        stalled=stalled,
    )
