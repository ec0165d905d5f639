"""`hypodebate dedup FILE...`: the duplicate groups among hypothesis files, as a table (stdout) and as JSON for
scripts (`--json OUT`); `--no-llm`: embeddings and fields only (no model call)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agents.usage import total_cost, usd
from hypodebate.app.dedup import DedupReport, find_duplicates
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.files import write_atomic


def dedup_command(
    ws: Workspace,
    files: list[Path],
    *,
    json_out: Path | None,
    no_llm: bool,
    out: Console,
    err: Console,
) -> int:
    """Print the groups on `out` (and write the JSON to `json_out`); 1 when a model check failed (its pair was kept
    apart), else 0."""
    if not no_llm and ws.llm.resolved_provider == "embedded":
        err.print(
            "[yellow]note:[/yellow] the embedded demo model checks duplicates poorly and slowly (about 30 s an ask "
            "on 2 cores, often re-asked); --no-llm uses the embeddings and fields alone"
        )
    err.print(f"reading {len(files)} file(s) and embedding their hypotheses …", highlight=False)
    report = ws.run(lambda ws: find_duplicates(ws, files, use_llm=not no_llm))
    print_groups(report, out)
    if json_out is not None:
        write_atomic(json_out, json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
        err.print(f"wrote {shown(str(json_out))}", highlight=False)
    for failure in report.failures:
        err.print(f"[red]model check failed[/red] {shown(failure)} (kept apart)", highlight=False)
    return 1 if report.failures else 0


def print_groups(report: DedupReport, out: Console) -> None:
    """One table per group (each id with its title and its cosine to the group's first), then how it was decided."""
    if not report.groups:
        out.print(f"no duplicates among {report.hypotheses} hypotheses", highlight=False)
    for number, group in enumerate(report.groups, 1):
        table = Table(title=f"Group {number}: {len(group)} hypotheses make the same claim", title_justify="left")
        table.add_column("id")
        table.add_column("title")
        table.add_column("cosine to the first", justify="right")
        for position, hid in enumerate(group):
            cosine = "—" if position == 0 else f"{report.similarity[hid]:.2f}"
            table.add_row(shown(hid), shown(report.titles[hid]), cosine)
        out.print(table)
    if report.checked_by is None:
        how = "embeddings and fields only (--no-llm)"
    else:
        tokens = sum(r.total_tokens for r in report.checks)
        cost = total_cost(r.cost_usd for r in report.checks)
        how = (
            f"every merge confirmed by {shown(report.checked_by)}: {len(report.checks)} checks · {tokens:,} tokens · "
            f"{usd(cost)}"
        )
    out.print(
        f"{len(report.groups)} group(s) among {report.hypotheses} hypotheses · embeddings {shown(report.model)} · "
        f"pairs below cosine {report.threshold:.2f} are never grouped · {how}",
        highlight=False,
    )
