"""Debates shared by machines: `run --queue` (enqueue a batch), `hypodebate worker` and `hypodebate status`.

The queue is procrastinate in the store's PostgreSQL database (debates/queue.py): every machine is given the same
database URL and nothing else. What stays on one machine: `run` without `--queue`, budgets (`--budget-*` count one
process's spending), and the embedded model (each worker would load its own copy).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from agents.audit import Auditor
from agents.client import LLMClient
from agents.factory import make_client
from agents.prompts import PromptSet, load_prompts
from debates import queue as job_queue
from debates.hypotheses import Hypothesis
from debates.inputs import InputError, load_hypotheses, stored_versions
from debates.runner import BatchRunner
from debates.tournament import TournamentRunner
from hypodebate.api import _overrides
from hypodebate.config import Settings
from hypodebate.evidence_api import judge_auditor
from safeio.text import SafeLogFormatter
from store import repository
from store.claims import debate_locks
from store.engine import Store, open_store
from store.models import BatchRow

OPTIONS = ("rounds", "judges")  # the command's overrides a job carries; everything else is the worker's config


def queue_url(settings: Settings, db: str | None) -> str:
    url = db or settings.store.url
    if make_url(url).get_backend_name() != "postgresql":
        raise InputError(
            "the queue lives in a PostgreSQL database that every machine reaches: give --db "
            "postgresql+psycopg://user@host/db (or store.url / HYPODEBATE_DATABASE_URL)"
        )
    return url


async def _runner(
    settings: Settings,
    store: Store,
    client: LLMClient,
    options: Mapping[str, Any],
    replicates: int | None = None,
    prompts: PromptSet | None = None,
) -> BatchRunner:
    """The runner a job's options and this process's config.yaml give: `rounds` and `judges` override the config;
    `early_stop`, `design` and `audit` (whether the judges read the evidence audit) are set by eval's arms."""
    debate_settings, _ = _overrides(settings, None, replicates, options.get("rounds"), options.get("judges"))
    if "early_stop" in options:
        debate_settings = debate_settings.model_copy(update={"early_stop": bool(options["early_stop"])})
    auditor = None
    if options.get("audit", settings.evidence.judges_see_audit):  # its protocol: each debate's audit comes later
        auditor, _ = await judge_auditor(settings, store, client, [], client.settings.concurrency, prompts)
    return BatchRunner(
        client=client,
        sessions=store,
        settings=debate_settings,
        rubric=settings.scoring,
        prompts=prompts or load_prompts(),
        auditor=auditor,
        design=options.get("design", "symmetric-closing"),
    )


async def enqueue_batch(
    paths: Sequence[str | Path],
    *,
    settings: Settings,
    db: str | None = None,
    replicates: int | None = None,
    rounds: int | None = None,
    judges: int | None = None,
    versions: Sequence[str] = (),
    loaded: Sequence[Hypothesis] | None = None,
) -> job_queue.Enqueued:
    """Store the batch and defer one job per debate not yet done; returns at once (workers debate)."""
    url = queue_url(settings, db)
    if versions and paths:
        raise InputError("give hypothesis files or --version ids, not both")
    hypotheses = list(loaded) if loaded is not None else load_hypotheses(paths) if paths else []
    options = {k: v for k, v in {"rounds": rounds, "judges": judges}.items() if v is not None}
    store = open_store(url)
    client = make_client(settings.llm)  # never called here: the runner only states the protocol
    try:
        if versions:
            with store() as session:
                hypotheses = stored_versions(session, versions)
        job_queue.install_schema(store.engine)
        runner = await _runner(settings, store, client, options, replicates)
        source = ", ".join(map(str, paths)) or "versions " + ", ".join(versions)
        async with job_queue.open_queue(url) as queue:
            return await job_queue.enqueue(
                queue, runner, hypotheses, source=source, options=options, stored=bool(versions)
            )
    finally:
        await client.aclose()
        store.close()


async def run_worker(
    *,
    settings: Settings,
    db: str | None = None,
    concurrency: int = 4,
    queues: Sequence[str] | None = None,
    name: str | None = None,
    wait: bool = True,
) -> None:
    """Run debate jobs until stopped (SIGTERM or Ctrl-C: running jobs get `queue.grace_s` to finish, then go back
    to the queue). `wait=False`: stop once the queue is empty."""
    url = queue_url(settings, db)
    store = open_store(url)
    job_queue.install_schema(store.engine)
    client = make_client(settings.llm)
    q = settings.queue

    prompts = load_prompts()  # once per worker: compiling the templates costs about 80 ms

    async def runner_for(options: Mapping[str, Any]) -> BatchRunner:
        return await _runner(settings, store, client, options, prompts=prompts)

    async def auditor_for(runner: BatchRunner, hypothesis: Hypothesis) -> Auditor | None:
        if runner.auditor is None:
            return None
        subjects = [(hypothesis.hypothesis_id, hypothesis)]
        auditor, _ = await judge_auditor(settings, store, client, subjects, client.settings.concurrency, prompts)
        return auditor

    def tournament_for(options: Mapping[str, Any]) -> TournamentRunner:
        return TournamentRunner(
            client=client,
            sessions=store,
            rubric=settings.scoring,
            prompts=prompts,
            judges=int(options.get("judges", 1)),
            digests=bool(options.get("digests", True)),
        )

    worker = job_queue.QueueWorker(store, runner_for, auditor_for, tournament_for, q)
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
        await client.aclose()
        store.close()


@dataclass(frozen=True)
class BatchStatus:
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
    batches: list[BatchStatus]
    jobs: dict[str, int] | None  # the queue's debate jobs per procrastinate status; None without a queue
    workers: int | None  # workers whose heartbeat is fresh


def queue_status(*, settings: Settings, db: str | None = None, batch: str | None = None, last: int = 10) -> QueueStatus:
    """Per batch (one, or the `last` most recent): queued, running, done, failed and stalled debates."""
    store = open_store(db or settings.store.url)
    locks = debate_locks(store.engine)
    try:
        with store() as session:
            if batch is not None:
                rows = [session.get(BatchRow, batch)]
                if rows[0] is None:
                    raise InputError(f"--batch: no batch {batch!r} in the database")
            else:
                rows = list(session.scalars(select(BatchRow).order_by(BatchRow.started_at.desc()).limit(last)))
            batches = []
            for row in rows:
                assert row is not None
                counts = repository.debate_counts(session, row.id)
                stalled = 0
                for d_id in repository.running_debates(session, row.id):
                    if locks.acquire(d_id):  # nobody holds it: its process is gone
                        locks.release(d_id)
                        stalled += 1
                batches.append(
                    BatchStatus(
                        batch_id=row.id,
                        source=row.source,
                        started_at=row.started_at,
                        queued=counts.get("queued", 0),
                        running=counts.get("running", 0) - stalled,
                        done=counts.get("completed", 0),
                        failed=counts.get("failed", 0),
                        stalled=stalled,
                    )
                )
        jobs, workers = _queue_counts(store, settings.queue.stalled_s)
        return QueueStatus(batches, jobs, workers)
    finally:
        locks.close()
        store.close()


def _queue_counts(store: Store, stalled_s: float) -> tuple[dict[str, int] | None, int | None]:
    if store.engine.dialect.name != "postgresql":
        return None, None
    with store.engine.connect() as connection:
        if connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return None, None
        jobs = connection.execute(
            text("SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = :task GROUP BY 1"),
            {"task": job_queue.debate_job.name},
        ).all()
        workers = connection.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :seconds)"
            ),
            {"seconds": stalled_s},
        ).scalar()
    return {status: n for status, n in jobs}, int(workers or 0)


def quiet_logging() -> None:
    """procrastinate's job lines (start, success, failure, retry) on stderr, without connection details; a job's
    exception as its type and message, not a traceback (the debate's own failure is stored with it). Job arguments
    and failure reasons are untrusted text: every line is filtered like anything else printed."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeLogFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S", one_line_errors=True))
    for name in ("procrastinate.worker", "procrastinate.periodic", "hypodebate.queue"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


__all__ = ["BatchStatus", "QueueStatus", "enqueue_batch", "queue_status", "queue_url", "run_worker"]
