"""The evidence audit from Python: import bibliographies, audit hypotheses' citations, and build what the judges
of a batch read. `hypodebate bib import` and `hypodebate evidence` call these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2
from sqlalchemy.orm import Session, sessionmaker

from agents.audit import Penalty
from agents.client import LLMClient
from agents.factory import make_client
from agents.prompts import PromptSet, load_prompts
from agents.subject import Subject
from debates.inputs import InputError
from evidence.audit import JudgeAuditor, audit_page
from evidence.bibliography import BibliographyError, Entry, parse_references, read_bibliography
from evidence.online import OnlineResolver
from evidence.resolve import Bibliography
from evidence.runner import AuditResult, AuditRunner, HypothesisAudit, entry_row
from hypodebate.config import Settings
from store import evidence as evidence_store
from store.engine import open_store
from store.evidence import ImportCounts
from store.models import PageRow
from wiki.sync import Imported, PageText, import_pages


@dataclass(frozen=True)
class ImportedFile:
    path: str
    entries: int
    counts: ImportCounts
    with_doi: int
    with_pmid: int
    with_abstract: int


def import_bibliographies(
    paths: Sequence[Path], url: str, reading: Callable[[Path], None] | None = None
) -> list[ImportedFile]:
    """Read every file first (a bad entry stops the import with one line naming its file and entry, before
    anything is stored), then store each file's entries together; the audit is refreshed afterwards. `reading` is
    told of each file before it is read."""
    read: list[tuple[Path, list[Entry]]] = []
    for path in paths:
        if reading is not None:
            reading(path)
        try:
            read.append((path, read_bibliography(path)))
        except BibliographyError as exc:
            raise InputError(str(exc)) from None
    sessions = open_store(url)
    try:
        imported = []
        for path, entries in read:
            with sessions() as session:
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
    finally:
        sessions.close()


def import_pages_with_references(
    sessions: sessionmaker[Session], paths: Sequence[Path], *, root: Path, replace: bool = False
) -> tuple[list[Imported], int]:
    """Wiki pages and their References sections. Every page and its References are read before anything is stored
    (a malformed DOI or PMID is an InputError naming the page's file, the entry and its line in the file); then the
    pages, then their References as bibliography entries (source `page:<slug>`; a key an imported bibliography
    file holds is left to it). Returns the pages and the number of entries read."""
    read: dict[str, list[Entry]] = {}

    def references(page: PageText) -> None:
        source = f"page:{page.slug}"
        try:
            read[page.slug] = parse_references(page.markdown, source)
        except BibliographyError as exc:
            raise InputError(f"{page.path}{str(exc).removeprefix(source)}") from None

    pages = import_pages(sessions, paths, root=root, replace=replace, check=references)
    for entries in (read[p.slug] for p in pages):
        if entries:
            with sessions() as session:
                evidence_store.upsert_entries_commit(session, [entry_row(e) for e in entries], keep_others=True)
    return pages, sum(len(read[p.slug]) for p in pages)


async def audit_evidence(
    settings: Settings,
    *,
    db: str | None = None,
    hypotheses: Sequence[str] | None = None,
    verify: bool = True,
    concurrency: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Audit the current versions of `hypotheses` (every stored one when None): resolve each citation of their
    evidence and debates, check the claims whose source has an abstract (`verify`), and store the audit."""
    sessions = open_store(db or settings.store.url)
    try:
        if hypotheses:
            with sessions() as session:
                missing = sorted(set(hypotheses) - set(evidence_store.audited_ids(session, hypotheses)))
            if missing:
                raise InputError(
                    f"--hypothesis {missing[0]}: no such hypothesis (expected a stored id, e.g. h-2600483e)"
                )
        client = make_client(settings.llm) if verify else None
        e = settings.evidence
        http = httpx2.AsyncClient(timeout=e.online_timeout_s, follow_redirects=True) if e.online else None
        try:
            runner = _runner(settings, sessions, client, concurrency, progress)
            if http is not None:
                runner.online = OnlineResolver(sessions, http, e.contact_email)
            return await runner.run(hypotheses)
        finally:
            if client is not None:
                await client.aclose()
            if http is not None:
                await http.aclose()
    finally:
        sessions.close()


def audit_page_citations(settings: Settings, slug: str, *, db: str | None = None) -> AuditResult:
    """The citations of an imported wiki page, resolved against the bibliographies (nothing is stored)."""
    sessions = open_store(db or settings.store.url)
    try:
        with sessions() as session:
            page = session.get(PageRow, slug)
            if page is None:
                raise InputError(f"--page {slug}: no such page (import it with `hypodebate pages import`)")
            bibliography = Bibliography(evidence_store.entries(session))
            items = audit_page(page.markdown, bibliography)
            return AuditResult([HypothesisAudit(slug, page.title, items)], bibliography.size)
    finally:
        sessions.close()


async def audit_evidence_in(
    settings: Settings, sessions: sessionmaker[Session], ids: Sequence[str] | None
) -> AuditResult:
    """Refresh the stored audit of `ids` (every hypothesis when None) without asking the verifier anything (after
    a batch, an import)."""
    return await _runner(settings, sessions, None, None, None).run(ids)


async def judge_auditor(
    settings: Settings,
    sessions: sessionmaker[Session],
    client: LLMClient,
    hypotheses: Sequence[tuple[str, Subject]],
    concurrency: int,
    prompts: PromptSet | None = None,
) -> tuple[JudgeAuditor, AuditResult | None]:
    """What a batch's judges read of the evidence audit; with `evidence.verify_before_debate`, the claims of the
    hypotheses' evidence are checked first (once, ever). `prompts`: already loaded (a worker audits every debate)."""
    runner = _runner(settings, sessions, client, concurrency, None, prompts)
    checked = await runner.check_evidence(hypotheses) if settings.evidence.verify_before_debate else None
    e = settings.evidence
    penalty = Penalty(e.penalty_dimension, e.penalty_cap) if e.penalize else None
    return runner.auditor(penalty), checked


def _runner(
    settings: Settings,
    sessions: sessionmaker[Session],
    client: LLMClient | None,
    concurrency: int | None,
    progress: Callable[[int, int], None] | None,
    prompts: PromptSet | None = None,
) -> AuditRunner:
    llm = settings.llm
    default = llm.embedded.concurrency if llm.resolved_provider == "embedded" else llm.concurrency
    return AuditRunner(
        sessions=sessions,
        llm=llm,
        prompts=prompts or load_prompts(),
        client=client,
        concurrency=concurrency or default,
        progress=progress,
    )
