"""`run --queue`, `hypodebate worker` and `hypodebate status`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.table import Table

from debates.inputs import load_hypotheses
from hypodebate.config import Settings
from hypodebate.queue_api import enqueue_batch, queue_status, queue_url, quiet_logging, run_worker
from hypodebate.terminal import shown
from safeio.text import display_url


def enqueue_command(
    paths: list[Path],
    settings: Settings,
    *,
    err: Console,
    db: str | None,
    versions: list[str],
    replicates: int | None,
    rounds: int | None,
    judges: int | None,
) -> int:
    loaded = load_hypotheses(paths) if paths else None
    url = queue_url(settings, db)
    enqueued = asyncio.run(
        enqueue_batch(
            paths,
            settings=settings,
            db=url,
            replicates=replicates,
            rounds=rounds,
            judges=judges,
            versions=versions,
            loaded=loaded,
        )
    )
    err.print(
        f"batch {shown(enqueued.batch_id)}: {enqueued.queued} debates queued, {enqueued.already_queued} already "
        f"queued, {enqueued.completed} already completed, on {shown(display_url(url))}",
        highlight=False,
    )
    err.print(
        "start workers on any machine that reaches this database: hypodebate worker --db URL; "
        f"follow them with: hypodebate status --batch {shown(enqueued.batch_id)}",
        highlight=False,
    )
    return 0


def worker_command(
    settings: Settings, *, err: Console, db: str | None, concurrency: int, queues: list[str] | None, once: bool
) -> int:
    url = queue_url(settings, db)
    err.print(
        f"worker: {concurrency} debates at once, on {shown(display_url(url))} (model: "
        f"{shown(settings.llm.resolved_provider)}); SIGTERM or Ctrl-C finishes running debates within "
        f"{settings.queue.grace_s:g} s, then hands them back",
        highlight=False,
    )
    quiet_logging()
    asyncio.run(run_worker(settings=settings, db=url, concurrency=concurrency, queues=queues, wait=not once))
    return 0


def status_command(settings: Settings, *, out: Console, db: str | None, batch: str | None) -> int:
    status = queue_status(settings=settings, db=db, batch=batch)
    table = Table(title="debates per batch", title_justify="left")
    for column in ("batch", "source", "started", "queued", "running", "done", "failed", "stalled"):
        table.add_column(column, justify="left" if column in ("batch", "source", "started") else "right")
    for b in status.batches:
        table.add_row(
            shown(b.batch_id),
            shown(b.source[:60]),
            b.started_at.strftime("%Y-%m-%d %H:%M"),
            str(b.queued),
            str(b.running),
            str(b.done),
            str(b.failed),
            str(b.stalled),
        )
    out.print(table)
    if status.jobs is not None:
        jobs = " · ".join(f"{n} {s}" for s, n in sorted(status.jobs.items())) or "none"
        out.print(f"queue: debate jobs {jobs}; {status.workers} live worker(s)", highlight=False)
    out.print(
        "stalled: running, but no live process holds the debate (a killed worker's: the queue retries it; a "
        "killed `run`'s: run it again to resume)",
        highlight=False,
    )
    return 0
