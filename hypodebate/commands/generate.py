"""`hypodebate generate`: fill a page's gaps (or a gap's, or a goal's) with hypotheses, and print each generation."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agents.usage import usd
from hypodebate.app.generate import GenerateOptions, GenerateResult, generate
from hypodebate.app.workspace import Workspace
from hypodebate.commands.progress import demo_note
from hypodebate.commands.usage import cached_text
from hypodebate.terminal import shown
from safeio.errors import InputError
from safeio.files import write_atomic


def generate_command(
    ws: Workspace, options: GenerateOptions, *, out: Console, err: Console, json_path: Path | None
) -> int:
    """Run the loop with its steps on `err`, print each generation on `out` (and write the JSON); 0 when it ran."""
    if options.queue and (options.debate.budget_usd is not None or options.debate.budget_tokens is not None):
        raise InputError("--queue: budgets count one process's spending, and the workers spend it; run without --queue")
    demo_note(ws.settings, err)
    result = ws.run(lambda ws: generate(ws, options, progress=lambda message: err.print(shown(message))))
    print_generation(result, out)
    if json_path is not None:
        write_atomic(json_path, (json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        err.print(f"wrote {shown(str(json_path))}")
    return 0


def print_generation(result: GenerateResult, out: Console) -> None:
    """One row per generation (candidates, merged duplicates, invalid answers, new, debated, top k), then why it
    stopped and what this command's calls cost."""
    loop = result.loop
    table = Table(title=f"generation run {loop.run_id} from {shown(loop.source.name)}")
    for column in ("gen", "candidates", "duplicates", "invalid", "new", "debated", "top"):
        table.add_column(column, justify="right" if column not in ("top",) else "left")
    for g in loop.generations:
        top = "\n".join(f"{h} {shown(result.titles.get(h, ''))[:70]}" for h in g.top) or "—"
        row = (g.number, g.candidates, g.duplicates, g.invalid, len(g.new), g.debated)
        table.add_row(*(str(x) for x in row), top)
    out.print(table)
    out.print(f"stopped: {loop.stopped} ({shown(loop.detail)})")
    out.print(
        f"this command: {result.calls:,} calls, {result.tokens:,} tokens "
        f"({cached_text(result.cached_prompt_tokens, result.prompt_tokens)}), {usd(result.cost_usd)} "
        "(calls answered before, by this run or another, are not asked again)"
    )
    out.print("see each candidate, duplicate and child: hypodebate report (lineage view), hypodebate show ID")
