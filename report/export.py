"""The export: the store's rows (each with a `kind`) written as JSON Lines or as one CSV table.

Every cell is data, never a formula: a CSV cell that a spreadsheet would evaluate (one starting with `=`, `+`,
`-`, `@`, a tab or a carriage return) is prefixed with `'`, the mark spreadsheets read as "this is text"."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from safeio.text import json_line

ExportFormat = Literal["jsonl", "csv"]
# CSV holds every kind of row in one table: the union of their columns, `kind` first.
EXPORT_COLUMNS = [
    "kind", "hypothesis_id", "debate_id", "scoreboard_id", "batch_id", "version", "version_id", "content_hash",
    "current", "title", "targets", "target_label", "diseases", "mechanism", "evidence", "origin", "generation",
    "parents", "replicate", "protocol_hash", "rubric_hash", "judge_models", "demo", "legacy", "status",
    "failure_reason", "failed_step",
    "rounds_run", "early_stopped", "revised_statement", "models", "judge", "persona", "material_order",
    "score", "spread", "n", "mean", "lo", "hi", "interval", "se", "df", "debates", "verdicts", "composite", "scores",
    "rationales", "reasoning", "summary", "seq", "round", "role", "step", "model", "text", "payload",
    "prompt_tokens", "completion_tokens", "latency_s", "cost_usd", "attempts", "started_at", "finished_at",
    "created_at", "updated_at",
]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """One CSV cell: lists and mappings as JSON, times as ISO 8601, text a spreadsheet would read as a formula
    prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a spreadsheet must not read model text as a formula
    return value


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


@contextmanager
def _atomic(output: Path) -> Iterator[IO[str]]:
    """Write next to `output`, then move into place: a failed export leaves no half-written file."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_rows(rows: Iterator[dict[str, Any]], fmt: ExportFormat, output: Path) -> dict[str, int]:
    """Write `rows` (each with a `kind`) as JSON Lines or CSV; returns how many rows of each kind."""
    counts: dict[str, int] = {}
    with _atomic(output) as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, extrasaction="raise") if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        for row in rows:
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
            if writer is not None:
                writer.writerow({k: csv_cell(v) for k, v in row.items()})
            else:
                handle.write(json_line(row, default=_json_default) + "\n")
    return counts
