"""The garbage collector while a command runs: what start-up built is frozen out of its sight.

A command starts by importing some 800 modules (SQLAlchemy, pydantic, rich, typer, numpy and ours) and reading its
settings. All of that lives until the process ends, yet every full collection walked it again, and so did the
interpreter's last collections at exit: a re-run of a finished 2,000-hypothesis batch spent about 0.7 s of its
2.4 s there. `settled()` freezes (`gc.freeze`) everything that exists when the command starts, so the collector
only walks what the command makes. In the program's own process (`own_process()`: the console script, `python -m
hypodebate`) it stays frozen until the process ends: every atexit handler still runs, and what the command made is
collected and freed as before. Where the app runs inside another program (a test runner invokes its commands), the
collector gets everything back when the command ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_own_process = False


def own_process() -> None:
    """Say that this process is the program's own: it ends when the command does."""
    global _own_process  # one fact about the process, set before any command runs
    _own_process = True


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """Run a command with everything built before it frozen out of the collector's sight."""
    gc.freeze()
    try:
        yield
    finally:
        if not _own_process:
            gc.unfreeze()
