"""Engine overhead: a batch against a loopback OpenAI-compatible fake with a fixed latency per call.

    .venv/bin/python -m bench.engine_overhead            # 64 and 256 debates, 32 call slots, 100 ms
    .venv/bin/python -m bench.engine_overhead --sizes 256 --latency 0.5 --concurrency 32

Prints, per batch size: debates, LLM calls, call slots (`--concurrency`), debates in flight (`--in-flight`, 0:
the default of `debate.in_flight`), wall time, the all-parallel bound (calls x latency / call slots: every slot
busy from the first call to the last), their ratio, engine CPU ms per call (the openai client included), and
peak RSS. Each size runs in its own process so peak RSS is comparable; the fake server runs in another process so
its CPU is not counted as the engine's. The batch reports progress on every call and step, as `hypodebate run` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time

from bench.common import REPO, clean_env, loopback, print_table


def one(
    size: int, url: str, latency: float, concurrency: int, in_flight: int, rounds: int, judges: int
) -> dict[str, float]:
    from agents.client import LLMClient
    from agents.prompts import load_prompts
    from agents.settings import LLMSettings
    from debates.inputs import load_hypotheses
    from debates.runner import BatchRunner
    from debates.settings import DebateSettings
    from scoring.rubric import Rubric
    from store.engine import open_store

    base = load_hypotheses([REPO / "examples" / "neurodegeneration.yaml"])
    hypotheses = [
        h.model_copy(update={"id": None, "title": f"{h.title} (variant {i})"})
        for i, h in enumerate(base[i % len(base)] for i in range(size))
    ]
    with tempfile.TemporaryDirectory() as folder:
        sessions = open_store(f"sqlite:///{folder}/bench.db")
        settings = LLMSettings(provider="openai", base_url=url, concurrency=concurrency, timeout_s=60)
        client = LLMClient(settings)
        runner = BatchRunner(
            client=client,
            sessions=sessions,
            settings=DebateSettings(rounds=rounds, judges=judges, in_flight=in_flight, early_stop=False),
            rubric=Rubric(),
            prompts=load_prompts(),
            progress=lambda progress: None,  # as `hypodebate run`, whose progress bar reads the totals on every call
        )

        async def go() -> object:
            try:
                return await runner.run(hypotheses, source="bench")
            finally:
                await client.aclose()

        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = asyncio.run(go())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        sessions.close()
    completed = result.count("completed")  # type: ignore[attr-defined]
    calls = result.calls  # type: ignore[attr-defined]
    return {
        "debates": completed,
        "calls": calls,
        "in_flight": runner.settings.debates_in_flight(concurrency),
        "wall_s": wall,
        "bound_s": calls * latency / concurrency,
        "cpu_ms_per_call": 1000 * cpu / max(calls, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32, help="call slots (llm.concurrency)")
    parser.add_argument("--in-flight", type=int, default=0, help="debates in flight (debate.in_flight; 0: default)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--judges", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(
                one(args.one, args.url, args.latency, args.concurrency, args.in_flight, args.rounds, args.judges)
            )
        )
        return

    with loopback(args.latency) as url:
        rows = [measure(size, url, args) for size in args.sizes]
    cells = []
    for r in rows:
        row = [f"{r['debates']:.0f}", f"{r['calls']:.0f}", f"{args.concurrency}", f"{r['in_flight']:.0f}"]
        row += [f"{r['wall_s']:.2f}", f"{r['bound_s']:.2f}", f"{r['wall_s'] / r['bound_s']:.2f}x"]
        row += [f"{r['cpu_ms_per_call']:.2f}", f"{r['peak_rss_mb']:.0f}"]
        cells.append(row)
    columns = ["debates", "LLM calls", "call slots", "in flight", "wall s", "bound s", "wall/bound"]
    print_table(
        f"engine overhead: rounds {args.rounds}, judges {args.judges}, "
        f"{args.concurrency} call slots, {args.latency * 1000:.0f} ms per call",
        [*columns, "engine CPU ms/call", "peak RSS MB"],
        cells,
        width=150,
    )


def measure(size: int, url: str, args: argparse.Namespace) -> dict[str, float]:
    """A batch of `size` debates against the fake at `url`, in a process of its own (so that its peak RSS is its
    own): what `one` measured."""
    command = [sys.executable, "-m", "bench.engine_overhead", "--one", str(size), "--url", url]
    command += ["--latency", str(args.latency), "--concurrency", str(args.concurrency)]
    command += ["--in-flight", str(args.in_flight), "--rounds", str(args.rounds), "--judges", str(args.judges)]
    done = subprocess.run(command, cwd=REPO, env=clean_env(), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
