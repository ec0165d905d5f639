"""Optional online resolvers: a PMID no bibliography holds is looked up on PubMed (E-utilities esummary), a DOI on
Crossref (REST `works`). Off by default (`evidence.online`); every answer, found or not, is cached in the database,
so an identifier is asked once. What is found becomes a bibliography entry (source `pubmed` or `crossref`, key
`pmid:<n>` or `doi:<doi>`), so the citation resolves like any other; a lookup that fails (network, timeout, a
server error) leaves the citation unresolved and is asked again next time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlalchemy.orm import Session, sessionmaker

from evidence.bibliography import Entry
from evidence.identifiers import Citation
from store import evidence as store

PUBMED = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi"
CROSSREF = "https://api.crossref.org/works/"
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_TAGS = re.compile(r"<[^<>]*>")


@dataclass
class OnlineResolver:
    sessions: sessionmaker[Session]
    http: httpx2.AsyncClient
    email: str | None = None
    concurrency: int = 3  # PubMed allows three requests a second without an API key

    async def lookup(self, citations: Iterable[Citation]) -> list[Entry]:
        """Entries for the PMIDs and DOIs among `citations` that PubMed or Crossref know (cached answers first)."""
        wanted = sorted({c.key for c in citations if c.kind in ("pmid", "doi")})
        slots = asyncio.Semaphore(self.concurrency)

        async def one(kind: str, value: str) -> Entry | None:
            resolver = "pubmed" if kind == "pmid" else "crossref"
            with self.sessions() as session:
                cached = store.cached_lookup(session, resolver, value)
            if cached is not None:
                return _entry(resolver, value, cached.payload) if cached.found else None
            async with slots:
                try:
                    fields = await (self._pubmed(value) if kind == "pmid" else self._crossref(value))
                except (httpx2.HTTPError, ValueError, KeyError, TypeError):
                    return None  # not cached: asked again next time
            with self.sessions() as session:
                store.cache_lookup_commit(session, resolver, value, fields)
            return _entry(resolver, value, fields) if fields is not None else None

        found = await asyncio.gather(*(one(kind, value) for kind, value in wanted))
        return [e for e in found if e is not None]

    async def _pubmed(self, pmid: str) -> dict[str, Any] | None:
        params = {"db": "pubmed", "id": pmid, "retmode": "json", "tool": "hypodebate"}
        if self.email:
            params["email"] = self.email
        response = await self.http.get(PUBMED, params=params)
        response.raise_for_status()
        record = response.json()["result"].get(pmid)
        if not isinstance(record, dict) or "error" in record or not record.get("title"):
            return None
        ids = {i.get("idtype"): i.get("value") for i in record.get("articleids", []) if isinstance(i, dict)}
        year = _YEAR.search(str(record.get("pubdate", "")))
        return {
            "title": str(record["title"]).rstrip("."),
            "authors": [_pubmed_name(a.get("name", "")) for a in record.get("authors", []) if isinstance(a, dict)],
            "year": int(year.group(1)) if year else None,
            "journal": record.get("fulljournalname") or record.get("source"),
            "doi": ids.get("doi"),
            "pmid": pmid,
        }

    async def _crossref(self, doi: str) -> dict[str, Any] | None:
        agent = f"hypodebate (mailto:{self.email})" if self.email else "hypodebate"
        response = await self.http.get(CROSSREF + doi, headers={"User-Agent": agent})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        work = response.json()["message"]
        parts = (work.get("issued") or {}).get("date-parts") or [[None]]
        authors = [
            f"{a['family']}, {a.get('given', '')}".strip(", ") if "family" in a else a.get("name", "")
            for a in work.get("author", [])
            if isinstance(a, dict)
        ]
        abstract = work.get("abstract")
        return {
            "title": (work.get("title") or [None])[0],
            "authors": [a for a in authors if a],
            "year": parts[0][0] if parts and parts[0] else None,
            "journal": (work.get("container-title") or [None])[0],
            "doi": doi,
            "abstract": " ".join(_TAGS.sub(" ", abstract).split()) if isinstance(abstract, str) else None,
        }


def _pubmed_name(name: str) -> str:
    """PubMed's "Pittenger MF" as "Pittenger, MF"."""
    family, _, initials = str(name).rpartition(" ")
    return f"{family}, {initials}" if family else initials


def _entry(resolver: str, value: str, fields: dict[str, Any]) -> Entry | None:
    key = f"pmid:{value}" if resolver == "pubmed" else f"doi:{value}"
    known = {k: v for k, v in fields.items() if v not in (None, "", [])}
    try:
        return Entry(key=key, source=resolver, **{**known, "authors": tuple(known.get("authors", ()))})
    except ValueError:
        return None  # an answer that is not a valid entry is not used
