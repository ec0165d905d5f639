"""Worker scaling: 1, 2 and 4 `hypodebate worker` processes on one PostgreSQL against the loopback fake.

    .venv/bin/python -m bench.workers                      # 128 debates, 200 ms per call, 8 call slots per process
    .venv/bin/python -m bench.workers --workers 1 2 4 --debates 128 --latency 0.2 --concurrency 8

For each worker count: a fresh database, that many workers started and registered, then the batch enqueued with
`run --queue`; the workers are stopped (SIGTERM) once every debate has ended. Prints debates per second over the span
the debates ran (first debate started to last finished, from the store's timestamps), the mean and peak calls in
flight at the fake over the run, the scaling efficiency (debates per second at N workers / (N x at 1 worker)) and the
workers' CPU per call. The database server is HYPODEBATE_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432).
Each worker process has `--concurrency` debates and LLM call slots; the ceiling at N workers is N x concurrency
calls in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.common import REPO, clean_env, loopback, print_table

SERVER = os.environ.get("HYPODEBATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def load(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/v1/_load", timeout=10) as response:
        return json.loads(response.read())


def variants(path: Path, size: int, tag: str = "variant") -> None:
    from debates.inputs import load_hypotheses

    base = load_hypotheses([REPO / "examples" / "neurodegeneration.yaml"])
    records = [
        base[i % len(base)].model_copy(update={"id": None, "title": f"{base[i % len(base)].title} ({tag} {i})"})
        for i in range(size)
    ]
    dumped = [h.model_dump(mode="json", exclude={"id"}, exclude_none=True) for h in records]
    path.write_text(yaml.safe_dump({"hypotheses": dumped}, sort_keys=False), encoding="utf-8")


def one(workers: int, args: argparse.Namespace, fake: str, batch: Path, env: dict[str, str]) -> dict[str, float]:
    name = f"hypodebate_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        command = [sys.executable, "-m", "hypodebate"]
        engine = create_engine(db)
        from debates.queue import install_schema
        from store.engine import open_store

        store = open_store(db)  # the store's and the queue's tables, before any worker starts
        install_schema(store.engine)
        store.close()
        processes = [
            subprocess.Popen(
                [*command, "worker", "--db", db, "--concurrency", str(args.concurrency)],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        live = "select count(*) from procrastinate_workers"
        while _scalar(engine, live) < workers:  # all started and listening: start-up is not measured
            time.sleep(0.2)
        rounds = ["--rounds", str(args.rounds), "--judges", str(args.judges)]
        final = "select count(*) from debates where status in ('completed', 'failed')"
        # a warm-up batch first (two debates per worker): what each process does once (lazy imports, schema
        # building, connections) is not counted as the cost of a call
        warm = batch.with_name("warm-up.yaml")
        variants(warm, 2 * workers, tag="warm-up")
        subprocess.run([*command, "run", str(warm), "--db", db, "--queue", *rounds], env=env, check=True, cwd=REPO)
        while _scalar(engine, final) < 2 * workers:
            time.sleep(0.2)
        cpu0, busy0 = _children_cpu(processes), _machine_busy()
        before = load(fake)
        subprocess.run([*command, "run", str(batch), "--db", db, "--queue", *rounds], env=env, check=True, cwd=REPO)
        while _scalar(engine, final) < args.debates + 2 * workers:
            time.sleep(0.2)
        after = load(fake)
        cpu = _children_cpu(processes) - cpu0
        busy = [b - a for a, b in zip(busy0, _machine_busy(), strict=True)]
        with engine.connect() as c:
            done, span = c.execute(
                text(
                    "select count(*), extract(epoch from max(d.finished_at) - min(d.started_at)) "
                    "from debates d join batches b on b.id = d.batch_id where d.status = 'completed' "
                    "and b.source not like '%warm-up%'"
                )
            ).one()
        engine.dispose()
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            p.wait()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    wall = after["clock"] - before["clock"]
    return {
        "workers": workers,
        "debates": done,
        "calls": after["requests"] - before["requests"],
        "span_s": float(span),
        "per_s": done / float(span),
        # the fake was idle while processes started and stopped: count its busy time over the debates' span
        "in_flight": (after["busy_s"] - before["busy_s"]) / float(span),
        "peak": after["peak"],
        "wall_s": wall,
        "cpu_ms_per_call": 1000 * cpu / max(1, after["requests"] - before["requests"]),
        "machine_busy": busy[0] / max(1e-9, busy[1]),
    }


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (all cores)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text(sql)).scalar() or 0)


def _children_cpu(processes: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds (user + system) the worker processes have used so far, read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in processes:
        try:
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--debates", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8, help="debates and call slots per worker process")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--judges", type=int, default=2)
    args = parser.parse_args()

    rows = []
    with loopback(args.latency) as fake, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text("{}\n")
        env = clean_env() | {"OPENAI_BASE_URL": fake, "OPENAI_API_KEY": "sk-bench", "HYPODEBATE_CONFIG": str(config)}
        env |= {"HYPODEBATE_LLM__CONCURRENCY": str(args.concurrency), "HYPODEBATE_QUEUE__POLL_S": "0.2"}
        batch = Path(folder) / "batch.yaml"
        variants(batch, args.debates)
        for workers in args.workers:
            rows.append(one(workers, args, fake, batch, env))
            time.sleep(0.5)

    base = rows[0]["per_s"] / rows[0]["workers"] if rows else 1.0
    cells = []
    for r in rows:
        row = [f"{r['workers']:.0f}", f"{r['debates']:.0f}", f"{r['calls']:.0f}", f"{r['span_s']:.1f}"]
        row += [f"{r['per_s']:.2f}", f"{r['in_flight']:.1f}", f"{r['peak']:.0f}"]
        row += [f"{r['workers'] * args.concurrency:.0f}", f"{r['per_s'] / (base * r['workers']):.0%}"]
        row += [f"{r['cpu_ms_per_call']:.1f}", f"{r['machine_busy']:.0%}"]
        cells.append(row)
    columns = ["workers", "debates", "LLM calls", "span s", "debates/s", "calls in flight (mean)", "peak", "ceiling"]
    print_table(
        f"worker scaling: {args.debates} debates (rounds {args.rounds}, judges {args.judges}), "
        f"{args.latency * 1000:.0f} ms per call, {args.concurrency} debates and call slots per worker",
        [*columns, "efficiency", "worker CPU ms/call", "machine CPU busy"],
        cells,
        width=160,
    )
    print(f"{os.cpu_count()} CPU cores on this machine; the fake and PostgreSQL share them with the workers")
    if rows and max(r["machine_busy"] for r in rows) > 0.85:
        print("the machine's CPUs were nearly saturated: there, more workers cannot add throughput")


if __name__ == "__main__":
    main()
