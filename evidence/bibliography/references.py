"""A wiki page's References section: `[@key]` items holding Vancouver-style references."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evidence.bibliography.entry import (
    _VANCOUVER,
    MAX_AUTHOR,
    MAX_AUTHORS,
    MAX_JOURNAL,
    MAX_TITLE,
    MAX_URL,
    Entry,
    _entry,
    _http,
    _person,
    _trial,
)
from evidence.identifiers import URL

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_REF_HEADING = re.compile(r"(#{1,6}[ \t]+)?References[ \t]*:?[ \t#]*", re.I)
_MD_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")
_REF_ITEM = re.compile(r"(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+)?\[@([A-Za-z0-9][\w:.-]{0,63})\]:?[ \t]*(.*)")
_REF_DOI = re.compile(r"(?:\bdoi:\s*|https?://(?:dx\.)?doi\.org/)(\S+)|\b(10\.\d{4,9}/\S+)", re.I)
_REF_PMID = re.compile(r"\bPMID:?\s*(\S+)", re.I)
_REF_PMCID = re.compile(r"\bPMC\d{1,9}\b")
_REF_NCT = re.compile(r"\bNCT\d{8}\b", re.I)
_REF_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


def parse_references(markdown: str, source: str) -> list[Entry]:
    """The entries of a wiki page's References section: from a line "References" or a Markdown heading
    "## References" up to the next heading (in a page dump, a bare heading line) or the end.

    An item is a line `- [@key] ...`, `[@key]: ...` or `1. [@key] ...` holding a Vancouver-style reference:
    `Pittenger MF, Mackay AM, et al. Multilineage potential ... . Science. 1999;284(5411):143-147.
    doi:10.1126/science.284.5411.143 PMID: 10102814`. The DOI, PMID, PMCID, NCT id and a URL are taken wherever
    they are; the year is the first 19xx/20xx before them. When the text before the first ". " is a list of names
    ("Family Initials", "et al."), those are the authors, the next sentence the title and the one after it the
    journal; otherwise title, authors and journal are left out. Lines without a [@key] are skipped, and a key's
    second item. An empty or absent section gives []. Odd prose never raises: only an item whose DOI or PMID is
    malformed does (BibliographyError naming `source`, the key and the line)."""
    entries: dict[str, Entry] = {}
    for number, line in _reference_lines(markdown.split("\n")):
        match = _REF_ITEM.fullmatch(line.strip())
        if match and match.group(1) not in entries:
            key = match.group(1)
            where = f"{source}: entry {key!r} (line {number})"
            entries[key] = _entry(
                where, {**_reference(_CONTROLS.sub("", match.group(2))), "key": key, "source": Path(source).name}
            )
    return list(entries.values())


def _reference_lines(lines: list[str]) -> list[tuple[int, str]]:
    """The numbered lines of the first References section, without its heading."""
    for start, line in enumerate(lines):
        heading = _REF_HEADING.fullmatch(line.strip())
        if heading is None:
            continue
        section = []
        for number, item in enumerate(lines[start + 1 :], start + 2):
            if _MD_HEADING.match(item.strip()) or (heading.group(1) is None and _bare_heading(item.strip())):
                break
            section.append((number, item))
        return section
    return []


def _bare_heading(line: str) -> bool:
    """A page dump's section heading: a short bare line, no list item, citation or sentence end."""
    return (
        0 < len(line) <= 60
        and line[0].isalpha()
        and "[@" not in line
        and not line.endswith((".", ",", ";", ":", ")", "]"))
        and not re.match(r"\d+[.)]\s", line)
    )


def _trim(identifier: str) -> str:
    """An identifier found in prose without the punctuation that ends its sentence: a closing bracket is
    dropped when it has no opening one in the identifier, e.g. a Markdown link's `)`."""
    identifier = identifier.rstrip(".,;:")
    for _ in range(3):
        closing = identifier[-1:]
        opening = {")": "(", "]": "[", ">": "<"}.get(closing)
        if opening is None or identifier.count(opening) >= identifier.count(closing):
            break
        identifier = identifier[:-1].rstrip(".,;:")
    return identifier


def _reference(body: str) -> dict[str, Any]:
    """What a Vancouver-style reference says: identifiers wherever they are, then authors, title, journal and
    year from the prose before them."""
    doi, pmid, url = _REF_DOI.search(body), _REF_PMID.search(body), URL.search(body)
    while url and re.match(r"https?://(?:dx\.)?doi\.org/", url.group(), re.I):
        url = URL.search(body, url.end())
    pmcid, nct = _REF_PMCID.search(body), _REF_NCT.search(body)
    ends = [m.start() for m in (doi, pmid, url, pmcid, nct) if m]
    prose = body[: min(ends, default=len(body))]
    year = _REF_YEAR.search(prose)
    fields: dict[str, Any] = {
        "doi": _trim(doi.group(1) or doi.group(2)) if doi else None,
        "pmid": _trim(pmid.group(1)) if pmid else None,
        "pmcid": pmcid.group() if pmcid else None,
        "url": _http(_trim(url.group())) if url and len(url.group()) <= MAX_URL else None,
        "year": int(year.group()) if year else None,
    }
    fields["nct"] = nct.group().upper() if nct else _trial(fields["url"])
    sentences = [s.strip() for s in _SENTENCE.split(prose) if s.strip()]
    authors = _author_list(sentences[0]) if sentences else None
    if authors is not None:
        fields["authors"], fields["more_authors"] = authors
        title = sentences[1].rstrip(".") if len(sentences) > 1 else None
        journal = sentences[2].rstrip(".") if len(sentences) > 2 and not sentences[2][0].isdigit() else None
        fields["title"], fields["journal"] = title and title[:MAX_TITLE], journal and journal[:MAX_JOURNAL]
        fields["kind"] = "article" if journal else "misc"
    else:
        fields["kind"] = "misc"
    return fields


def _author_list(sentence: str) -> tuple[list[str], bool] | None:
    """ "Pittenger MF, Mackay AM, et al." as (["Pittenger, MF", "Mackay, AM"], True), "Song et al." as
    (["Song"], True); None when the sentence is not a list of names."""
    text = sentence.rstrip(".").strip()
    more = text.lower().endswith("et al")
    if more:
        text = text[: -len("et al")].rstrip().rstrip(",").rstrip()
    names = [name.strip() for name in text.split(",")]
    if len(names) > MAX_AUTHORS or any(len(name) > MAX_AUTHOR for name in names):
        return None
    if more and len(names) == 1 and (names[0].isalpha() or not names[0]):
        return [names[0]] if names[0] else [], True
    if not all(_VANCOUVER.fullmatch(name) for name in names):
        return None
    return [_person(name) for name in names], more
