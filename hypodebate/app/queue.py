"""Debates shared by machines: a worker (`hypodebate worker`); queueing a batch is `batch.enqueue_batch`, the status
of batches `status.queue_status`.

The queue is procrastinate in the store's PostgreSQL database (debates/queue.py): every machine is given the same
database URL and nothing else. What stays on one machine: `run` without `--queue`, budgets (`--budget-*` count one
process's spending), and the embedded model (each worker would load its own copy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.audit import Auditor
from debates import queue as job_queue
from debates.hypotheses import Hypothesis
from debates.runner import BatchRunner
from debates.tournament import TournamentRunner
from hypodebate.app.batch import job_runner
from hypodebate.app.evidence import judge_auditor
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace


@books("worker")
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
