"""Wiki pages: import them with their References, attach their related hypotheses, and build the web app to serve
(`hypodebate pages import|attach`, `hypodebate serve`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.bibliography import BibliographyError, Entry, parse_references
from evidence.runner import entry_row
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import evidence as evidence_store
from wiki.sync import Attached, Imported, PageText, attach_pages, import_pages

if TYPE_CHECKING:
    from fastapi import FastAPI


def import_pages_with_references(
    ws: Workspace, paths: Sequence[Path], *, root: Path, replace: bool = False
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

    pages = import_pages(ws.store, paths, root=root, replace=replace, check=references)
    for entries in (read[p.slug] for p in pages):
        if entries:
            with ws.store() as session:
                evidence_store.upsert_entries_commit(session, [entry_row(e) for e in entries], keep_others=True)
    return pages, sum(len(read[p.slug]) for p in pages)


def attach(
    ws: Workspace,
    paths: Sequence[Path],
    *,
    top: int | None = None,
    dry_run: bool = False,
    scoreboard: str | None = None,
    root: Path | None = None,
) -> list[Attached]:
    """Write each page's Related Hypotheses block (`paths`, or every imported page when empty; `root` default
    `wiki.pages_dir`); `dry_run` writes nothing (each result carries its diff). A second run changes nothing."""
    wiki = ws.settings.wiki
    return attach_pages(
        ws.store, paths, wiki, root=root or wiki.pages_dir, top=top, scoreboard=scoreboard, dry_run=dry_run
    )


def web_app(ws: Workspace, host: str, allowed_hosts: Sequence[str] = ()) -> tuple[FastAPI, list[str]]:
    """The web app over the workspace's database and the Host names it answers (`serving_hosts`). The store is
    opened once first: a bad URL or database fails here, as one clear line (the app opens its own)."""
    from wiki.app import create_app

    ws.store  # noqa: B018 - opened to check it
    hosts = serving_hosts(host, [*ws.settings.wiki.allowed_hosts, *allowed_hosts])
    return create_app(ws.url, ws.settings.wiki, allowed_hosts=hosts), hosts


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for 0.0.0.0 and anything else."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_hosts(host: str, allowed: list[str]) -> list[str]:
    """The Host header values the app accepts: the bound host (unless it is a wildcard address), then `allowed`."""
    wildcard = host.strip("[]") in {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound
    hosts = ([] if wildcard else [host]) + allowed
    return list(dict.fromkeys(hosts))
