"""`hypodebate status`: debates per batch by state, and the queue's jobs and workers."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hypodebate.app.status import queue_status
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown


def status_command(ws: Workspace, *, out: Console, batch: str | None) -> int:
    """Print the batches' debates by state, and the queue's jobs and live workers where there is a queue."""
    status = queue_status(settings=ws.settings, db=ws.url, batch=batch)
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
