"""CSL-JSON: a JSON array of CSL items, or an object `{"items": [...]}`; an item's `id` is its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evidence.bibliography.entry import BibliographyError, Entry, _entry, _first, _http, _is_more, _trial, _unique
from safeio.errors import short_repr
from safeio.json import JsonError, load_json

_CSL_KINDS = {
    "article-journal": "article",
    "article": "article",
    "book": "book",
    "chapter": "incollection",
    "paper-conference": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
}  # any other type is misc


def parse_csl_json(text: str, source: str) -> list[Entry]:
    """The entries of a CSL-JSON file's text: a JSON array of CSL items, or an object {"items": [...]}."""
    try:  # strict JSON: NaN, infinities and a key written twice are refused with the line and the field
        data = load_json(text.removeprefix("\ufeff"), source=source)
    except JsonError as exc:
        raise BibliographyError(str(exc)) from None
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BibliographyError(f'{source}: expected a JSON array of CSL items, or an object {{"items": [...]}}')
    return _unique([_csl_entry(item, index, source) for index, item in enumerate(items, 1)])


def _csl_entry(item: Any, index: int, source: str) -> tuple[Entry, str, str]:
    if not isinstance(item, dict):
        raise BibliographyError(f"{source}: entry {index}: expected a CSL item (a JSON object)")
    raw_id = item.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        raise BibliographyError(f"{source}: entry {index}: id: required field is missing (the item's citation key)")
    where = f"{source}: entry {short_repr(str(raw_id))} (item {index})"
    people = item.get("author") or []
    if not isinstance(people, list):
        raise BibliographyError(f"{where}: author: expected a list of names")
    names = [_csl_name(person, f"{where}: author.{number}") for number, person in enumerate(people, 1)]
    container = item.get("container-title")
    url = _http(item.get("URL", item.get("url")))
    fields = {
        "key": str(raw_id),
        "kind": _CSL_KINDS.get(str(item.get("type")), "misc"),
        "title": item.get("title"),
        "authors": [n for n in names if not _is_more(n)],
        "more_authors": any(_is_more(n) for n in names),
        "year": _csl_year(item.get("issued"), where),
        "journal": _first(container) if isinstance(container, list) else container,
        "doi": item.get("DOI", item.get("doi")),
        "pmid": item.get("PMID", item.get("pmid")),
        "pmcid": item.get("PMCID", item.get("pmcid")),
        "nct": _trial(url),
        "url": url,
        "abstract": item.get("abstract"),
        "source": Path(source).name,
    }
    return _entry(where, fields), where, f"item {index}"


def _csl_name(person: Any, where: str) -> str:
    """A CSL name ({family, given} or {literal}) as "Family, Given"."""
    parts = person if isinstance(person, dict) else {}
    if not all(isinstance(parts.get(k, ""), str) for k in ("family", "given", "literal", "non-dropping-particle")):
        parts = {}
    family = " ".join(filter(None, (parts.get("non-dropping-particle"), parts.get("family"))))
    given = parts.get("given", "")
    name = ", ".join(filter(None, (family, given))) if family else parts.get("literal") or given
    if not name.strip():
        raise BibliographyError(f'{where}: expected {{"family": ..., "given": ...}} or {{"literal": ...}}')
    return name


def _csl_year(issued: Any, where: str) -> Any:
    """The year of a CSL date: {"date-parts": [[2006, 3]]}, or {"raw": "2006-03"} or {"literal": "2006"}."""
    if issued is None:
        return None
    if isinstance(issued, dict):
        parts, text = issued.get("date-parts"), issued.get("raw", issued.get("literal"))
        if isinstance(parts, list) and parts and isinstance(parts[0], list):
            return parts[0][0] if parts[0] else None
        if parts is None and (text is None or isinstance(text, str)):
            return text
    raise BibliographyError(f'{where}: issued: expected {{"date-parts": [[year, month, day]]}}')
