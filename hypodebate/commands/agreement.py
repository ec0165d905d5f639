"""`hypodebate agreement`: print how reliable one scoreboard's scores are (measured in hypodebate/app/agreement.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hypodebate.app.agreement import Agreement, agreement
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from scoring.rubric import Rubric


def agreement_command(ws: Workspace, *, scoreboard: str | None, json_path: Path | None, out: Console) -> int:
    """Print the figures of `scoreboard` (default: the most-debated one); with `json_path`, write them there too."""
    with ws:
        result = agreement(ws, scoreboard)
    show(result, out)
    if json_path is not None:
        json_path.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return 0


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def show(a: Agreement, out: Console) -> None:
    out.print(f"[bold]Agreement on scoreboard {shown(a.scoreboard)}[/bold]")
    out.print(shown(a.label))
    if a.demo:
        out.print("[yellow]Demo model: these figures describe a 135M smoke-test model, not a judge.[/yellow]")
    out.print(
        f"{a.hypotheses} hypotheses · {a.debates} debates · {a.verdicts} verdicts · {a.judges} judge seats · "
        f"{a.replicates} replicate(s)"
    )
    table = Table(title="Between judges: Krippendorff's alpha (interval), units = debates", title_justify="left")
    table.add_column("dimension")
    table.add_column("alpha", justify="right")
    for name, value in a.alpha.items():
        table.add_row(shown(Rubric.label(name)), _fmt(value))
    out.print(table)
    out.print(
        f"Between replicates: Kendall's tau-b of the replicate rankings: mean {_fmt(a.tau_mean)} "
        f"(min {_fmt(a.tau_min)}, max {_fmt(a.tau_max)}, {a.tau_pairs} replicate pair(s)"
        + (f" sharing {min(a.tau_common)}-{max(a.tau_common)} hypotheses)" if a.tau_common else ")")
    )
    out.print(
        f"Resolution: {_fmt(a.separated)} of the {a.adjacent_pairs} adjacent pairs in the ranking are separated: the "
        "95% interval of their difference excludes 0 (0.00: the data cannot order any hypothesis against the next)"
    )
    out.print(
        "[dim]alpha 1 = judges agree perfectly, 0 = no better than chance, undefined = no variation to agree on; "
        "tau needs >= 2 replicates and >= 3 hypotheses.[/dim]"
    )
