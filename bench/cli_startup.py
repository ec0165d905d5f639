"""Start-up time of the CLI: how long a quick command takes, against `python -c "import typer"`.

    .venv/bin/python -m bench.cli_startup              # median of 5 runs each
    .venv/bin/python -m bench.cli_startup --runs 11

Each command runs as a fresh process (`python -m hypodebate ...`, the code of this checkout) in an empty temporary
folder, with no HYPODEBATE_ or OPENAI_ variables: `--help`; `status` and `show h-00000000` (a missing id: exit 2)
on a SQLite database there; `bib import` of a one-entry .bib file. The database is created and the file imported
once before timing, so every timed run reads a migrated database. The table gives each command's median wall time
and its ratio to the median of `python -c "import typer"` (the floor any typer CLI pays), and the median CPU time
(user + system) of the process, which a busy machine disturbs less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
BIB = (
    "@article{smith2020,\n  title = {A title},\n  author = {Smith, Ann},\n  year = {2020},\n  doi = {10.1000/xyz}\n}\n"
)


def commands(folder: Path) -> dict[str, list[str]]:
    """The commands timed, by the name the table shows."""
    db = f"sqlite:///{folder / 'bench.db'}"
    cli = [sys.executable, "-m", "hypodebate"]
    return {
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        "hypodebate --help": [*cli, "--help"],
        "hypodebate status": [*cli, "status", "--db", db],
        "hypodebate show h-00000000": [*cli, "show", "h-00000000", "--db", db],
        "hypodebate bib import one.bib": [*cli, "bib", "import", str(folder / "one.bib"), "--db", db],
    }


def environment() -> dict[str, str]:
    """This process's environment without the variables that configure hypodebate, with this checkout first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPODEBATE_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def timed(command: list[str], folder: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from start to exit of one run, and the CPU seconds it used (a missing id's exit 2 counts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(runs: int) -> dict[str, tuple[float, float]]:
    """The median wall and CPU seconds of each command over `runs` runs, after one untimed run that creates the
    database."""
    env = environment()
    with tempfile.TemporaryDirectory(prefix="hypodebate-startup-") as name:
        folder = Path(name)
        (folder / "one.bib").write_text(BIB, encoding="utf-8")
        chosen = commands(folder)
        for command in chosen.values():
            timed(command, folder, env)
        times: dict[str, list[tuple[float, float]]] = {label: [] for label in chosen}
        for _ in range(runs):  # interleaved: a burst of load on the machine spreads over every command
            for label, command in chosen.items():
                times[label].append(timed(command, folder, env))
    return {
        label: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for label, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    args = parser.parse_args()
    result = medians(max(1, args.runs))
    floor = result['python -c "import typer"'][0]
    table = Table(title=f"CLI start-up: median of {args.runs} runs", title_justify="left")
    for column in ("command", "median s", "× import typer", "median CPU s"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for label, (seconds, cpu) in result.items():
        table.add_row(label, f"{seconds:.3f}", f"{seconds / floor:.1f}", f"{cpu:.3f}")
    Console(soft_wrap=True).print(table)


if __name__ == "__main__":
    main()
