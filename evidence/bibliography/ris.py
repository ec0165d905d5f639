"""RIS: an entry runs from `TY  -` to `ER  -`; one without an `ID` tag gets the key `<file stem>-<n>`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import rispy

from evidence.bibliography.entry import (
    BibliographyError,
    Entry,
    _entry,
    _first,
    _http,
    _is_more,
    _person,
    _trial,
    _unique,
)

_RIS_KINDS = {
    "JOUR": "article",
    "BOOK": "book",
    "CHAP": "incollection",
    "CONF": "inproceedings",
    "CPAPER": "inproceedings",
}  # any other TY is misc
_PMID_NOTE = re.compile(r"\bPMID:\s*(\d+)", re.I)
_RIS_TAG = re.compile(r"([A-Z][A-Z0-9])  -")  # rispy's rule: two capitals (or capital, digit), two spaces, dash


def parse_ris(text: str, source: str) -> list[Entry]:
    """The entries of a RIS file's text (CRLF or LF, with or without a BOM). An entry runs from `TY  -` to
    `ER  -`; tags may repeat (AU, KW) and an AB may run on over several lines."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    starts = _ris_starts(text.split("\n"), source)
    records = rispy.loads(text)
    if len(records) != len(starts):  # the scan above and rispy read entries alike; a mismatch is a bug here
        raise BibliographyError(f"{source}: {len(starts)} entries opened by 'TY  -', but {len(records)} were read")
    stem = Path(source).stem
    pairs = enumerate(zip(records, starts, strict=True), 1)
    entries = [_ris_entry(record, index, line, stem, source) for index, (record, line) in pairs]
    return _unique(entries)


def _ris_starts(lines: list[str], source: str) -> list[int]:
    """The line of each entry's `TY  -`, or an error for an entry that is never ended by `ER  -`."""
    starts: list[int] = []
    open_at: int | None = None
    for number, line in enumerate(lines, 1):
        tag = line[:2] if _RIS_TAG.match(line) else None
        if tag == "TY":
            if open_at is not None:
                raise BibliographyError(
                    f"{source}: entry {len(starts)} (line {open_at}): no 'ER  -' line before the next 'TY  -' "
                    f"(line {number})"
                )
            starts.append(open_at := number)
        elif tag == "ER":
            if open_at is None:
                raise BibliographyError(f"{source}:{number}: 'ER  -' ends no entry (expected 'TY  -' before it)")
            open_at = None
    if open_at is not None:
        raise BibliographyError(f"{source}: entry {len(starts)} (line {open_at}): no 'ER  -' line ends it")
    return starts


def _ris_entry(record: dict[str, Any], index: int, line: int, stem: str, source: str) -> tuple[Entry, str, str]:
    ris_id = _first(record.get("id"))
    where = f"{source}: entry {ris_id!r} (line {line})" if ris_id else f"{source}: entry {index} (line {line})"
    names = [n for n in record.get("authors") or record.get("first_authors") or [] if isinstance(n, str) and n.strip()]
    accession = _first(record.get("accession_number")) or ""
    notes = " ".join(n for n in record.get("notes") or [] if isinstance(n, str))
    note_pmid = _PMID_NOTE.search(notes)
    urls = record.get("urls") or []
    url = next((u for u in map(_http, urls if isinstance(urls, list) else [urls]) if u), None)
    fields = {
        "key": ris_id or f"{stem}-{index}",
        "kind": _RIS_KINDS.get((_first(record.get("type_of_reference")) or "").upper(), "misc"),
        "title": _first(record.get("title")) or _first(record.get("primary_title")),
        "authors": [_person(n) for n in names if not _is_more(n)],
        "more_authors": any(_is_more(n) for n in names),
        "year": next(filter(None, map(_first, (record.get(k) for k in ("year", "publication_year", "date")))), None),
        "journal": next(
            filter(None, map(_first, (record.get(k) for k in ("journal_name", "secondary_title", "alternate_title3")))),
            None,
        ),
        "doi": _first(record.get("doi")),
        "pmid": accession if re.match(r"PMID\b", accession, re.I) else note_pmid.group(1) if note_pmid else None,
        "nct": _trial(url),
        "url": url,
        "abstract": _first(record.get("abstract")),
        "source": Path(source).name,
    }
    return _entry(where, fields), where, f"line {line}"
