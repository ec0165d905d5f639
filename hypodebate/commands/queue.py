"""`run --queue` and `hypodebate worker`."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console

from debates.inputs import load_hypotheses
from hypodebate.app.batch import enqueue_batch
from hypodebate.app.options import DebateOptions
from hypodebate.app.queue import run_worker
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.errors import InputError
from safeio.text import SafeLogFormatter, display_url


def enqueue_command(
    ws: Workspace, paths: list[Path], options: DebateOptions, *, versions: list[str], err: Console
) -> int:
    """Queue the batch (one job per debate) and say how to start and follow the workers."""
    if options.budget_tokens is not None or options.budget_usd is not None or options.concurrency is not None:
        raise InputError("--queue: budgets and --concurrency belong to a process; give workers --concurrency")
    loaded = load_hypotheses(paths) if paths else None
    url = ws.queue_url()
    enqueued = ws.run(lambda ws: enqueue_batch(ws, paths, options, versions=versions, loaded=loaded))
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


def worker_command(ws: Workspace, *, err: Console, concurrency: int, queues: list[str] | None, once: bool) -> int:
    """Run queued jobs until stopped (or, `once`, until the queue is empty), logging each job on stderr."""
    url = ws.queue_url()
    err.print(
        f"worker: {concurrency} debates at once, on {shown(display_url(url))} (model: "
        f"{shown(ws.settings.llm.resolved_provider)}); SIGTERM or Ctrl-C finishes running debates within "
        f"{ws.settings.queue.grace_s:g} s, then hands them back",
        highlight=False,
    )
    quiet_logging()
    ws.run(lambda ws: run_worker(ws, concurrency=concurrency, queues=queues, wait=not once))
    return 0


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
