"""BibTeX: `@string` macros and `#` concatenation are expanded; `@comment`, `@preamble` and text between entries
are ignored; field names are case-insensitive. Title, author, journal and abstract are LaTeX-decoded, identifiers
are not."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names
from bibtexparser.model import Block, DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, String
from bibtexparser.model import Entry as BibtexEntry
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from evidence.bibliography.entry import (
    MAX_ABSTRACT,
    MAX_AUTHOR,
    MAX_AUTHORS,
    MAX_JOURNAL,
    MAX_TITLE,
    BibliographyError,
    Entry,
    _entry,
    _http,
    _trial,
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
_MACROS = {m[:3].lower(): m for m in (*_MONTHS, "November", "December")}  # BibTeX's predefined: jan -> January
_WORD = re.compile(r"[^\s#]+")  # a macro name or a number in a BibTeX value
_LATEX = re.compile(r"[\\{}$~%]|--|``|''")  # text without any of these decodes to itself
_BLOCK_KEY = re.compile(r"@\s*(\w+)\s*[{(]\s*([^\s,={}()\"#]+)")

logging.getLogger("bibtexparser").addHandler(logging.NullHandler())  # its warnings become our one-line errors


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
