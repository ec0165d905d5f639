"""`hypodebate bib import` and `hypodebate evidence`: bibliographies in, the evidence audit out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from agents.usage import usd
from evidence.audit import Audited, counts
from evidence.runner import AuditResult
from hypodebate.app.evidence import audit_evidence, audit_evidence_in, audit_page_citations, import_bibliographies
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.errors import InputError
from safeio.text import display_url, json_line

AuditFormat = Literal["table", "jsonl"]
LARGE_FILE = 1_000_000  # bytes: a file that takes seconds to read is announced before it is read
MARK = {"fabricated": "⚠ fabricated", "miscited": "⚠ miscited", "malformed": "⚠ malformed"}


def bib_import_command(ws: Workspace, paths: Sequence[Path], *, out: Console, err: Console) -> int:
    """Import the files (a bad entry stores nothing), print what each held, and refresh the stored audit."""

    def reading(path: Path) -> None:
        size = path.stat().st_size if path.is_file() else 0
        if size >= LARGE_FILE:  # LaTeX decoding reads about 1 MB/s, text with other commands about 50 KB/s
            err.print(f"reading {shown(path)} ({size / 1e6:.1f} MB) ...", highlight=False)

    async def run(ws: Workspace) -> int:
        imported = import_bibliographies(ws, paths, reading)
        for f in imported:
            c = f.counts
            out.print(
                f"{shown(f.path)}: {f.entries} entries ({c.added} added, {c.updated} updated, {c.unchanged} "
                f"unchanged) · {f.with_doi} with DOI · {f.with_pmid} with PMID · {f.with_abstract} with abstract",
                highlight=False,
            )
        await audit_evidence_in(ws, None)
        return len(imported)

    files = ws.run(run)
    err.print(f"{files} bibliography file(s) imported into {shown(display_url(ws.url))}", highlight=False)
    return 0


def evidence_command(
    ws: Workspace,
    *,
    out: Console,
    err: Console,
    fmt: AuditFormat,
    hypotheses: Sequence[str] | None,
    page: str | None,
    verify: bool,
    concurrency: int | None,
) -> int:
    """Audit the hypotheses' citations (or a page's), print them as a table or JSON Lines on `out` and the claim
    checks' cost on `err`; 1 when a claim check failed."""

    def progress(done: int, total: int) -> None:
        err.print(f"claim checks {done}/{total}", highlight=False)

    if page is not None and hypotheses:
        raise InputError("give --page or --hypothesis, not both")
    if page is not None:
        with ws:
            result, verify = audit_page_citations(ws, page), False
    else:
        result = ws.run(
            lambda ws: audit_evidence(
                ws, hypotheses=hypotheses, verify=verify, concurrency=concurrency, progress=progress
            )
        )
    if fmt == "jsonl":
        for audit in result.audits:
            for item in audit.items:
                row = audit_row(None if page else audit.hypothesis_id, item)
                if page is not None:
                    row = {"page": page, **row}
                out.out(json_line(row), highlight=False)
    else:
        print_audit(result, out, what="page" if page else "hypotheses")
    if verify:
        err.print(
            f"claim checks: {result.checked} asked now, {len(result.failed)} failed · {result.tokens:,} tokens · "
            f"{usd(result.cost_usd)}",
            highlight=False,
        )
    for cid, reason in result.failed:
        err.print(f"[red]failed[/red] {shown(cid)}: {shown(reason)}", highlight=False)
    return 1 if result.failed else 0


def audit_row(hypothesis_id: str | None, item: Audited) -> dict[str, Any]:
    """One claim or turn citation, as `--format jsonl` prints it."""
    entry = item.resolution.entry
    return {
        "hypothesis_id": hypothesis_id,
        "claim": item.claim,
        "citation": item.citation,
        "source": item.source,
        "status": item.status,
        "support": item.support,
        "quote": item.quote,
        "detail": item.resolution.detail,
        "entry_key": entry.key if entry is not None else None,
        "debate_id": item.debate_id,
        "turn_seq": item.turn_seq,
        "role": item.role,
    }


def print_audit(result: AuditResult, out: Console, *, what: str = "hypotheses") -> None:
    everything = [i for a in result.audits for i in a.items]
    for audit in result.audits:
        table = Table(title=f"{shown(audit.title)} ({audit.hypothesis_id})", title_justify="left")
        for column in ("source", "citation", "status", "support", "claim / quote"):
            table.add_column(column)
        for item in audit.items:
            where = f"{item.role} turn {item.turn_seq}" if item.source == "turn" else item.source
            status = MARK.get(item.status, item.status)
            support = "⚠ contradicts" if item.support == "contradicts" else (item.support or "—")
            said = shown(_short(item.claim))
            if item.quote:
                said += f"\n“{shown(_short(item.quote))}”"
            if item.resolution.detail and item.status != "resolved":
                said += f"\n({shown(item.resolution.detail)})"
            table.add_row(shown(where), shown(item.citation), status, support, said)
        if audit.items:
            out.print(table)
        else:
            out.print(f"{shown(audit.title)} ({audit.hypothesis_id}): no citations", highlight=False)
    tally = counts(everything)
    contradicted = sum(i.support == "contradicts" for i in everything)
    checked = sum(i.support is not None for i in everything)
    out.print(
        f"{len(result.audits)} {what} · {len(everything)} citations against {result.entries} bibliography "
        "entries: " + " · ".join(f"{n} {status}" for status, n in tally.items()),
        highlight=False,
    )
    out.print(f"claims checked against an abstract: {checked} · contradicted: {contradicted}", highlight=False)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
