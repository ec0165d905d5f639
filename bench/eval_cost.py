"""What an eval costs: calls, tokens and wall time per 100 labelled rows for each protocol, against the loopback
fake, and what a full eval of both dev files would cost at the config's price list.

    .venv/bin/python -m bench.eval_cost                      # 100 rows of each dev file, config's protocol
    .venv/bin/python -m bench.eval_cost --rows 50 --rounds 1 --judges 2 --latency 0.05

The fake writes every answer field to its cap and counts tokens as characters / 4 (about right for English with
OpenAI's tokenizers), so prompt tokens follow the real prompts and transcripts, and completion tokens are an upper
bound. Each protocol runs on a fresh database (nothing is skipped as already scored). The rows are a stratified
sample of examples/eval/; the cost is extrapolated to every row of the files given.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, clean_env, loopback, print_table

DEV = REPO / "examples" / "eval"
FILES = [DEV / "target_disease_outcomes.dev.jsonl", DEV / "biodsa_hypotheses.dev.jsonl"]
PROTOCOLS = ("single", "debate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=FILES)
    parser.add_argument("--rows", type=int, default=100, help="rows sampled from each file")
    parser.add_argument("--rounds", type=int, help="debate rounds (default: config.yaml)")
    parser.add_argument("--judges", type=int, help="judges on the debate's panel (default: config.yaml)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake takes per call")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--model", default="gpt-4o-mini", help="the model whose prices (config.yaml) apply")
    args = parser.parse_args()

    from debates.labelled import load_labelled, stratified_sample
    from hypodebate.config import load_settings

    everything = load_labelled(args.files)
    sample = stratified_sample(everything, args.rows, seed=0)
    with loopback(args.latency, "--fill") as url:
        env = clean_env() | {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "bench"}
        env |= {f"HYPODEBATE_LLM__MODELS__{role}": args.model for role in ("PROPOSER", "CRITIC", "JUDGE")}
        settings = load_settings(REPO / "config.yaml", env=env)
        rows = [(protocol, *run(protocol, settings, sample, args)) for protocol in PROTOCOLS]
    report(rows, len(sample), len(everything), settings.llm.prices.get(args.model), args)


def run(protocol: str, settings: Any, sample: Any, args: argparse.Namespace) -> tuple[dict[str, Any], float]:
    """One eval of `sample` under `protocol` on a fresh database: its figures, and its wall seconds."""
    from hypodebate.api import run_eval_async

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = asyncio.run(
            run_eval_async(
                [],
                settings=settings,
                db=f"sqlite:///{folder}/bench.db",
                protocols=[protocol],
                rounds=args.rounds,
                judges=args.judges,
                concurrency=args.concurrency,
                loaded=sample,
            )
        )
        return result["protocols"][protocol], time.perf_counter() - started


def report(rows: list[tuple[str, dict[str, Any], float]], sampled: int, total: int, prices: Any, args: Any) -> None:
    """Print each protocol's figures per 100 rows, and for the whole of `args.files` (`total` rows)."""
    per = 100 / sampled
    full = total / sampled
    columns = ["protocol", "rounds", "judges", "calls /100", "prompt tok /100", "completion tok /100"]
    columns += ["wall s /100", "USD /100", "full eval calls", "full eval USD"]
    cells = []
    for protocol, p, wall in rows:
        row = [protocol, str(p["rounds"]), str(p["judges"]), f"{p['calls'] * per:.0f}"]
        row += [f"{p['prompt_tokens'] * per:,.0f}", f"{p['completion_tokens'] * per:,.0f}", f"{wall * per:.1f}"]
        row += [f"{p['cost_usd'] * per:.3f}", f"{p['calls'] * full:,.0f}", f"{p['cost_usd'] * full:.2f}"]
        cells.append(row)
    print_table(
        f"eval cost: {sampled} rows ({args.rows} per file) against the loopback fake, "
        f"{args.latency * 1000:.0f} ms per call, concurrency {args.concurrency}",
        columns,
        cells,
        left={"protocol"},
        width=200,
        caption=f"full eval = all {total} rows of {', '.join(f.name for f in args.files)} at {args.model} "
        + (f"prices (${prices.prompt}/M prompt, ${prices.completion}/M completion)" if prices else "(no price listed)")
        + "; completion tokens are an upper bound (every field at its cap)",
        caption_justify="left",
    )


if __name__ == "__main__":
    main()
