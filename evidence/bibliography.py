"""Read bibliographies into validated entries: BibTeX, RIS, CSL-JSON, and the References section of a wiki page.

Bibliography files are untrusted. A file is read without following a symbolic link, is at most `MAX_FILE_BYTES`,
and every entry is validated (`Entry`); any problem is a `BibliographyError` whose one line names the file, the
entry (its key, and its line where known) and what was expected, and nothing of that file is returned. Text is
kept as written (BibTeX text after LaTeX decoding), never escaped here: escaping is done where text is shown.

- BibTeX: `@string` macros and `#` concatenation are expanded; `@comment`, `@preamble` and text between entries
  are ignored; field names are case-insensitive. Title, author, journal and abstract are LaTeX-decoded
  (`{\\"u}` -> ü, braces dropped); identifiers (doi, pmid, url) are not, since a URL may hold `%`.
- RIS: an entry without an `ID` tag gets the key `<file stem>-<n>`, n counting the file's entries from 1.
- CSL-JSON: a JSON array of CSL items, or an object `{"items": [...]}`; an item's `id` is its key.
- A URL that is not http(s) is left out, not refused.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import bibtexparser
import rispy
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names
from bibtexparser.model import Block, DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, String
from bibtexparser.model import Entry as BibtexEntry
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from safeio.errors import validation_line
from safeio.files import UnsafePathError, read_regular
from safeio.text import no_controls

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TITLE, MAX_ABSTRACT, MAX_JOURNAL, MAX_AUTHOR, MAX_AUTHORS, MAX_URL = 1000, 20_000, 500, 300, 2000, 2000
FORMATS = {".bib": "BibTeX", ".bibtex": "BibTeX", ".ris": "RIS", ".json": "CSL-JSON"}  # .csl.json ends in .json

_RIS_KINDS = {
    "JOUR": "article",
    "BOOK": "book",
    "CHAP": "incollection",
    "CONF": "inproceedings",
    "CPAPER": "inproceedings",
}  # any other TY is misc
_CSL_KINDS = {
    "article-journal": "article",
    "article": "article",
    "book": "book",
    "chapter": "incollection",
    "paper-conference": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
}  # any other type is misc
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
_MACROS = {m[:3].lower(): m for m in (*_MONTHS, "November", "December")}  # BibTeX's predefined: jan -> January

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.I)
_URL = re.compile(r"https?://\S+", re.I)
_TRIAL_URL = re.compile(r"clinicaltrials\.gov/\S*?(NCT\d{8})", re.I)
_YEAR = re.compile(r"(\d{4})(?:[-/ ].*)?", re.S)
_PMID_NOTE = re.compile(r"\bPMID:\s*(\d+)", re.I)
_PMID_PREFIX = re.compile(r"^PMID:?\s*", re.I)
_WORD = re.compile(r"[^\s#]+")  # a macro name or a number in a BibTeX value
_LATEX = re.compile(r"[\\{}$~%]|--|``|''")  # text without any of these decodes to itself
_BLOCK_KEY = re.compile(r"@\s*(\w+)\s*[{(]\s*([^\s,={}()\"#]+)")
_RIS_TAG = re.compile(r"([A-Z][A-Z0-9])  -")  # rispy's rule: two capitals (or capital, digit), two spaces, dash
# "Pittenger MF", "La Spada AR": up to four words, then initials; words are split only by spaces (no backtracking)
_VANCOUVER = re.compile(r"([^\W\d_][\w'’-]*(?: [^\W\d_][\w'’-]*){0,3}) ([A-Z]{1,4})")
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

logging.getLogger("bibtexparser").addHandler(logging.NullHandler())  # its warnings become our one-line errors


class BibliographyError(Exception):
    """A bibliography file cannot be used; nothing from it is stored. str() is ONE line naming the file, the
    entry (its key, and its line where known) and what was expected."""


def _refuse_controls(value: str) -> str:
    try:
        return no_controls(value)
    except ValueError as exc:
        raise PydanticCustomError("control_character", "{problem}", {"problem": str(exc)}) from None


def _identifier(value: Any, pattern: str, expected: str, clean: Callable[[str], str]) -> Any:
    """`value` as a normal-form identifier (None when empty), or an error saying what was expected."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    value = clean(value.strip())
    if not value:
        return None
    if not re.fullmatch(pattern, value) or len(value) > 300:
        raise PydanticCustomError("identifier", "expected {expected}", {"expected": expected})
    return value


class Entry(BaseModel):
    """One bibliography entry, validated: bounded text without control characters, identifiers in normal form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = "article"
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE)] | None = None
    authors: Annotated[
        tuple[Annotated[str, StringConstraints(min_length=1, max_length=MAX_AUTHOR)], ...],
        Field(max_length=MAX_AUTHORS),
    ] = ()  # "Family, Given" in order
    more_authors: bool = False  # the source listed further authors ("and others", "et al.")
    year: Annotated[int, Field(ge=1500, le=2100)] | None = None
    journal: Annotated[str, StringConstraints(max_length=MAX_JOURNAL)] | None = None
    doi: str | None = None  # lower case, no "doi:" or resolver prefix
    pmid: str | None = None  # digits
    pmcid: str | None = None  # PMC and digits
    nct: str | None = None  # NCT and 8 digits
    url: Annotated[str, StringConstraints(max_length=MAX_URL, pattern=r"^(?i:https?)://\S+$")] | None = None
    abstract: Annotated[str, StringConstraints(max_length=MAX_ABSTRACT)] | None = None
    source: Annotated[str, StringConstraints(max_length=300)] = ""  # the file name, page:<slug>, pubmed, crossref

    @property
    def surnames(self) -> tuple[str, ...]:
        """Family names in order, e.g. ("Pittenger", "Mackay", "Beck")."""
        return tuple(author.partition(",")[0].strip() for author in self.authors)

    @field_validator("key", "source", "url", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return _refuse_controls(value) if isinstance(value, str) else value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return _refuse_controls(value).strip().lower() if isinstance(value, str) else value

    @field_validator("title", "journal", "abstract", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return (" ".join(_refuse_controls(value).split()) or None) if isinstance(value, str) else value

    @field_validator("authors", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return tuple(" ".join(_refuse_controls(name).split()) if isinstance(name, str) else name for name in value)

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        match = _YEAR.fullmatch(value.strip())  # "2006", "2006-03-01", RIS "2006/03/01/"
        if match is None:
            raise PydanticCustomError("year", "expected a 4-digit year between 1500 and 2100")
        return int(match.group(1))

    @field_validator("doi", mode="before")
    @classmethod
    def _doi(cls, value: Any) -> Any:
        expected = "a DOI such as 10.1126/science.284.5411.143"
        return _identifier(value, _DOI.pattern, expected, lambda v: _DOI_PREFIX.sub("", v).lower())

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid(cls, value: Any) -> Any:
        return _identifier(value, r"\d{1,9}", "a PubMed id of 1 to 9 digits", lambda v: _PMID_PREFIX.sub("", v))

    @field_validator("pmcid", mode="before")
    @classmethod
    def _pmcid(cls, value: Any) -> Any:
        return _identifier(value, r"PMC\d{1,9}", "a PMC id such as PMC3426086", str.upper)

    @field_validator("nct", mode="before")
    @classmethod
    def _nct(cls, value: Any) -> Any:
        return _identifier(value, r"NCT\d{8}", "a trial id of NCT and 8 digits", str.upper)


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
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BibliographyError(f"{path}: UTF-16 or UTF-32 text, expected UTF-8 (save the file as UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BibliographyError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None
    if not text.strip():
        raise BibliographyError(f"{path}: empty file, expected {kind} entries")
    parse = {"BibTeX": parse_bibtex, "RIS": parse_ris, "CSL-JSON": parse_csl_json}[kind]
    entries = parse(text, str(path))
    if not entries:
        raise BibliographyError(f"{path}: no {kind} entries found")
    return entries


def _entry(where: str, fields: dict[str, Any]) -> Entry:
    try:
        return Entry.model_validate(fields)
    except ValidationError as exc:
        raise BibliographyError(validation_line(exc, where=where)) from None


def _unique(entries: list[tuple[Entry, str, str]]) -> list[Entry]:
    """The entries (each with where it is, and its place in the file: "line 3", "item 3"), or an error naming the
    second of two with the same key."""
    first: dict[str, str] = {}
    for entry, where, place in entries:
        if entry.key in first:
            raise BibliographyError(f"{where}: duplicate key {entry.key!r} (first at {first[entry.key]})")
        first[entry.key] = place
    return [entry for entry, _, _ in entries]


def _http(url: Any) -> str | None:
    """`url` when it is an http(s) URL, else None."""
    return url.strip() if isinstance(url, str) and _URL.fullmatch(url.strip()) else None


def _trial(url: str | None) -> str | None:
    """The NCT id of a clinicaltrials.gov URL."""
    match = _TRIAL_URL.search(url) if url and len(url) <= MAX_URL else None
    return match.group(1) if match else None


def _person(name: str) -> str:
    """A name as "Family, Given": kept when it has a comma, "Pittenger MF" -> "Pittenger, MF", else as written."""
    name = " ".join(name.split())
    match = _VANCOUVER.fullmatch(name) if "," not in name and len(name) <= MAX_AUTHOR else None
    return f"{match.group(1)}, {match.group(2)}" if match else name


def _is_more(name: str) -> bool:
    return name.strip().rstrip(".").lower() in ("others", "et al")


# --- BibTeX -----------------------------------------------------------------------------------------------------


def parse_bibtex(text: str, source: str) -> list[Entry]:
    """The entries of a BibTeX file's text; `source` (a path or name) is named in errors, its name kept as the
    entries' source."""
    library = bibtexparser.parse_string(text.removeprefix("\ufeff"), parse_stack=[])
    if library.failed_blocks:
        raise BibliographyError(_failed(library.failed_blocks[0], source))
    macros = dict(_MACROS)
    for string in library.strings:
        try:
            macros[string.key.lower()] = _expand(string.value, macros)
        except ValueError as exc:
            raise BibliographyError(f"{source}: @string {string.key!r} (line {_line(string)}): {exc}") from None
    return [_bibtex_entry(entry, macros, source) for entry in library.entries]


def _line(block: Block) -> int | None:
    return None if block.start_line is None else block.start_line + 1


def _failed(block: Block, source: str) -> str:
    """One line for a block bibtexparser could not read: a syntax error, a duplicate key or field."""
    line = _line(block)
    if isinstance(block, DuplicateBlockKeyBlock):
        what = "@string" if isinstance(block.ignore_error_block, String) else "entry"
        return (
            f"{source}: {what} {block.key!r} (line {line}): duplicate key (first at line {_line(block.previous_block)})"
        )
    if isinstance(block, DuplicateFieldKeyBlock):
        fields = ", ".join(sorted(block.duplicate_keys))
        return f"{source}: entry {block.ignore_error_block.key!r} (line {line}): field {fields} given more than once"
    match = _BLOCK_KEY.match(block.raw or "")
    what = "entry"
    if match is not None:
        what = f"@string {match.group(2)!r}" if match.group(1).lower() == "string" else f"entry {match.group(2)!r}"
    reason = " ".join(str(getattr(block.error, "abort_reason", block.error)).split())
    return f"{source}: {what} (line {line}): not valid BibTeX: {reason}"


def _expand(raw: str, macros: dict[str, str]) -> str:
    """A BibTeX value as text: `{...}` and `"..."` parts, numbers and @string macros, joined by `#`."""
    parts: list[str] = []
    index = _skip_space(raw, 0)
    if index == len(raw):
        return ""
    while True:
        index = _skip_space(raw, index)
        if index == len(raw) or raw[index] == "#":
            raise ValueError("expected a value on each side of '#'")
        if raw[index] in '{"':
            end = _closing(raw, index)
            parts.append(raw[index + 1 : end])
            index = end + 1
        else:
            match = _WORD.match(raw, index)  # raw[index] is neither space nor '#': a word starts there
            word = match.group() if match else ""
            if not word.isdigit() and word.lower() not in macros:
                raise ValueError(f"undefined @string macro {word!r}")
            parts.append(word if word.isdigit() else macros[word.lower()])
            index += len(word)
        index = _skip_space(raw, index)
        if index == len(raw):
            return "".join(parts)
        if raw[index] != "#":
            raise ValueError(f"expected '#' between the parts of a value, found {raw[index]!r}")
        index += 1


def _skip_space(raw: str, index: int) -> int:
    while index < len(raw) and raw[index].isspace():
        index += 1
    return index


def _closing(raw: str, start: int) -> int:
    """The index of the quote or brace that closes the one at `start` (braces inside quotes nest)."""
    depth = 0
    for index in range(start + 1, len(raw)):
        char = raw[index]
        if raw[index - 1] == "\\" or char not in '{}"':
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
        elif depth == 0 and char == ("}" if raw[start] == "{" else '"'):
            return index
    raise ValueError("unbalanced braces or quotes")


@cache
def _decoder() -> LatexNodes2Text:
    context = get_default_latex_context_db()  # as bibtexparser's LatexDecodingMiddleware: \url{x} is x
    context.add_context_category("bibliography", prepend=True, macros=[MacroTextSpec("url", simplify_repl="%s")])
    return LatexNodes2Text(latex_context=context, keep_braced_groups=False, math_mode="verbatim")


def _decode(value: str, where: str, limit: int) -> str:
    """LaTeX text as Unicode: accents decoded, braces and formatting commands dropped."""
    if len(value) > 4 * limit:  # decoding takes time: refuse what cannot fit first
        raise BibliographyError(f"{where}: longer than {limit} characters")
    if not _LATEX.search(value):
        return value
    try:
        return _decoder().latex_to_text(value)
    except RecursionError:
        raise BibliographyError(f"{where}: braces nested too deeply") from None


def _identifier_text(value: str) -> str:
    """An identifier as written in BibTeX: `\\url{...}`, braces and the escapes `\\_` `\\%` `\\&` `\\#` undone."""
    value = re.sub(r"^\s*\\url\s*", "", value)
    return re.sub(r"\\([_%&#$])", r"\1", value.replace("{", "").replace("}", ""))


def _bibtex_entry(entry: BibtexEntry, macros: dict[str, str], source: str) -> Entry:
    where = f"{source}: entry {entry.key!r} (line {_line(entry)})"
    raw: dict[str, str] = {}
    for field in entry.fields:
        name = field.key.lower()
        if name in raw:
            raise BibliographyError(f"{where}: field {name!r} given more than once (field names ignore case)")
        raw[name] = field.value

    def value(*names: str) -> tuple[str, str] | None:
        for name in names:
            if name in raw:
                try:
                    return name, _expand(raw[name], macros)
                except ValueError as exc:
                    raise BibliographyError(f"{where}: {name}: {exc}") from None
        return None

    def text(*names: str, limit: int) -> str | None:
        found = value(*names)
        return None if found is None else _decode(found[1], f"{where}: {found[0]}", limit)

    def identifier(name: str) -> str | None:
        found = value(name)
        return None if found is None else _identifier_text(found[1])

    authors, more = _bibtex_names(value("author", "editor"), where)
    url = _http(identifier("url"))
    date = value("year", "date")
    return _entry(
        where,
        {
            "key": entry.key,
            "kind": entry.entry_type,
            "title": text("title", limit=MAX_TITLE),
            "authors": authors,
            "more_authors": more,
            "year": date and date[1],
            "journal": text("journal", "journaltitle", "booktitle", limit=MAX_JOURNAL),
            "doi": identifier("doi"),
            "pmid": identifier("pmid"),
            "pmcid": identifier("pmcid"),
            "nct": identifier("nct") or _trial(url),
            "url": url,
            "abstract": text("abstract", limit=MAX_ABSTRACT),
            "source": Path(source).name,
        },
    )


def _bibtex_names(found: tuple[str, str] | None, where: str) -> tuple[list[str], bool]:
    """BibTeX names ("A and B and others") as "Family, Given" strings, and whether "others" ended the list."""
    if found is None:
        return [], False
    field, text = found
    names = split_multiple_persons_names(text)
    if len(names) > MAX_AUTHORS:
        raise BibliographyError(f"{where}: {field}: {len(names)} names, more than the limit of {MAX_AUTHORS}")
    out: list[str] = []
    more = False
    for number, name in enumerate(names, 1):
        if name.strip().lower() == "others":
            more = True
            continue
        try:
            parts = parse_single_name_into_parts(name)
        except InvalidNameError as exc:
            raise BibliographyError(f"{where}: {field}.{number}: {exc}") from None
        family = _decode(" ".join(parts.von + parts.last), f"{where}: {field}.{number}", MAX_AUTHOR)
        rest = [_decode(" ".join(p), f"{where}: {field}.{number}", MAX_AUTHOR) for p in (parts.first, parts.jr)]
        out.append(", ".join(p for p in (family, *rest) if p.strip()))
    return [name for name in out if name.strip()], more


# --- RIS --------------------------------------------------------------------------------------------------------


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


def _first(value: Any) -> str | None:
    """A RIS value (a string, or a list for repeated tags) as its first non-empty string."""
    values = value if isinstance(value, list) else [value]
    return next((v.strip() for v in values if isinstance(v, str) and v.strip()), None)


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


# --- CSL-JSON ---------------------------------------------------------------------------------------------------


def parse_csl_json(text: str, source: str) -> list[Entry]:
    """The entries of a CSL-JSON file's text: a JSON array of CSL items, or an object {"items": [...]}."""
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise BibliographyError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise BibliographyError(f"{source}: invalid JSON: nested too deeply") from None
    except ValueError:  # an integer literal past Python's digit limit
        raise BibliographyError(f"{source}: invalid JSON: a number with too many digits") from None
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
    where = f"{source}: entry {str(raw_id)!r} (item {index})"
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


# --- a wiki page's References section ---------------------------------------------------------------------------


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
    doi, pmid, url = _REF_DOI.search(body), _REF_PMID.search(body), _URL.search(body)
    while url and re.match(r"https?://(?:dx\.)?doi\.org/", url.group(), re.I):
        url = _URL.search(body, url.end())
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
