"""Online lookups against hostile identifiers and hostile answers: the request a DOI makes stays one Crossref `works`
path, an answer naming another identifier is not stored under the one asked, and an answer of the wrong shape is
"not found" for that identifier while the lookup goes on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
from sqlalchemy import select

from evidence.bibliography import Entry
from evidence.identifiers import Citation, parse
from evidence.online import OnlineResolver
from evidence.resolve import Bibliography, resolve
from store.engine import open_store
from store.models import ResolverCacheRow

NATURE = "10.1038/nature12373"
NATURE_WORK = {
    "DOI": NATURE,
    "title": ["Nanometre-scale thermometry in a living cell"],
    "author": [{"given": "G.", "family": "Kucsko"}, {"name": "The NV Consortium"}],
    "issued": {"date-parts": [[2013, 7, 31]]},
    "container-title": ["Nature"],
}
PITTENGER = {
    "title": "Multilineage potential of adult human mesenchymal stem cells.",
    "authors": [{"name": "Pittenger MF"}],
    "pubdate": "1999 Apr 2",
    "fulljournalname": "Science",
}


def crossref_like(request: httpx2.Request) -> httpx2.Response:
    """A server that finds works by the DOI in its path, as Crossref does (percent-escapes undone)."""
    path = request.url.raw_path.decode("ascii").partition("?")[0]
    if path == "/members":
        return httpx2.Response(200, json={"message": {"items": [{"id": 1}]}})
    if unquote(path) == f"/works/{NATURE}":
        return httpx2.Response(200, json={"message": NATURE_WORK})
    return httpx2.Response(404)


class Server:
    """A MockTransport that records every request and answers with `answer`."""

    def __init__(self, answer: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answer(request)

    def paths(self) -> list[str]:
        return [r.url.raw_path.decode("ascii") for r in self.requests]


def look_up(tmp_path: Path, server: Server, written: list[str]) -> tuple[list[Entry], set[tuple[str, str, bool]]]:
    """What a lookup of `written` found, and what it cached (resolver, identifier, found)."""
    sessions = open_store(f"sqlite:///{tmp_path / 'o.db'}")
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
    citations = [parse(w) for w in written]
    assert all(isinstance(c, Citation) for c in citations)
    try:
        found = asyncio.run(OnlineResolver(sessions, http).lookup(c for c in citations if isinstance(c, Citation)))
        with sessions() as session:
            cached = {(r.resolver, r.identifier, r.found) for r in session.scalars(select(ResolverCacheRow))}
    finally:
        asyncio.run(http.aclose())
        sessions.close()
    return found, cached


def turn_status(written: str, found: list[Entry]) -> str:
    """The status a debate turn citing `written` gets once the lookup's entries are in the bibliography."""
    return resolve(parse(written), "As shown.", Bibliography(found), in_turn=True).status


def test_a_doi_is_one_path_segment_so_a_made_up_doi_cannot_fetch_another_paper_or_endpoint(tmp_path):
    made_up = "10.9999/madeup/../../../works/10.1038/nature12373"
    members = "10.1234/../../../members?rows=1000"
    odd = "10.1234/a#b?c"
    server = Server(crossref_like)
    found, cached = look_up(tmp_path, server, [made_up, members, odd, NATURE])
    assert sorted(server.paths()) == [
        "/works/10.1038%2Fnature12373",
        "/works/10.1234%2F..%2F..%2F..%2Fmembers%3Frows%3D1000",
        "/works/10.1234%2Fa%23b%3Fc",
        "/works/10.9999%2Fmadeup%2F..%2F..%2F..%2Fworks%2F10.1038%2Fnature12373",
    ]
    assert all(r.url.query == b"" and r.url.fragment == "" for r in server.requests)
    assert [(e.key, e.doi, e.year, e.authors) for e in found] == [
        (f"doi:{NATURE}", NATURE, 2013, ("Kucsko, G.", "The NV Consortium"))
    ]
    assert turn_status(made_up, found) == "fabricated"
    assert turn_status(NATURE, found) == "resolved"
    assert cached == {("crossref", d, d == NATURE) for d in (made_up, members, odd, NATURE)}


def test_an_answer_naming_another_identifier_is_not_used_and_not_cached(tmp_path):
    def wrong_record(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.crossref.org":
            return httpx2.Response(200, json={"message": NATURE_WORK})  # whatever DOI was asked
        return httpx2.Response(200, json={"result": {"uids": ["10102814"], "12345": {**PITTENGER, "uid": "10102814"}}})

    server = Server(wrong_record)
    found, cached = look_up(tmp_path, server, ["10.1234/not.nature", "PMID:12345"])
    assert found == [] and cached == set()  # asked again next time: the server may answer right then
    assert turn_status("10.1234/not.nature", found) == turn_status("PMID:12345", found) == "fabricated"
    assert len(server.requests) == 2


BAD_ANSWERS: dict[str, Any] = {  # identifier -> the body answered (a str is sent as text, anything else as JSON)
    "10.1000/list": {"message": []},
    "10.1000/html": "<html>busy</html>",
    "10.1000/authors": {"message": {**NATURE_WORK, "DOI": "10.1000/authors", "author": "x"}},
    "10.1000/title": {"message": {"DOI": "10.1000/title", "title": "A title, not a list of titles"}},
    "10.1000/issued": {"message": {"DOI": "10.1000/issued", "issued": "2013"}},
    "10.1000/ok": {"message": {**NATURE_WORK, "DOI": "10.1000/OK"}},  # DOIs ignore case
    "1": {"result": None},
    "2": {"result": {"2": {**PITTENGER, "uid": "2", "authors": "x"}}},
    "3": [],
    "4": {"result": {"4": ["not", "a", "record"]}},
    "10102814": {"result": {"10102814": {**PITTENGER, "uid": "10102814"}}},
}


def respond(body: Any) -> httpx2.Response:
    return httpx2.Response(200, text=body) if isinstance(body, str) else httpx2.Response(200, json=body)


def test_an_answer_of_the_wrong_shape_is_not_found_for_that_identifier_and_the_lookup_goes_on(tmp_path):
    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.crossref.org":
            return respond(BAD_ANSWERS[unquote(request.url.raw_path.decode("ascii").removeprefix("/works/"))])
        assert request.url.path == "/entrez/eutils/esummary.fcgi"
        return respond(BAD_ANSWERS[request.url.params["id"]])

    server = Server(answer)
    written = [k if k.startswith("10.") else f"PMID:{k}" for k in BAD_ANSWERS]
    found, cached = look_up(tmp_path, server, written)
    assert sorted((e.key, e.year) for e in found) == [("doi:10.1000/ok", 2013), ("pmid:10102814", 1999)]
    assert cached == {("crossref", "10.1000/ok", True), ("pubmed", "10102814", True)}
    assert len(server.requests) == len(BAD_ANSWERS)
    assert {turn_status(w, found) for w in written if w not in ("10.1000/ok", "PMID:10102814")} == {"fabricated"}


def test_an_answer_too_long_to_be_one_record_is_not_read_whole_and_the_lookup_goes_on(tmp_path):
    sent = []

    async def endless() -> AsyncIterator[bytes]:  # 6 GiB in 64 KiB chunks, were it all read
        for _ in range(100_000):
            sent.append(1)
            yield b"x" * 65536

    def answer(request: httpx2.Request) -> httpx2.Response:
        if "huge" in request.url.raw_path.decode("ascii"):
            return httpx2.Response(200, content=endless())
        return crossref_like(request)

    server = Server(answer)
    found, cached = look_up(tmp_path, server, ["10.1234/huge", NATURE])
    assert [e.key for e in found] == [f"doi:{NATURE}"]
    assert cached == {("crossref", NATURE, True)}
    assert len(sent) < 100  # the reading stopped at 4 MiB


def test_pubmed_is_asked_for_the_pmid_alone(tmp_path):
    seen: list[dict[str, Any]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(dict(request.url.params))
        return httpx2.Response(200, content=json.dumps({"result": {"7": {"uid": "7", "error": "none"}}}))

    found, cached = look_up(tmp_path, Server(answer), ["PMID:0007"])
    assert found == [] and cached == {("pubmed", "7", False)}  # PubMed said it has no such record: cached
    assert seen == [{"db": "pubmed", "id": "7", "retmode": "json", "tool": "hypodebate"}]
