"""BibTeX: `@string` macros and `#` concatenation are expanded; `@comment`, `@preamble` and text between entries
are ignored; field names are case-insensitive. Title, author, journal and abstract are LaTeX-decoded, identifiers
are not.

A macro is expanded only where a kept field uses it, and a file's values may expand to `MAX_EXPANDED` characters
in all, counted before they are joined: `@string{b = a # a}` forty times over is 1 KB of text and 2**40
characters expanded, refused at the macro that passes the limit."""

from __future__ import annotations

import logging
import re
import unicodedata
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
from safeio.errors import MAX_SHOWN, short_repr

# Expansion puts a macro's text where its name was. A real file's values expand to about the file's own size (a
# journal name or month macro used in every entry adds a few MB to the largest file read, MAX_FILE_BYTES = 20 MiB),
# so twice that is never reached; it bounds what nested macros cost: at most 40 Mi characters (160 MiB) held, and
# the time to join them.
MAX_EXPANDED = 2 * 20 * 1024 * 1024
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
_MACROS = {m[:3].lower(): m for m in (*_MONTHS, "November", "December")}  # BibTeX's predefined: jan -> January
_WORD = re.compile(r"[^\s#]+")  # a macro name or a number in a BibTeX value
_LATEX = re.compile(r"[\\{}$~%]|--|``|''")  # text without any of these decodes to itself
# What pylatexenc does to accents on a letter, escaped characters, a braced letter macro, dashes, closing quotes,
# `~` and braces (the pieces of nearly every BibTeX title and name), about 30 times as fast. Anything else, `&` `$`
# `%` a backquote or another command included, goes to pylatexenc.
_SIMPLE_LATEX = re.compile(
    r"""\\(?:(?P<accent>[`'^"~=.])(?P<bare>[A-Za-z])?|(?P<named>[cHkbdruv]))(?(bare)|\{(?P<arg>[A-Za-z]|\\i)\})
    | \\(?P<escape>[&$%\#_{}])
    | \{\\(?P<symbol>ss|ae|AE|oe|OE|aa|AA|o|O|l|L)\}
    | (?P<special>---?|''|[~{}])
    | [^\\{}$%&~`'\-]+|['\-]""",
    re.X,
)
_COMBINING = dict(  # accent -> combining character, as pylatexenc's unicode_accents_list
    zip(
        "'`\"^~=.cHkbdruv",
        "\u0301\u0300\u0308\u0302\u0303\u0304\u0307\u0327\u030b\u0328\u0331\u0323\u030a\u0306\u030c",
        strict=True,
    )
)
_SYMBOLS = {
    **dict(zip(("ss", "ae", "AE", "oe", "OE", "aa", "AA", "o", "O", "l", "L"), "ßæÆœŒåÅøØłŁ", strict=True)),
    **{"---": "\u2014", "--": "\u2013", "''": "\u201d", "~": "\xa0", "{": "", "}": ""},
}
_BLOCK_KEY = re.compile(r"@\s*(\w+)\s*[{(]\s*([^\s,={}()\"#]+)")

logging.getLogger("bibtexparser").addHandler(logging.NullHandler())  # its warnings become our one-line errors


def parse_bibtex(text: str, source: str) -> list[Entry]:
    """The entries of a BibTeX file's text; `source` (a path or name) is named in errors, its name kept as the
    entries' source."""
    library = bibtexparser.parse_string(text.removeprefix("\ufeff"), parse_stack=[])
    if library.failed_blocks:
        raise BibliographyError(_failed(library.failed_blocks[0], source))
    macros = _Macros()
    for string in library.strings:
        try:
            macros.define(string.key, string.value)
        except ValueError as exc:
            raise BibliographyError(
                f"{source}: @string {short_repr(string.key)} (line {_line(string)}): {exc}"
            ) from None
    return [_bibtex_entry(entry, macros, source) for entry in library.entries]


def _line(block: Block) -> int | None:
    return None if block.start_line is None else block.start_line + 1


def _failed(block: Block, source: str) -> str:
    """One line for a block bibtexparser could not read: a syntax error, a duplicate key or field."""
    line = _line(block)
    if isinstance(block, DuplicateBlockKeyBlock):
        what = "@string" if isinstance(block.ignore_error_block, String) else "entry"
        first = _line(block.previous_block)
        return f"{source}: {what} {short_repr(block.key)} (line {line}): duplicate key (first at line {first})"
    if isinstance(block, DuplicateFieldKeyBlock):
        fields = _clip(", ".join(sorted(block.duplicate_keys)), MAX_SHOWN)
        key = short_repr(block.ignore_error_block.key)
        return f"{source}: entry {key} (line {line}): field {fields} given more than once"
    match = _BLOCK_KEY.match(block.raw or "")
    what = "entry"
    if match is not None:
        kind = "@string" if match.group(1).lower() == "string" else "entry"
        what = f"{kind} {short_repr(match.group(2))}"
    reason = " ".join(str(getattr(block.error, "abort_reason", block.error)).split())
    return f"{source}: {what} (line {line}): not valid BibTeX: {_clip(reason, 2 * MAX_SHOWN)}"


def _clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, `...` marking the cut: a key or field name may be megabytes long."""
    return text if len(text) <= limit else f"{text[:limit]}..."


class _Macros:
    """@string macros, each kept as its parts (text, or the index of a macro defined before it) and its length, and
    expanded only when a field uses it. Every character a file's values expand to (each macro once, each field
    used) is counted against `MAX_EXPANDED` before it is joined."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}  # lower-case name -> position in parts and lengths
        self.parts: list[list[str | int]] = []
        self.lengths: list[int] = []
        self.texts: dict[int, str] = {}  # the expanded text of the macros used so far
        self.spent = 0
        for name, month in _MACROS.items():
            self.define(name, f"{{{month}}}")

    def define(self, name: str, raw: str) -> None:
        """Adds the @string macro `name` (ValueError: bad syntax, an undefined macro, or past the limit)."""
        parts = self._parse(raw)
        length = self._length(parts)
        self._charge(length)
        self.index[name.lower()] = len(self.parts)
        self.parts.append(parts)
        self.lengths.append(length)

    def expand(self, raw: str) -> str:
        """A field's value as text (ValueError: bad syntax, an undefined macro, or past the limit)."""
        parts = self._parse(raw)
        self._charge(self._length(parts))
        return "".join(part if isinstance(part, str) else self._text(part) for part in parts)

    def _length(self, parts: list[str | int]) -> int:
        return sum(len(part) if isinstance(part, str) else self.lengths[part] for part in parts)

    def _charge(self, length: int) -> None:
        self.spent += length
        if self.spent > MAX_EXPANDED:
            raise ValueError(
                f"expanding macros passes the limit of {MAX_EXPANDED} characters "
                "(a file's @string and field values together)"
            )

    def _text(self, index: int) -> str:
        """The text of macro `index`, joining first the macros it uses (defined before it) that are not yet."""
        todo = [index]
        while todo:
            top = todo[-1]
            if top in self.texts:
                todo.pop()
                continue
            missing = {p for p in self.parts[top] if isinstance(p, int) and p not in self.texts}
            if missing:
                todo.extend(sorted(missing))
                continue
            self.texts[top] = "".join(p if isinstance(p, str) else self.texts[p] for p in self.parts[top])
            todo.pop()
        return self.texts[index]

    def _parse(self, raw: str) -> list[str | int]:
        """A BibTeX value's parts: `{...}` and `"..."` text, numbers and @string macros, joined by `#`."""
        parts: list[str | int] = []
        index = _skip_space(raw, 0)
        if index == len(raw):
            return parts
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
                if not word.isdigit() and word.lower() not in self.index:
                    raise ValueError(f"undefined @string macro {short_repr(word)}")
                parts.append(word if word.isdigit() else self.index[word.lower()])
                index += len(word)
            index = _skip_space(raw, index)
            if index == len(raw):
                return parts
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
    """LaTeX text as Unicode: accents decoded, braces and formatting commands dropped (by `_simple_latex` where
    it can, by pylatexenc otherwise)."""
    if len(value) > 4 * limit:  # decoding takes time: refuse what cannot fit first
        raise BibliographyError(f"{where}: longer than {limit} characters")
    if not _LATEX.search(value):
        return value
    simple = _simple_latex(value)
    if simple is not None:
        return simple
    try:
        return _decoder().latex_to_text(value)
    except RecursionError:
        raise BibliographyError(f"{where}: braces nested too deeply") from None


def _simple_latex(value: str) -> str | None:
    """`value` decoded as pylatexenc decodes it, when its only LaTeX is what `_SIMPLE_LATEX` reads and its braces
    balance and nest at most 16 deep; else None."""
    out: list[str] = []
    depth = end = 0
    for match in _SIMPLE_LATEX.finditer(value):
        if match.start() != end:
            return None
        end = match.end()
        accent, escape, symbol, special = match.group("accent", "escape", "symbol", "special")
        if accent or match.group("named"):
            letter = (match.group("bare") or match.group("arg")).replace("\\i", "i")
            out.append(unicodedata.normalize("NFC", letter + _COMBINING[accent or match.group("named")]))
        elif escape:
            out.append(escape)
        elif symbol or special:
            depth += {"{": 1, "}": -1}.get(special, 0)
            if not 0 <= depth <= 16:
                return None
            out.append(_SYMBOLS[symbol or special])
        else:
            out.append(match.group())
    return "".join(out) if end == len(value) and depth == 0 else None


def _identifier_text(value: str) -> str:
    """An identifier as written in BibTeX: `\\url{...}`, braces and the escapes `\\_` `\\%` `\\&` `\\#` undone."""
    value = re.sub(r"^\s*\\url\s*", "", value)
    return re.sub(r"\\([_%&#$])", r"\1", value.replace("{", "").replace("}", ""))


def _bibtex_entry(entry: BibtexEntry, macros: _Macros, source: str) -> Entry:
    where = f"{source}: entry {short_repr(entry.key)} (line {_line(entry)})"
    raw: dict[str, str] = {}
    for field in entry.fields:
        name = field.key.lower()
        if name in raw:
            raise BibliographyError(f"{where}: field {short_repr(name)} given more than once (field names ignore case)")
        raw[name] = field.value

    def value(*names: str) -> tuple[str, str] | None:
        for name in names:
            if name in raw:
                try:
                    return name, macros.expand(raw[name])
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
            shown = f"cannot split the name {short_repr(exc.name)} into parts: {exc.reason}"
            raise BibliographyError(f"{where}: {field}.{number}: {shown}") from None
        family = _decode(" ".join(parts.von + parts.last), f"{where}: {field}.{number}", MAX_AUTHOR)
        rest = [_decode(" ".join(p), f"{where}: {field}.{number}", MAX_AUTHOR) for p in (parts.first, parts.jr)]
        out.append(", ".join(p for p in (family, *rest) if p.strip()))
    return [name for name in out if name.strip()], more
