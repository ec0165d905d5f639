"""RIS: an entry runs from `TY  -` to `ER  -`; one without an `ID` tag gets the key `<file stem>-<n>`.

Entries are read here, in one pass, into rispy's record form (its tag names and list tags): rispy itself joins each
continuation line onto all the text before it, quadratic in a field's lines (400,000 lines took minutes)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import rispy
from rispy.config import DELIMITED_TAG_MAPPING

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
from safeio.errors import short_repr

_RIS_KINDS = {
    "JOUR": "article",
    "BOOK": "book",
    "CHAP": "incollection",
    "CONF": "inproceedings",
    "CPAPER": "inproceedings",
}  # any other TY is misc
_PMID_NOTE = re.compile(r"\bPMID:\s*(\d+)", re.I)
_RIS_TAG = re.compile(r"([A-Z][A-Z0-9])  -")  # two capitals (or capital, digit), two spaces, dash
# One field, its continuation lines joined: fifty times the longest abstract an entry keeps (MAX_ABSTRACT), and more
# than any export holds in one field.
MAX_RIS_FIELD = 1_000_000


class _Field:
    """One tag's line and its continuation lines, each stripped, as rispy reads them."""

    __slots__ = ("length", "line", "lines", "tag")

    def __init__(self, tag: str, line: int, text: str) -> None:
        self.tag, self.line, self.lines = tag, line, [text]
        self.length = len(text)

    def add(self, text: str) -> None:
        self.lines.append(text)
        self.length += 1 + len(text)  # joined by a space


_Record = tuple[int, list[_Field]]  # the line of its `TY  -`, its fields in order (TY first)


def parse_ris(text: str, source: str) -> list[Entry]:
    """The entries of a RIS file's text (CRLF or LF, with or without a BOM). An entry runs from `TY  -` to
    `ER  -`; tags may repeat (AU, KW) and a value may run on over several lines."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    stem = Path(source).stem
    records = enumerate(_ris_records(text.split("\n"), source), 1)
    return _unique([_ris_entry(fields, index, line, stem, source) for index, (line, fields) in records])


def _ris_records(lines: list[str], source: str) -> list[_Record]:
    """Each entry's fields, or an error for an entry that is never ended by `ER  -`. Lines outside entries are
    skipped, and so is a line with no tag before it in its entry."""
    records: list[_Record] = []
    fields: list[_Field] | None = None
    open_at = 0
    for number, line in enumerate(lines, 1):
        tag = line[:2] if _RIS_TAG.match(line) else None
        if tag == "TY":
            if fields is not None:
                raise BibliographyError(
                    f"{source}: entry {len(records) + 1} (line {open_at}): no 'ER  -' line before the next 'TY  -' "
                    f"(line {number})"
                )
            open_at, fields = number, [_Field(tag, number, line[6:].strip())]
        elif tag == "ER":
            if fields is None:
                raise BibliographyError(f"{source}:{number}: 'ER  -' ends no entry (expected 'TY  -' before it)")
            records.append((open_at, fields))
            fields = None
        elif fields is not None and tag is not None:
            fields.append(_Field(tag, number, line[6:].strip()))
        elif fields is not None and len(fields) > 1:
            fields[-1].add(line.strip())
    if fields is not None:
        raise BibliographyError(f"{source}: entry {len(records) + 1} (line {open_at}): no 'ER  -' line ends it")
    return records


def _rispy_record(fields: list[_Field]) -> dict[str, Any]:
    """The fields as rispy's dict: its names for the tags; a list tag's every line a value (split at `;` for
    UR); a single tag's first value, every continuation line of that tag joined to it by a space; unknown tags
    left out."""
    record: dict[str, Any] = {}
    single: dict[str, list[str]] = {}
    for field in fields:
        name = rispy.TAG_KEY_MAPPING.get(field.tag)
        if name is None:
            continue
        if field.tag in rispy.LIST_TYPE_TAGS:
            delimiter = DELIMITED_TAG_MAPPING.get(field.tag)
            values = record.setdefault(name, [])
            for text in field.lines:
                values.extend([v.strip() for v in text.split(delimiter)] if delimiter else [text])
        elif name in single:
            single[name].extend(field.lines[1:])
        else:
            single[name] = list(field.lines)
    return record | {name: " ".join(lines) for name, lines in single.items()}


def _ris_entry(fields: list[_Field], index: int, line: int, stem: str, source: str) -> tuple[Entry, str, str]:
    record = _rispy_record(fields)
    ris_id = _first(record.get("id"))
    where = f"{source}: entry {short_repr(ris_id) if ris_id else index} (line {line})"
    for field in fields:
        if field.length > MAX_RIS_FIELD:
            raise BibliographyError(
                f"{where}: {field.tag} (line {field.line}): longer than {MAX_RIS_FIELD} characters with its "
                "continuation lines"
            )
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
