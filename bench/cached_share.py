"""What share of each role's and step's prompt tokens a provider's prompt cache would serve: the example batch
(config.yaml's protocol) and then a tournament of its hypotheses, against the loopback fake reporting cached tokens
as OpenAI does (tests.loopback.PrefixCache: the longest prefix shared with an earlier prompt, in blocks of 128
tokens, none below 1,024; tokens are characters / 4, answers written to their caps).

    .venv/bin/python -m bench.cached_share
    .venv/bin/python -m bench.cached_share --rounds 1 --judges 2 --no-tournament

Each run is measured twice, on a fresh server and database: with the function schema after the messages, and
before them ("schema first"), where OpenAI renders it; a step whose schema differs from the step before it shares
nothing under the second. A role whose share stays low opens its prompts with something that changes from call to
call (its instructions, a judge's persona or reading order) before the text the calls have in common.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO, clean_env, loopback, print_table

EXAMPLE = REPO / "examples" / "neurodegeneration.yaml"
Key = tuple[str, str, str]  # (command, role, step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=[EXAMPLE])
    parser.add_argument("--rounds", type=int, help="debate rounds (default: config.yaml)")
    parser.add_argument("--judges", type=int, help="judges on the debate's panel (default: config.yaml)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-tournament", action="store_true", help="the batch only")
    args = parser.parse_args()
    measured = [measure(args, tools_first=False), measure(args, tools_first=True)]
    report(measured, args)


def measure(args: argparse.Namespace, *, tools_first: bool) -> dict[Key, tuple[int, int, int]]:
    """The batch (and its tournament) on a fresh database against a fresh caching fake: (calls, prompt tokens,
    cached prompt tokens) per (command, role, step), read back from the usage table."""
    from hypodebate.api import run_batch_async, run_tournament_async
    from hypodebate.config import load_settings

    flags = ["--fill", "--cache", *(["--tools-first"] if tools_first else [])]
    with loopback(0.0, *flags) as url, tempfile.TemporaryDirectory() as folder:
        env = clean_env() | {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "bench"}
        settings = load_settings(REPO / "config.yaml", env=env)
        db = f"sqlite:///{folder}/bench.db"
        given: dict[str, Any] = {"db": db, "concurrency": args.concurrency, "rounds": args.rounds}
        result = asyncio.run(run_batch_async(args.files, settings=settings, judges=args.judges, **given))
        if not args.no_tournament:
            asyncio.run(run_tournament_async(settings=settings, db=db, batch=result.batch_id))
        return read(db)


def read(db: str) -> dict[Key, tuple[int, int, int]]:
    from sqlalchemy import create_engine, func, select

    from store.models import UsageRow

    engine = create_engine(db)
    try:
        with engine.connect() as c:
            keys = (UsageRow.command, UsageRow.role, UsageRow.step)
            sums = (func.count(), func.sum(UsageRow.prompt_tokens), func.sum(UsageRow.cached_prompt_tokens))
            rows = c.execute(select(*keys, *sums).group_by(*keys)).all()
    finally:
        engine.dispose()
    return {(str(r[0]), str(r[1]), str(r[2])): (int(r[3]), int(r[4]), int(r[5])) for r in rows}


def _share(prompt: int, cached: int) -> str:
    return f"{100 * cached / prompt:.0f}%" if prompt else "—"


def report(measured: list[dict[Key, tuple[int, int, int]]], args: argparse.Namespace) -> None:
    after, first = measured
    steps = ("opening", "critique", "rebuttal", "closing", "verdict", "compare")
    order = sorted(after, key=lambda k: (k[0], k[1], steps.index(k[2]) if k[2] in steps else len(steps), k[2]))
    rows = []
    for key in order:
        calls, prompt, cached = after[key]
        rows.append([*key, f"{calls:,}", f"{prompt:,}", _share(prompt, cached), _share(*first.get(key, (0, 0, 0))[1:])])
    totals = [(sum(v[1] for v in m.values()), sum(v[2] for v in m.values())) for m in measured]
    calls = sum(v[0] for v in after.values())
    rows.append(["all", "", "", f"{calls:,}", f"{totals[0][0]:,}", _share(*totals[0]), _share(*totals[1])])
    print_table(
        f"cached share of prompt tokens: {', '.join(f.name for f in args.files)}"
        + ("" if args.no_tournament else ", then a tournament of its hypotheses"),
        ["command", "role", "step", "calls", "prompt tokens", "cached (schema after)", "cached (schema first)"],
        rows,
        left={"command", "role", "step"},
        width=160,
        caption="cached: the prompt tokens a cache like OpenAI's serves (the longest prefix shared with any earlier "
        "prompt, in blocks of 128 tokens, none below 1,024); schema after: the function schema follows the messages; "
        "schema first: it precedes them, as OpenAI renders function definitions",
        caption_justify="left",
    )


if __name__ == "__main__":
    main()
