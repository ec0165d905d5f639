"""Read bibliographies into validated entries: BibTeX, RIS, CSL-JSON, and the References section of a wiki page.

Bibliography files are untrusted. A file is read without following a symbolic link, is at most `MAX_FILE_BYTES`,
and every entry is validated (`Entry`); any problem is a `BibliographyError` whose one line names the file, the
entry (its key, and its line where known) and what was expected, and nothing of that file is returned. Text is
kept as written (BibTeX text after LaTeX decoding), never escaped here: escaping is done where text is shown.

- BibTeX: `@string` macros and `#` concatenation are expanded; `@comment`, `@preamble` and text between entries
  are ignored; field names are case-insensitive. Title, author, journal and abstract are LaTeX-decoded
  (`{\\"u}` -> ü, braces dropped); identifiers (doi, pmid, url) are not, since a URL may hold `%`. A file's
  values may expand to 40 Mi characters in all (`bibtex.MAX_EXPANDED`): a macro bomb is refused at its @string.
- RIS: an entry without an `ID` tag gets the key `<file stem>-<n>`, n counting the file's entries from 1. A
  value's continuation lines are joined to it by spaces; a field of more than 1,000,000 characters is refused.
- A BibTeX or RIS error cuts an echoed key, field name, macro or name to 80 characters.
- CSL-JSON: a JSON array of CSL items, or an object `{"items": [...]}`; an item's `id` is its key.
- A URL that is not http(s) is left out, not refused.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.bibliography.entry import BibliographyError, Entry
from safeio.files import UnsafePathError, read_regular
from safeio.text import NotUtf8Error, utf8_text

if TYPE_CHECKING:
    from evidence.bibliography.bibtex import parse_bibtex
    from evidence.bibliography.csl import parse_csl_json
    from evidence.bibliography.references import parse_references
    from evidence.bibliography.ris import parse_ris

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "BibliographyError",
    "Entry",
    "parse_bibtex",
    "parse_csl_json",
    "parse_references",
    "parse_ris",
    "read_bibliography",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
# Each parser's module, imported on first use (bibtexparser, rispy): a command that reads no bibliography (a batch
# whose audits are up to date) imports none of them. `Entry` alone is `evidence.bibliography.entry`.
_PARSERS = {
    "parse_bibtex": "evidence.bibliography.bibtex",
    "parse_csl_json": "evidence.bibliography.csl",
    "parse_references": "evidence.bibliography.references",
    "parse_ris": "evidence.bibliography.ris",
}
FORMATS = {".bib": "BibTeX", ".bibtex": "BibTeX", ".ris": "RIS", ".json": "CSL-JSON"}  # .csl.json ends in .json


def read_bibliography(path: Path) -> list[Entry]:
    """By suffix: .bib/.bibtex -> BibTeX, .ris -> RIS, .json/.csl.json -> CSL-JSON (a JSON array of CSL items, or an
    object {"items": [...]}). Raises BibliographyError (unknown suffix, not UTF-8, too big > 20 MB, symlink, bad entry,
    duplicate key in one file, no entries at all)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BibliographyError(
            f"{path}: unknown bibliography type {path.suffix!r}, expected .bib, .bibtex, .ris, .json or .csl.json"
        )
    try:
        data, _ = read_regular(path, limit=MAX_FILE_BYTES)
    except UnsafePathError as exc:
        raise BibliographyError(str(exc)) from None
    try:
        text = utf8_text(data, path)
    except NotUtf8Error as exc:
        raise BibliographyError(str(exc)) from None
    if not text.strip():
        raise BibliographyError(f"{path}: empty file, expected {kind} entries")
    parse = _parser({"BibTeX": "parse_bibtex", "RIS": "parse_ris", "CSL-JSON": "parse_csl_json"}[kind])
    entries = parse(text, str(path))
    if not entries:
        raise BibliographyError(f"{path}: no {kind} entries found")
    return entries


def _parser(name: str) -> Callable[[str, str], list[Entry]]:
    """One of `_PARSERS`, its module imported now."""
    parse: Callable[[str, str], list[Entry]] = getattr(importlib.import_module(_PARSERS[name]), name)
    return parse


def __getattr__(name: str) -> Any:
    """`parse_bibtex`, `parse_ris`, `parse_csl_json`, `parse_references`: imported when first asked for."""
    if name in _PARSERS:
        return _parser(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
