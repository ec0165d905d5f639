"""`hypodebate export`: scoreboards, hypotheses and their scores, debates, verdicts and turns as JSON Lines or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from hypodebate.app.workspace import Workspace
from report.export import export_rows
from safeio.text import safe_text
from store.exports import export_records


def export_command(url: str, *, fmt: Literal["jsonl", "csv"], output: Path) -> int:
    """Write every row for analysis elsewhere; each row has a `kind`: scoreboard, hypothesis, hypothesis_score,
    debate, score, verdict or turn."""
    with Workspace.at(url) as ws, ws.store() as session:
        counts = export_rows(export_records(session), fmt, output)
    summary = ", ".join(f"{n:,} {kind} row{'s' if n != 1 else ''}" for kind, n in counts.items()) or "nothing"
    print(f"wrote {safe_text(output)}: {summary}", file=sys.stderr)
    return 0
