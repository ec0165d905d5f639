"""Re-running a finished batch: nothing is left to ask, so the re-run should cost about what reading its file costs.

    .venv/bin/python -m bench.rerun                        # 2,000 hypotheses, best of 3 re-runs
    .venv/bin/python -m bench.rerun --hypotheses 500 --runs 5
    .venv/bin/python -m bench.rerun --profile              # and where the re-run's time goes (cProfile)
    .venv/bin/python -m bench.rerun --folder /tmp/rerun    # keep the debated batch there: later calls reuse it

Writes the synthetic hypotheses of bench/input_loading.py (three cited pieces of evidence each) as one YAML file,
debates it once with `hypodebate run` against the loopback fake (`rounds: 0` and one judge, through
HYPODEBATE_DEBATE__ROUNDS and HYPODEBATE_DEBATE__JUDGES) on a fresh SQLite file, then runs the same command again
in fresh processes. The table gives the first run's wall and CPU time, the time `load_hypotheses` takes on the file
in this process (best of the runs), the re-run's wall and CPU time as a subprocess (the run with the best wall time,
start-up included), and the ratio of the wall times to the load: the target is 3 or less. With `--profile` one more
re-run goes under cProfile, and the table of its phases (imports, loading the file, the judges' audit, storing the
batch, the debates' checks, the ranking, the evidence audit, printing) comes with the top entries by cumulative time.
The phases overlap where one calls another; a phase that never ran is left out.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.common import REPO, clean_env, loopback, print_table
from bench.input_loading import best_of, hypotheses
from debates.inputs import load_hypotheses

# The phases of a re-run, as (label, file the function is in, function name): their cumulative times overlap where
# one calls another (the batch holds the debates' checks), so they are read one by one, never summed.
PHASES = (
    ("imports (all of them)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("load_hypotheses", "debates/inputs.py", "load_hypotheses"),
    ("the judges' audit (before debating)", "hypodebate/app/evidence.py", "judge_auditor"),
    ("store the batch and its hypotheses", "debates/runner.py", "open_batch"),
    ("the finished debates, found in one query", "debates/runner.py", "_skip_completed"),
    ("the debates' checks (debate_in_turn)", "debates/schedule.py", "debate_in_turn"),
    ("  of which BatchRunner.debate", "debates/runner.py", "debate"),
    ("the ranking", "debates/runner.py", "_result"),
    ("evidence audit after the batch (before: every hypothesis)", "hypodebate/app/evidence.py", "audit_evidence_in"),
    ("evidence audit after the batch (now: those changed)", "evidence/runner.py", "refresh"),
    ("print the ranked table", "hypodebate/commands/run.py", "print_result"),
)


def environment(url: str) -> dict[str, str]:
    """The re-run's settings: the loopback fake as the provider, no rounds, one judge."""
    return {
        **clean_env(),
        "OPENAI_BASE_URL": url,
        "OPENAI_API_KEY": "sk-bench-rerun",
        "HYPODEBATE_DEBATE__ROUNDS": "0",
        "HYPODEBATE_DEBATE__JUDGES": "1",
        "HYPODEBATE_CONFIG": str(REPO / "config.yaml"),
    }


@dataclass(frozen=True, order=True)
class Ran:
    """One run of a command as a subprocess: its wall and CPU seconds (user + system), and its summary line."""

    wall_s: float
    cpu_s: float
    summary: str


def run(command: list[str], env: dict[str, str], folder: Path) -> Ran:
    """Run `command` as a subprocess in `folder`; a non-zero exit stops the benchmark with its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    summary = next((line for line in done.stderr.splitlines() if " debated, " in line), "")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Ran(elapsed, cpu, " ".join(summary.split()))


def cumulative(stats: pstats.Stats, where: str, name: str) -> float:
    """The cumulative seconds of the function `name` defined in a file ending with `where` (0 when never called)."""
    table = stats.stats  # type: ignore[attr-defined]
    return sum(
        entry[3]
        for (filename, _, function), entry in table.items()
        if function == name and filename.replace("\\", "/").endswith(where)
    )


def profiled(command: list[str], env: dict[str, str], folder: Path, top: int) -> None:
    """One more re-run under cProfile: its phases, then its `top` entries by cumulative time."""
    out = folder / "rerun.prof"
    profile = [sys.executable, "-m", "cProfile", "-o", str(out), *command[1:]]
    elapsed = run(profile, env, folder).wall_s
    stats = pstats.Stats(str(out))
    total = stats.total_tt  # type: ignore[attr-defined]
    print_table(
        f"The re-run under cProfile: {elapsed:.2f} s wall, {total:.2f} s profiled",
        ("phase", "cumulative s", "% of profiled"),
        [(label, f"{s:.2f}", f"{100 * s / total:.0f}") for label, w, n in PHASES if (s := cumulative(stats, w, n))],
        left={"phase"},
        title_justify="left",
        width=120,
    )
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).strip_dirs().sort_stats("cumulative").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    print("\n".join(lines[start:]))


def _figures(ran: Ran, load: float) -> tuple[str, str, str]:
    return f"{ran.wall_s:.2f}", f"{ran.cpu_s:.2f}", f"{ran.wall_s / load:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hypotheses", type=int, default=2000, help="hypotheses in the batch (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="timed loads and re-runs, the best kept (default 3)")
    parser.add_argument("--profile", action="store_true", help="also profile one re-run (cProfile)")
    parser.add_argument("--top", type=int, default=30, help="profile entries shown, by cumulative time (default 30)")
    parser.add_argument(
        "--folder", type=Path, help="work in (and keep) this folder: a batch debated there before is not debated again"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(loopback(0.0))
        folder = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hypodebate-rerun-")))
        folder.mkdir(parents=True, exist_ok=True)
        batch, db = folder / f"batch-{args.hypotheses}.yaml", folder / f"bench-{args.hypotheses}.db"
        env = environment(url)
        command = [sys.executable, "-m", "hypodebate", "run", str(batch), "--db", f"sqlite:///{db}"]
        first = None
        if not db.exists():
            records = hypotheses(args.hypotheses)
            batch.write_text(yaml.safe_dump({"hypotheses": records}, sort_keys=False, width=100), encoding="utf-8")
            first = run(command, env, folder)
        load = best_of(args.runs, lambda: load_hypotheses([batch]))
        rerun = min(run(command, env, folder) for _ in range(max(1, args.runs)))
        rows = [("load_hypotheses of the file, in process", f"{load:.2f}", "—", "1.0")]
        rows.append(("re-run, as a subprocess (target: ≤ 3 × load)", *_figures(rerun, load)))
        if first is not None:
            rows.insert(0, ("first run (debates every hypothesis)", *_figures(first, load)))
        print_table(
            f"Re-running a finished batch of {args.hypotheses:,} hypotheses (YAML, rounds 0, 1 judge), "
            f"best of {args.runs}",
            ("what", "wall s", "CPU s", "× load"),
            rows,
            left={"what"},
            title_justify="left",
            caption=f"first run: {first.summary if first else 'debated before, in this folder'}\n"
            f"re-run: {rerun.summary}",
            caption_justify="left",
            width=120,
        )
        if args.profile:
            profiled(command, env, folder, args.top)


if __name__ == "__main__":
    main()
