"""What the benchmarks share: the repository's folder, the loopback fake in a process of its own, an environment
without the caller's provider settings, and one way to print a table of results."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


def clean_env() -> dict[str, str]:
    """This process's environment without its OPENAI_* and HYPODEBATE_* variables: a benchmark's own settings
    apply, never the caller's provider or configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HYPODEBATE_"))}


@contextlib.contextmanager
def loopback(latency: float, *flags: str) -> Iterator[str]:
    """`python -m tests.loopback` (the fake playing every role, `latency` seconds a call, more `flags` as its
    command line takes them) in a process of its own: yields its base URL, and stops it on the way out."""
    command = [sys.executable, "-m", "tests.loopback", "--port", "0", "--latency", str(latency), *flags]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait()


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    left: Collection[str] = (),
    width: int | None = None,
    **options: Any,
) -> None:
    """Print a table of results on stdout: the `left` columns aligned left (names), the others right (figures);
    `options` go to rich's Table (a caption, title_justify, ...), `width` to its Console."""
    table = Table(title=title, **options)
    for column in columns:
        table.add_column(column, justify="left" if column in left else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=width).print(table)
