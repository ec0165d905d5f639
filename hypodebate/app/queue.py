"""Debates shared by machines: a worker (`hypodebate worker`) and the status of batches (`hypodebate status`);
queueing a batch is `batch.enqueue_batch`.

The queue is procrastinate in the store's PostgreSQL database (debates/queue.py): every machine is given the same
database URL and nothing else. What stays on one machine: `run` without `--queue`, budgets (`--budget-*` count one
process's spending), and the embedded model (each worker would load its own copy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.audit import Auditor
from debates import queue as job_queue
from debates.hypotheses import Hypothesis
from debates.runner import BatchRunner
from debates.tournament import TournamentRunner
from hypodebate.app.batch import job_runner
from hypodebate.app.evidence import judge_auditor
from hypodebate.app.workspace import Workspace
from hypodebate.config import Settings
from safeio.errors import InputError
from store import repository
from store.claims import DebateLocks, debate_locks
from store.models import BatchRow


async def run_worker(
    ws: Workspace,
    *,
    concurrency: int = 4,
    queues: Sequence[str] | None = None,
    name: str | None = None,
    wait: bool = True,
) -> None:
    """Run debate jobs until stopped (SIGTERM or Ctrl-C: running jobs get `queue.grace_s` to finish, then go back
    to the queue). `wait=False`: stop once the queue is empty. The prompts are compiled once per worker."""
    url = ws.queue_url()
    job_queue.install_schema(ws.store.engine)
    ws.runner_parts()  # the client and the prompts (compiled once per worker): a worker that cannot start stops here
    q = ws.settings.queue

    async def runner_for(options: Mapping[str, Any]) -> BatchRunner:
        return await job_runner(ws, options)

    async def auditor_for(runner: BatchRunner, hypothesis: Hypothesis) -> Auditor | None:
        if runner.auditor is None:
            return None
        auditor, _ = await judge_auditor(ws, [(hypothesis.hypothesis_id, hypothesis)])
        return auditor

    def tournament_for(options: Mapping[str, Any]) -> TournamentRunner:
        judges, digests = int(options.get("judges", 1)), bool(options.get("digests", True))
        return TournamentRunner(**ws.runner_parts(), judges=judges, digests=digests)

    worker = job_queue.QueueWorker(ws.store, runner_for, auditor_for, tournament_for, q)
    job_queue.prepare(q)
    served = list(dict.fromkeys([*(queues or [job_queue.DEBATES]), job_queue.MAINTENANCE]))
    try:
        async with job_queue.open_queue(url) as queue:
            await queue.run_worker_async(
                queues=served,
                concurrency=concurrency,
                name=name,
                wait=wait,
                shutdown_graceful_timeout=q.grace_s,
                update_heartbeat_interval=q.heartbeat_s,
                stalled_worker_timeout=q.stalled_s,
                fetch_job_polling_interval=q.poll_s,
                delete_jobs="successful",
                additional_context={"hypodebate": worker},
            )
    finally:
        worker.close()


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
            jobs, workers = job_queue.queue_counts(ws.store.engine, settings.queue.stalled_s)
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
