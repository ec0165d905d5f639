"""`hypodebate report`: the transcript review report of a batch (or of everything), as HTML or Markdown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from hypodebate.app.workspace import Workspace
from report.data import ReportScopeError, load_report
from report.render import render_html, render_markdown
from safeio.errors import NotFound
from safeio.files import write_atomic
from safeio.text import display_url, safe_text
from scoring.rubric import Rubric


def report_command(
    url: str,
    *,
    batch: str | None,
    hypothesis: str | None,
    output: Path,
    fmt: Literal["html", "md"],
    rubric: Rubric | None = None,
) -> int:
    """Write the report of `batch` (default: the newest batch, with every hypothesis that has debates).

    `rubric` (the configured one) supplies the dimension weights when its hash matches the verdicts';
    the default rubric is always known. Raises NotFound for an unknown batch or hypothesis id.
    """
    try:
        with Workspace.at(url) as ws, ws.store() as session:
            data = load_report(session, batch_id=batch, hypothesis_id=hypothesis, rubric=rubric)
    except ReportScopeError as exc:
        raise NotFound(f"{exc} in {display_url(url)}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, render_html(data) if fmt == "html" else render_markdown(data))
    failed = len(data.failed)
    print(
        f"wrote {safe_text(output)}: {len(data.hypotheses)} hypotheses, {data.debates_total} debates"
        + (f" ({failed} failed or unfinished)" if failed else ""),
        file=sys.stderr,
    )
    return 0
