"""Optional online resolvers: a PMID no bibliography holds is looked up on PubMed (E-utilities esummary), a DOI on
Crossref (REST `works`, the DOI percent-encoded into one path segment, so no DOI reaches another path). Off by
default (`evidence.online`). What the server says of an identifier, its record or that it has none, is cached in the
database, so an identifier is asked once; what is found becomes a bibliography entry (source `pubmed` or `crossref`,
key `pmid:<n>` or `doi:<doi>`), so the citation resolves like any other. A record is used only when it is the one
asked for (PubMed's `uid`, Crossref's `DOI`) in its documented shape. An answer that is not, and a lookup that fails
(network, timeout, a server error), says nothing of the identifier: its citation stays unresolved, nothing is cached,
it is asked again next time, and the other identifiers are looked up as usual."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from evidence.bibliography.entry import Entry
from evidence.identifiers import Citation
from safeio.errors import HypodebateError
from store import evidence as store

PUBMED = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi"
CROSSREF = "https://api.crossref.org/works/"
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_TAGS = re.compile(r"<[^<>]*>")
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # one record: Crossref's largest (thousands of references) are about 1 MB


class _Unusable(HypodebateError, ValueError):
    """An answer that is not the record of the identifier asked."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _PubmedAuthor(_Answer):
    name: str = ""


class _ArticleId(_Answer):
    idtype: str = ""
    value: str = ""


class _Summary(_Answer):
    """One record of an esummary answer; a PMID PubMed does not hold comes back with `error`."""

    uid: str
    error: str | None = None
    title: str = ""
    authors: list[_PubmedAuthor] = []
    pubdate: str = ""
    fulljournalname: str | None = None
    source: str | None = None
    articleids: list[_ArticleId] = []


class _Summaries(_Answer):
    result: dict[str, Any]


class _CrossrefAuthor(_Answer):
    family: str | None = None
    given: str | None = None
    name: str | None = None

    def written(self) -> str:
        return f"{self.family}, {self.given or ''}".strip(", ") if self.family else self.name or ""


class _Issued(_Answer):
    date_parts: list[list[int | None]] = Field([], alias="date-parts")


class _Work(_Answer):
    doi: str = Field(alias="DOI")
    title: list[str] = []
    author: list[_CrossrefAuthor] = []
    issued: _Issued | None = None
    container_title: list[str] = Field([], alias="container-title")
    abstract: str | None = None


class _Works(_Answer):
    message: _Work


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
                except (httpx2.HTTPError, ValueError):  # ValueError: an answer that is not JSON or not the record
                    return None  # not cached: asked again next time
            with self.sessions() as session:
                store.cache_lookup_commit(session, resolver, value, fields)
            return _entry(resolver, value, fields) if fields is not None else None

        found = await asyncio.gather(*(one(kind, value) for kind, value in wanted))
        return [e for e in found if e is not None]

    async def _get(self, url: str, **options: Any) -> tuple[int, bytes]:
        """The status and body of a GET, or _Unusable once the body passes `MAX_ANSWER_BYTES` (read no further)."""
        async with self.http.stream("GET", url, **options) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise _Unusable(f"an answer longer than {MAX_ANSWER_BYTES} bytes")
            return response.status_code, bytes(body)

    async def _pubmed(self, pmid: str) -> dict[str, Any] | None:
        params = {"db": "pubmed", "id": pmid, "retmode": "json", "tool": "hypodebate"}
        if self.email:
            params["email"] = self.email
        status, body = await self._get(PUBMED, params=params)
        if status != 200:
            raise _Unusable(f"PubMed answered HTTP {status}")
        record = _Summary.model_validate(_Summaries.model_validate_json(body).result.get(pmid))
        if record.uid != pmid:
            raise _Unusable(f"PubMed answered PMID {record.uid} for PMID {pmid}")
        if record.error is not None or not record.title:
            return None
        ids = {i.idtype: i.value for i in record.articleids}
        year = _YEAR.search(record.pubdate)
        return {
            "title": record.title.rstrip("."),
            "authors": [_pubmed_name(a.name) for a in record.authors],
            "year": int(year.group(1)) if year else None,
            "journal": record.fulljournalname or record.source,
            "doi": ids.get("doi"),
            "pmid": pmid,
        }

    async def _crossref(self, doi: str) -> dict[str, Any] | None:
        agent = f"hypodebate (mailto:{self.email})" if self.email else "hypodebate"
        status, body = await self._get(CROSSREF + quote(doi, safe=""), headers={"User-Agent": agent})
        if status == 404:
            return None
        if status != 200:
            raise _Unusable(f"Crossref answered HTTP {status}")
        work = _Works.model_validate_json(body).message
        if work.doi.lower() != doi.lower():
            raise _Unusable(f"Crossref answered DOI {work.doi!r} for DOI {doi!r}")
        parts = work.issued.date_parts if work.issued else []
        return {
            "title": work.title[0] if work.title else None,
            "authors": [a for a in (author.written() for author in work.author) if a],
            "year": parts[0][0] if parts and parts[0] else None,
            "journal": work.container_title[0] if work.container_title else None,
            "doi": doi,
            "abstract": " ".join(_TAGS.sub(" ", work.abstract).split()) if work.abstract else None,
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
