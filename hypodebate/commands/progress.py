"""What the long commands (run, eval, tournament) show on stderr while they work: a note when the scores come from
the embedded demo model, and one shape of progress bar."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn

from hypodebate.config import Settings
from store.demo import DEMO_WARNING


def demo_note(settings: Settings, err: Console) -> None:
    """Say, once, that the embedded model's scores carry no information (when it is the model)."""
    if settings.llm.resolved_provider == "embedded":
        err.print(f"[yellow]note:[/yellow] {DEMO_WARNING}")


def progress_bar(err: Console, label: TextColumn, *more: ProgressColumn) -> Progress:
    """A bar on `err`: `label`, the bar, done/total, what runs now (the task's `step`), its `status` line, the time
    elapsed, then `more` columns. Task fields are shown as literal text (never markup)."""
    return Progress(
        label,
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[step]}", markup=False),
        TextColumn("{task.fields[status]}", markup=False),
        TimeElapsedColumn(),
        *more,
        console=err,
        transient=False,
    )
