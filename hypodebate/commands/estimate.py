"""`--dry-run` on run, eval, tournament, evidence and generate: print what the command would ask and spend (the
model is asked nothing), and write it as JSON with `--json`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agents.settings import EMBEDDED_MODEL, Price
from debates.estimate import Estimate, Figure
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.files import write_atomic

NAMES = {"claim_checks": "claim checks", "meta_reviews": "meta-reviews"}  # else the key as it is


def estimate_command(
    ws: Workspace,
    make: Callable[[Workspace], Awaitable[Estimate]],
    *,
    out: Console,
    err: Console,
    json_path: Path | None,
) -> int:
    """Estimate (asking the model nothing), print the estimate on `out`, write it to `json_path`; 0."""
    estimate = ws.run(make)
    print_estimate(estimate, out)
    if json_path is not None:
        write_atomic(json_path, (json.dumps(estimate.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        err.print(f"wrote {shown(str(json_path))}")
    return 0


def print_estimate(estimate: Estimate, out: Console) -> None:
    """What is left to ask, a row per role and model (calls, tokens, cost, each with its range), the total, the
    cached share, the wall time at the command's concurrency, and where the figures come from."""
    work = " · ".join(
        f"{count(figure)} {NAMES.get(name, name)}"
        + (f" ({estimate.stored[name]} stored: skipped)" if estimate.stored.get(name) else "")
        for name, figure in estimate.work.items()
    )
    out.print(f"dry run of `hypodebate {estimate.command}`: nothing was asked, nothing was stored", highlight=False)
    out.print(f"to ask: {work or 'nothing'}", highlight=False)
    table = Table(title_justify="left", caption_justify="left", caption="each figure: estimate (range)")
    for column in ("role", "model", "calls", "prompt tokens", "cached", "completion tokens", "cost"):
        table.add_column(column, justify="left" if column in ("role", "model") else "right")
    for (role, model), spend in sorted(estimate.spend.items()):
        cost = spend.cost(estimate.prices.get(model))
        table.add_row(
            shown(role), shown(model), count(spend.calls), count(spend.prompt), count(spend.cached),
            count(spend.completion), dollars(cost),
        )  # fmt: skip
    total = estimate.total()
    table.add_row(
        "total", "", count(total.calls), count(total.prompt), count(total.cached), count(total.completion),
        dollars(estimate.cost()), style="bold",
    )  # fmt: skip
    out.print(table)
    slots = f"{estimate.parallel} call slot{'s' if estimate.parallel != 1 else ''}"
    out.print(
        f"cached share {100 * estimate.cached_share():.0f}% of prompt tokens · wall time at {slots}: "
        f"{duration(estimate.wall_s())}",
        highlight=False,
    )
    models = estimate.by_model()
    if len(models) > 1:
        for model, spend in sorted(models.items()):
            out.print(
                f"{shown(model)}: {count(spend.calls)} calls · {dollars(estimate.model_cost(model))}", highlight=False
            )
    for model, price in sorted(estimate.prices.items()):
        out.print(price_line(model, price), highlight=False)
    for line in estimate.history:
        out.print(f"figures from {shown(line)}", highlight=False)
    for note in estimate.notes:
        out.print(f"note: {shown(note)}", highlight=False)


def price_line(model: str, price: Price | None) -> str:
    """What a model's cost rests on: its price per million tokens and when it was checked, or why it has none."""
    if price is None:
        return f"cost —: {shown(model)} has no price in llm.prices (unknown, not $0)"
    if model == EMBEDDED_MODEL:
        return f"price: {shown(model)} runs in this process: $0"
    cached = price.prompt if price.cached_prompt is None else price.cached_prompt
    checked = f"checked {price.checked.isoformat()}" if price.checked else "never checked: llm.prices gives no date"
    return (
        f"price: {shown(model)} ${price.prompt:g} prompt · ${cached:g} cached · ${price.completion:g} completion "
        f"per million tokens ({checked})"
    )


def count(figure: Figure) -> str:
    """`1,234 (1,000–1,500)`, or `1,234` when the range is one point."""
    value, lo, hi = (f"{round(x):,}" for x in (figure.value, figure.lo, figure.hi))
    return value if value == lo == hi else f"{value} ({lo}–{hi})"


def dollars(figure: Figure | None) -> str:
    """`$0.0123 ($0.0100–$0.0150)`, or `—` when a model has no price."""
    if figure is None:
        return "—"
    value, lo, hi = (f"${x:.4f}" for x in (figure.value, figure.lo, figure.hi))
    return value if value == lo == hi else f"{value} ({lo}–{hi})"


def duration(figure: Figure) -> str:
    """Seconds as `45 s (20 s–1.5 min)`, in the unit the value reads best in."""

    def one(seconds: float) -> str:
        if seconds < 90:
            return f"{seconds:.0f} s"
        if seconds < 5400:
            return f"{seconds / 60:.1f} min"
        return f"{seconds / 3600:.1f} h"

    value, lo, hi = one(figure.value), one(figure.lo), one(figure.hi)
    return value if value == lo == hi else f"{value} ({lo}–{hi})"
