"""Faults survived: the same batch fault-free, under injected faults, and under faults with kill -9 and resume.

    .venv/bin/python -m bench.chaos                     # 112 debates, rounds 1, judges 2, 5 kills
    .venv/bin/python -m bench.chaos --size 224 --kills 8 --faults rate_limit=0.1,hang=0.02 --seed 2

Each run is `python -m hypodebate run FILE --db sqlite:///...` in a subprocess (as a user runs it) against
its own loopback fake (`python -m tests.loopback --faults ...`, another process), with short timeouts and
backoffs set through HYPODEBATE_LLM__* variables. The faulted fake injects 429s (with retry-after),
500/503s, hung requests past the client timeout, dropped connections, truncated tool-call JSON and
verdicts that break the schema. The kills run is SIGKILLed after a random number of newly stored turns
(plus a random few ms), `--kills` times, resuming each time, then resumed until a run exits 0.

Then each database is audited and one table printed: debates, completed, failed by reason, lost,
duplicated, out-of-range verdict values, LLM calls, retries by class (the fake's own count of injected
faults: each is one failed attempt the client retried), re-asks for bad answers, wall time and its
ratio to the fault-free run. Exits 1 when any debate was lost or stored twice, a verdict is out of
range, the store and the resume point disagree, or the killed batch ends unlike the uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import REPO
from tests.chaos_support import Audit, Resumed, audit, kill_and_resume, run_command, run_env, write_variants
from tests.helpers import free_port

DEFAULT_FAULTS = "rate_limit=0.05,server_error=0.05,hang=0.01,drop=0.02,truncated=0.03,bad_verdict=0.03"
HTTP_FAULTS = {"rate_limit": "rate_limit", "server_error": "server_error", "hang": "timeout", "drop": "connection"}


@dataclass
class Row:
    name: str
    resumed: Resumed
    audit: Audit
    fake: dict[str, Any]  # the fake's counts: requests, injected faults by kind


class Fake:
    """A loopback fake in its own process: `url`, `counts()`, and a context manager that stops it."""

    def __init__(self, latency: float, faults: str, seed: int, hang_s: float) -> None:
        command = [sys.executable, "-m", "tests.loopback", "--port", str(free_port()), "--latency", str(latency)]
        command += ["--faults", faults, "--seed", str(seed), "--hang-s", str(hang_s)]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def counts(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_faults", timeout=10) as response:
            return dict(json.loads(response.read()))

    def __enter__(self) -> Fake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.communicate()


def run_one(name: str, args: argparse.Namespace, folder: Path, faults: str, kills: int) -> Row:
    file = folder / "batch.yaml"
    ids = list(json.loads((folder / "ids.json").read_text()))
    slug = re.sub(r"\W+", "-", name)
    db_path = folder / f"{slug}.db"
    logs = folder / f"{slug}-logs"
    logs.mkdir()
    llm = {
        "timeout_s": args.timeout,
        "retry__initial_backoff_s": 0.05,
        "retry__max_backoff_s": 0.5,
        "retry__total_timeout_s": 20,
        "retry__max_attempts": args.max_attempts,
        "max_requests_per_turn": args.max_requests_per_turn,
    }
    command = run_command(
        file, f"sqlite:///{db_path}", rounds=args.rounds, judges=args.judges, concurrency=args.concurrency
    )
    with Fake(args.latency, faults, args.seed, args.hang_s) as fake:
        env = run_env(fake.url, folder / "config.yaml", llm)
        rng = random.Random(args.seed)
        if kills:
            resumed = kill_and_resume(
                command, env, db_path, logs, kills=kills, rng=rng, new_turns=(10, 60), timeout_s=300
            )
        else:  # one uninterrupted run, whatever it ends with
            resumed = kill_and_resume(command, env, db_path, logs, kills=0, rng=rng, resumes=1, timeout_s=300)
        counts = fake.counts()
    killed_at = f", killed at {resumed.kill_points} stored turns" if kills else ""
    print(f"{name}: exit codes {resumed.returncodes}{killed_at}, {resumed.wall_s:.1f} s", file=sys.stderr)
    return Row(name, resumed, audit(f"sqlite:///{db_path}", ids, judges=args.judges), counts)


SHORT = {"rate_limit": "429", "server_error": "5xx", "timeout": "timeout", "connection": "conn"}


def _counter(counts: Counter[str] | dict[str, int], empty: str = "-") -> str:
    return ", ".join(f"{SHORT.get(kind, kind)} {n}" for kind, n in sorted(counts.items()) if n) or empty


def check(rows: list[Row], kills: int) -> list[str]:
    """The invariants; each broken one as a line."""
    problems = [f"{row.name}: {p}" for row in rows for p in row.audit.problems()]
    clean, faulted, killed = rows
    if (clean.audit.completed, clean.audit.failed) != (clean.audit.expected, 0):
        problems.append(f"fault-free: {clean.audit.completed}/{clean.audit.expected} completed")
    if faulted.resumed.returncodes[-1] not in (0, 1) or faulted.audit.running:
        problems.append(f"faults: the run exited {faulted.resumed.returncodes} with {faulted.audit.running} running")
    injected = sum(faulted.fake["injected"][kind] for kind in HTTP_FAULTS)
    accounted = faulted.audit.retries + sum(faulted.audit.gave_up.values())
    if accounted < injected:
        problems.append(f"faults: the store accounts for {accounted} failed attempts, the fake injected {injected}")
    if killed.resumed.kills < kills or killed.resumed.returncodes[-1] != 0:
        problems.append(f"faults + kills: {killed.resumed.kills} kills, exit codes {killed.resumed.returncodes}")
    if killed.audit.completed_per_hypothesis != clean.audit.completed_per_hypothesis:
        differ = [
            h
            for h, n in clean.audit.completed_per_hypothesis.items()
            if killed.audit.completed_per_hypothesis.get(h) != n
        ]
        problems.append(f"faults + kills: completed debates per hypothesis differ from the uninterrupted run: {differ}")
    if killed.audit.running:
        problems.append(f"faults + kills: {killed.audit.running} debates still running after the final resume")
    return problems


def table(rows: list[Row], args: argparse.Namespace) -> Table:
    out = Table(
        title=f"chaos: {args.size} debates per run, rounds {args.rounds}, judges {args.judges}, concurrency "
        f"{args.concurrency}, {args.latency * 1000:.0f} ms per call; client timeout {args.timeout:g} s, "
        f"{args.max_attempts} attempts per call, {args.max_requests_per_turn} requests per turn",
        caption=f"faults: {args.faults} (seed {args.seed}). (earlier runs): failures in the kills row's runs that ended"
        " on their own, each debated again by the next resume. retries by class: the fake's injected faults, each one"
        " failed attempt (a hang is a timeout, a drop a connection error). re-asks: truncated JSON · bad verdicts.",
        title_justify="left",
        caption_justify="left",
    )
    columns = ["run", "debates", "completed", "failed", "failed by reason", "lost", "duplicated", "out of range"]
    columns += ["LLM calls", "retries by class", "retried (store)", "re-asks", "wall s", "vs fault-free"]
    for column in columns:
        out.add_column(column, justify="left" if column in ("run", "failed by reason", "retries by class") else "right")
    base = rows[0].resumed.wall_s
    for row in rows:
        a, r, injected = row.audit, row.resumed, row.fake["injected"]
        reasons = _counter(a.failure_reasons)
        if r.kills:
            earlier = _counter(r.failures_seen, "none")
            reasons = f"{reasons} (earlier runs: {earlier})"
        retries = _counter(Counter({HTTP_FAULTS[k]: injected[k] for k in HTTP_FAULTS}), "none")
        out.add_row(
            f"{row.name} ({r.kills} kills, {r.runs} runs)" if r.kills else row.name,
            str(a.debates),
            str(a.completed),
            str(a.failed),
            reasons,
            str(a.lost),
            str(a.duplicated),
            str(a.out_of_range),
            str(a.calls),
            retries,
            str(a.retries),
            f"{injected['truncated']} · {injected['bad_verdict']}",
            f"{r.wall_s:.1f}",
            f"{r.wall_s / base:.2f}x",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=112, help="debates per run (at least 100 for the issue)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--judges", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05, help="the fake's seconds per call")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help="rates per kind, as for python -m tests.loopback")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1.0, help="the client's timeout per attempt (s)")
    parser.add_argument("--hang-s", type=float, default=1.5, help="how long the fake holds a hung request")
    parser.add_argument("--max-attempts", type=int, default=3, help="attempts per call (few, so some calls give up)")
    parser.add_argument(
        "--max-requests-per-turn", type=int, default=6, help="requests per turn: re-asks and retries together"
    )
    parser.add_argument("--keep", type=Path, help="keep the databases and logs in this (new) folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=folder == Path(tmp))
        (folder / "ids.json").write_text(json.dumps(write_variants(folder / "batch.yaml", args.size)))
        rows = [
            run_one("fault-free", args, folder, "", kills=0),
            run_one("faults", args, folder, args.faults, kills=0),
            run_one("faults + kills", args, folder, args.faults, kills=args.kills),
        ]
    Console(width=max(210, Console().width)).print(table(rows, args))
    problems = check(rows, args.kills)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print("ok: nothing lost, nothing stored twice, no verdict out of range; kills + resume = uninterrupted run")


if __name__ == "__main__":
    main()
