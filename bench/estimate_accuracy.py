"""How close `--dry-run`'s estimate comes to what the run then spends: the example batch estimated on an empty
database (rendered prompts and the caps alone) and run, then a second batch of other hypotheses estimated with
the first one's history and run; estimate (lo / value / hi) against actual calls, prompt and completion tokens,
per role.

    .venv/bin/python -m bench.estimate_accuracy                       # the loopback fake (answers at their caps)
    .venv/bin/python -m bench.estimate_accuracy --rounds 2 --judges 3
    .venv/bin/python -m bench.estimate_accuracy --embedded            # SmolLM2 in-process: all CPU for minutes

The fake writes every answer field to its cap and counts tokens as characters / 4; `--embedded` runs the embedded
model (no API key, no base URL) with its own tokenizer's counts. Each run is on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import REPO, clean_env, loopback, print_table

EXAMPLE = REPO / "examples" / "neurodegeneration.yaml"
TARGET = 0.25  # the target: calls and prompt tokens within ±25% of what the run spends

# Different hypotheses from the example's (other targets, diseases, lengths): estimated with the example's history.
SECOND_BATCH = """\
hypotheses:
  - title: TREM2 Agonist Antibodies Restore Microglial Plaque Compaction
    targets: TREM2
    mechanism: >-
      An agonist antibody that clusters TREM2 on microglia amplifies DAP12-SYK signalling, drives microglial
      proliferation and phagocytosis around amyloid plaques, compacts plaque cores and limits dystrophic neurites.
    diseases: [Alzheimer's disease]
    evidence:
      - claim: TREM2 loss-of-function variants raise Alzheimer's disease risk about threefold.
        citation: PMID:23150908
      - claim: Agonist antibody AL002 increased microglial activity in preclinical models.
        citation: PMID:32579671
  - title: LRRK2 Kinase Inhibition Normalises Lysosomal Function
    targets: LRRK2
    mechanism: >-
      Hyperactive LRRK2 phosphorylates Rab GTPases and impairs lysosomal degradation; brain-penetrant kinase
      inhibitors lower Rab10 phosphorylation, restore lysosomal function in dopaminergic neurons and slow
      alpha-synuclein accumulation.
    diseases: [Parkinson's disease]
    evidence:
      - claim: DNL201 reduced phospho-Rab10 in healthy volunteers and patients.
        citation: PMID:35675433
  - title: GLP-1 Receptor Agonism Dampens Neuroinflammation
    targets: GLP1R
    mechanism: GLP-1 receptor agonists cross into the brain and reduce microglial activation and neuronal loss.
    diseases: [Parkinson's disease, Alzheimer's disease]
  - title: Antisense Oligonucleotides Lower Mutant SOD1
    targets: SOD1
    mechanism: >-
      Intrathecal antisense oligonucleotides against SOD1 mRNA reduce the toxic mutant protein in motor neurons
      and slow the decline of motor function in SOD1-linked amyotrophic lateral sclerosis.
    diseases: [amyotrophic lateral sclerosis]
    evidence:
      - claim: Tofersen lowered CSF SOD1 and plasma neurofilament light in SOD1-ALS.
        citation: PMID:36129998
  - title: Complement C1q Blockade Protects Synapses
    targets: C1QA, C1QB
    mechanism: >-
      Blocking C1q prevents complement tagging of synapses and their microglial engulfment early in
      neurodegeneration, preserving synapse density and cognition.
    diseases: [Alzheimer's disease, frontotemporal dementia]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedded", action="store_true", help="the embedded model instead of the loopback fake")
    parser.add_argument("--cache", action="store_true", help="the fake reports cached prompt tokens as OpenAI does")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--judges", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, _provider(args.embedded, args.cache) as env:
        rows = asyncio.run(measure(Path(folder), env, args.rounds, args.judges, args.concurrency))
    report(rows, args)


@contextlib.contextmanager
def _provider(embedded: bool, cache: bool) -> Iterator[dict[str, str]]:
    """The environment of the runs: none of the caller's provider settings; the fake's URL unless `embedded`
    (`cache`: reporting cached prompt tokens)."""
    if embedded:
        yield clean_env()
        return
    with loopback(0.0, "--fill", *(["--cache"] if cache else [])) as url:
        yield clean_env() | {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "bench"}


async def measure(
    folder: Path, env: dict[str, str], rounds: int, judges: int, concurrency: int
) -> list[dict[str, Any]]:
    """Estimate then run the example batch on an empty database, then the second batch with that history."""
    from hypodebate.app.options import DebateOptions
    from hypodebate.config import load_settings

    second = folder / "second.yaml"
    second.write_text(SECOND_BATCH, encoding="utf-8")
    settings = load_settings(REPO / "config.yaml", env=env)
    options = DebateOptions(concurrency=concurrency, rounds=rounds, judges=judges)
    db = f"sqlite:///{folder / 'bench.db'}"
    rows = []
    for name, path in (("example, no history", EXAMPLE), ("second, with history", second)):
        rows += await one_batch(name, path, settings, options, db)
    return rows


async def one_batch(name: str, path: Path, settings: Any, options: Any, db: str) -> list[dict[str, Any]]:
    """One batch's estimate (asking nothing) and then its run: per role and in total, estimate against actual."""
    from hypodebate.app.batch import run_batch
    from hypodebate.app.estimate import estimate_batch
    from hypodebate.app.workspace import Workspace

    async with Workspace(settings, db, llm=options.llm(settings)) as ws:
        estimate = await estimate_batch(ws, [path], options)
    before = last_call(db)
    async with Workspace(settings, db, llm=options.llm(settings)) as ws:
        await run_batch(ws, [path], options)
    actual = spent(db, before)
    estimated = {role: spend for role, spend in estimate.by_role().items()}
    estimated["total"] = estimate.total()
    rows = []
    for role in sorted(set(estimated) | set(actual), key=lambda r: (r == "total", r)):
        spend, real = estimated.get(role), actual.get(role, (0, 0, 0, 0))
        for metric, index in (("calls", 0), ("prompt tokens", 1), ("cached", 3), ("completion tokens", 2)):
            figure = None if spend is None else (spend.calls, spend.prompt, spend.completion, spend.cached)[index]
            lo, value, hi = (0.0, 0.0, 0.0) if figure is None else (figure.lo, figure.value, figure.hi)
            rows.append({"batch": name, "role": role, "metric": metric, "lo": lo, "value": value, "hi": hi,
                         "actual": real[index], "history": "; ".join(estimate.history)})  # fmt: skip
    return rows


def last_call(db: str) -> int:
    """The id of the newest usage row (0 for none): the run's calls are those after it."""
    rows = _query(db, "SELECT coalesce(max(id), 0) FROM usage", {})
    return int(rows[0][0])


def spent(db: str, after: int) -> dict[str, tuple[int, ...]]:
    """What the calls stored after usage row `after` spent, per role and in total: calls, prompt, completion and
    cached prompt tokens (a batch's claim checks, made before its debates, included)."""
    query = (
        "SELECT role, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cached_prompt_tokens) FROM usage "
        "WHERE id > :after GROUP BY role"
    )
    found = {role: tuple(int(x) for x in figures) for role, *figures in _query(db, query, {"after": after})}
    found["total"] = tuple(sum(v[i] for v in found.values()) for i in range(4))
    return found


def _query(db: str, sql: str, values: dict[str, Any]) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    try:
        with engine.connect() as c:
            return list(c.execute(text(sql), values))
    finally:
        engine.dispose()


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """One line per batch, role and figure: the estimate's range and value, the actual, the error, in range?"""
    cells = []
    for r in rows:
        error = (r["value"] - r["actual"]) / r["actual"] if r["actual"] else 0.0
        inside = r["lo"] <= r["actual"] <= r["hi"]
        mark = "" if r["metric"] in ("completion tokens", "cached") else (" ✓" if abs(error) <= TARGET else " ✗")
        cells.append(
            [r["batch"], r["role"], r["metric"], f"{r['lo']:,.0f}", f"{r['value']:,.0f}", f"{r['hi']:,.0f}",
             f"{r['actual']:,}", f"{100 * error:+.1f}%{mark}", "yes" if inside else "no"]
        )  # fmt: skip
    model = "the embedded model" if args.embedded else "the loopback fake (answers at their caps)"
    print_table(
        f"dry-run estimate against actual: {model}, --rounds {args.rounds} --judges {args.judges}",
        ["batch", "role", "figure", "lo", "estimate", "hi", "actual", "error", "in range"],
        cells,
        left={"batch", "role", "figure"},
        width=160,
        caption=f"target: calls and prompt tokens within ±{TARGET:.0%} (✓); figures from: "
        + " | ".join(dict.fromkeys(f"{r['batch']}: {r['history']}" for r in rows)),
        caption_justify="left",
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.pop("OPENAI_API_KEY", None)  # the runs' environment is built explicitly (clean_env)
    main()
