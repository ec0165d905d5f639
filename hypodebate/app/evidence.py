"""The evidence audit: import bibliographies, audit hypotheses' and pages' citations, and build what the judges of a
batch read. `hypodebate bib import`, `hypodebate evidence` and a batch call these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agents.audit import Penalty
from agents.subject import Subject
from evidence.audit import JudgeAuditor, audit_page
from evidence.bibliography.entry import BibliographyError, Entry
from evidence.resolve import Bibliography
from evidence.runner import AuditResult, AuditRunner, HypothesisAudit, entry_row
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import evidence as evidence_store
from store.evidence import ImportCounts
from store.models import PageRow

if TYPE_CHECKING:
    from evidence.online import OnlineResolver


@dataclass(frozen=True)
class ImportedFile:
    """One bibliography file imported: its entries, what the store made of them, and how many carry identifiers."""

    path: str
    entries: int
    counts: ImportCounts
    with_doi: int
    with_pmid: int
    with_abstract: int


def import_bibliographies(
    ws: Workspace, paths: Sequence[Path], reading: Callable[[Path], None] | None = None
) -> list[ImportedFile]:
    """Read every file first (a bad entry stops the import with one line naming its file and entry, before
    anything is stored), then store each file's entries together; refresh the audit afterwards
    (`audit_evidence_in`). `reading` is told of each file before it is read."""
    from evidence.bibliography import read_bibliography  # the parsers (bibtexparser...): imported to read files only

    read: list[tuple[Path, list[Entry]]] = []
    for path in paths:
        if reading is not None:
            reading(path)
        try:
            read.append((path, read_bibliography(path)))
        except BibliographyError as exc:
            raise InputError(str(exc)) from None
    imported = []
    for path, entries in read:
        with ws.store() as session:
            counts = evidence_store.upsert_entries_commit(session, [entry_row(e) for e in entries])
        imported.append(
            ImportedFile(
                str(path),
                len(entries),
                counts,
                sum(e.doi is not None for e in entries),
                sum(e.pmid is not None for e in entries),
                sum(e.abstract is not None for e in entries),
            )
        )
    return imported


@books("evidence")
async def audit_evidence(
    ws: Workspace,
    *,
    hypotheses: Sequence[str] | None = None,
    verify: bool = True,
    concurrency: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Audit the current versions of `hypotheses` (every stored one when None): resolve each citation of their
    evidence and debates, check the claims whose source has an abstract (`verify`, LLM calls), store the audit."""
    if hypotheses:
        with ws.store() as session:
            missing = sorted(set(hypotheses) - set(evidence_store.audited_ids(session, hypotheses)))
        if missing:
            raise InputError(f"--hypothesis {missing[0]}: no such hypothesis (expected a stored id, e.g. h-2600483e)")
    e = ws.settings.evidence
    if not e.online:
        return await audit_runner(ws, verify=verify, concurrency=concurrency, progress=progress).run(hypotheses)
    import httpx2  # here, with the online lookups: a batch's audit never needs it

    from evidence.online import OnlineResolver

    async with httpx2.AsyncClient(timeout=e.online_timeout_s, follow_redirects=True) as http:
        online = OnlineResolver(ws.store, http, e.contact_email)
        runner = audit_runner(ws, verify=verify, concurrency=concurrency, progress=progress, online=online)
        return await runner.run(hypotheses)


def audit_page_citations(ws: Workspace, slug: str) -> AuditResult:
    """The citations of an imported wiki page, resolved against the bibliographies (nothing is stored)."""
    with ws.store() as session:
        page = session.get(PageRow, slug)
        if page is None:
            raise InputError(f"--page {slug}: no such page (import it with `hypodebate pages import`)")
        bibliography = Bibliography(evidence_store.entries(session))
        items = audit_page(page.markdown, bibliography)
        return AuditResult([HypothesisAudit(slug, page.title, items)], bibliography.size)


async def audit_evidence_in(ws: Workspace, ids: Sequence[str] | None) -> AuditResult:
    """Refresh the stored audit of `ids` (every hypothesis when None) without asking the verifier anything (after
    a batch, an import)."""
    return await audit_runner(ws, verify=False).run(ids)


async def judge_auditor(
    ws: Workspace, hypotheses: Sequence[tuple[str, Subject]]
) -> tuple[JudgeAuditor, AuditResult | None]:
    """What a batch's judges read of the evidence audit; with `evidence.verify_before_debate`, the claims of the
    hypotheses' evidence are checked first (once, ever), as many at once as the client has call slots."""
    runner = audit_runner(ws, verify=True, concurrency=ws.client.settings.concurrency)
    e = ws.settings.evidence
    checked = await runner.check_evidence(hypotheses) if e.verify_before_debate else None
    penalty = Penalty(e.penalty_dimension, e.penalty_cap) if e.penalize else None
    return runner.auditor(penalty), checked


def audit_runner(
    ws: Workspace,
    *,
    verify: bool,
    concurrency: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    online: OnlineResolver | None = None,
) -> AuditRunner:
    """An audit runner on the workspace's store and prompts; with `verify`, claims are checked with its client.
    `concurrency`: claim checks in flight (default: the model's call slots); `online`: PubMed and Crossref lookups
    for identifiers no bibliography holds."""
    llm = ws.settings.llm
    default = llm.embedded.concurrency if llm.resolved_provider == "embedded" else llm.concurrency
    return AuditRunner(
        sessions=ws.store,
        llm=llm,
        prompts=ws.prompts,
        client=ws.client if verify else None,
        concurrency=concurrency or default,
        progress=progress,
        online=online,
    )
