"""`hypodebate usage`: what the calls stored in the database cost, per role, model, command or day; and
`cached_text`, the cached share as every command's summary prints it."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agents.usage import usd
from hypodebate.app.usage import NOT_RECORDED, UsageReport, usage_report
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.files import write_atomic
from store.usage import Usage


def cached_text(cached_prompt_tokens: int, prompt_tokens: int) -> str:
    """The prompt tokens the provider served from its cache, as a share: "41% of prompt tokens cached"."""
    if not prompt_tokens:
        return "no prompt tokens"
    return f"{100 * cached_prompt_tokens / prompt_tokens:.0f}% of prompt tokens cached"


def usage_command(
    ws: Workspace, *, by: str, batch: str | None, since: str | None, json_path: Path | None, out: Console, err: Console
) -> int:
    """Print the spending as a table (one row per key, then the total) and write it to `json_path`."""
    with ws:
        report = usage_report(ws, by=by, batch=batch, day=since)
    print_usage(report, out)
    if json_path is not None:
        write_atomic(json_path, (json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        err.print(f"wrote {shown(str(json_path))}", highlight=False)
    return 0


def _row(key: str, usage: Usage) -> list[str]:
    share = usage.cached_share
    return [
        key,
        f"{usage.calls:,}",
        f"{usage.prompt_tokens:,}",
        f"{usage.cached_prompt_tokens:,}",
        "—" if share is None else f"{100 * share:.0f}%",
        f"{usage.completion_tokens:,}",
        usd(usage.cost_usd),
    ]


def print_usage(report: UsageReport, out: Console) -> None:
    notes = [
        "cached: prompt tokens the provider reported it served from its prompt cache (priced at the model's "
        "cached_prompt rate)"
    ]
    if report.total.cost_usd is None:
        notes.append("—: unknown cost: some call's model has no price in llm.prices (add it to config.yaml)")
    if any(key is None for key, _ in report.groups):
        notes.append(f"{NOT_RECORDED}: calls stored before hypodebate recorded the command and step of each call")
    table = Table(
        title=f"Spending by {report.by}: {shown(report.scope)}",
        caption="\n".join(notes),
        title_justify="left",
        caption_justify="left",
    )
    for column in (report.by, "calls", "prompt tokens", "cached", "cached share", "completion tokens", "cost"):
        table.add_column(column, justify="left" if column == report.by else "right")
    for key, usage in report.groups:
        table.add_row(*_row(NOT_RECORDED if key is None else shown(key), usage))
    table.add_section()
    table.add_row(*_row("total", report.total), style="bold")
    out.print(table)
    if not report.groups:
        out.print(f"no calls stored ({shown(report.scope)})", highlight=False)
