"""`hypodebate run`: a batch with a progress bar, then the ranked table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from agents.embedded import DEMO_WARNING
from debates.inputs import load_hypotheses
from debates.runner import BatchResult
from debates.runner import Progress as BatchProgress
from hypodebate.api import run_batch_async
from hypodebate.config import Settings


def run_command(
    paths: list[Path],
    settings: Settings,
    *,
    out: Console,
    err: Console,
    db: str | None,
    **options: int | float | None,
) -> int:
    load_hypotheses(paths)  # bad input fails here, before anything is printed or stored
    if settings.llm.resolved_provider == "embedded":
        err.print(f"[yellow]note:[/yellow] {DEMO_WARNING}")
    bar = Progress(
        TextColumn("debates"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    task = bar.add_task("debates", total=None, status="")

    def update(p: BatchProgress) -> None:
        status = f"failed {p.failed} · skipped {p.skipped} · {p.calls} calls · {p.tokens:,} tokens · ${p.cost_usd:.4f}"
        bar.update(task, total=p.total, completed=p.completed + p.failed + p.skipped, status=status)

    with bar:
        result = asyncio.run(run_batch_async(paths, settings=settings, db=db, progress=update, **options))  # type: ignore[arg-type]
    print_result(result, out, err)
    return 0 if result.ok else 1


def print_result(result: BatchResult, out: Console, err: Console) -> None:
    table = Table(title=f"Batch {result.batch_id}: hypotheses ranked by score", title_justify="left")
    for column, justify in [
        ("#", "right"),
        ("id", "left"),
        ("title", "left"),
        ("target", "left"),
        ("score", "right"),
        ("± sd", "right"),
        ("n", "right"),
        ("debates", "right"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for rank, r in enumerate(result.ranking, 1):
        table.add_row(
            str(rank), r.id, r.title, r.target_label, f"{r.score:.2f}", f"{r.spread:.2f}", str(r.n), str(r.debates)
        )
    out.print(table)
    done, failed, skipped = result.count("completed"), result.count("failed"), result.count("skipped")
    err.print(
        f"{done} debated, {failed} failed, {skipped} skipped · {result.calls} calls · "
        f"{result.prompt_tokens + result.completion_tokens:,} tokens · ${result.cost_usd:.4f} · {result.wall_s:.1f} s"
        + (" · budget exhausted" if result.budget_exhausted else "")
    )
    for outcome in result.outcomes:
        if outcome.status == "failed":
            err.print(f"[red]failed[/red] {outcome.hypothesis_id} ({outcome.debate_id}): {outcome.reason}")
