"""Read wiki pages: Markdown with YAML front matter, or the seed page's plain-text dump, as they are.

A Markdown page starts with `---`, a YAML mapping (slug, title, entity_type, entities) and `---`.
A dump page is what the seed file holds: a "📗 Cite This Artifact" line followed by the title, an HTML
infobox (name, type), section headings as bare lines, `[@bibkey]` citations, internal links, and a
metadata table of `| key | value |` rows holding the slug and the entity type.

Pages are untrusted text: a page is at most `MAX_PAGE_BYTES`, is read without following a symbolic link,
and every pattern here runs in time linear in the page (no class can overlap the delimiter that ends it).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from safeio.errors import validation_line
from safeio.files import UnsafePathError, read_regular
from safeio.text import no_controls
from safeio.yaml import YamlDocument, YamlError, parse_yaml
from wiki.block import END, START
from wiki.entities import canonical
from wiki.errors import PageError

PageFormat = Literal["markdown", "dump"]
T = TypeVar("T")
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,199}$")]
NoControl = AfterValidator(no_controls)  # titles are printed on terminals and pages
CITE_LINE = "📗 Cite This Artifact"
MAX_PAGE_BYTES = 1 << 20  # 1 MiB: the seed page is 9 kB

_CITATION = re.compile(r"\[@([A-Za-z0-9][\w:.-]{0,63})\]")
# Link text stops at any bracket and the target at any parenthesis, so a run of `[` or of `[x](/` cannot make
# every start rescan the rest of the page (the old `[^\]\n]+` and `[^)\s]*` were quadratic on such runs).
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((/[^()\s]*)\)")
_META_ROW = re.compile(r"^\| ([A-Za-z_][\w]*) \| (.*) \|$")
_INFOBOX_FIELD = r'<td class="label">{}</td>\s*<td>(.*?)</td>'
_TAG = re.compile(r"<[^<>]+>")  # a tag cannot contain `<`: a run of `<` is not rescanned from each one
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+)$", re.M)
# A "Related Analyses" item: `- [Title](link)` then anything (the seed's 🔄), or `- Title`. Matched on one line at a
# time, from its start; the title stops at any bracket and the link at any parenthesis or space: linear.
_GAP_ITEM = re.compile(r"[-*][ \t]+\[([^\[\]\n]+)\]\(([^()\s]*)\)")
GAPS_HEADING = "related analyses"
MAX_GAPS = 200  # a page's gaps; more is refused, not cut
MAX_GAP_TITLE = 500
MAX_GAP_LINK = 500


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    slug: Slug
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoControl]
    entity_type: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), NoControl] | None = None
    entities: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("entities")
    @classmethod
    def _canonical(cls, value: list[str]) -> list[str]:
        return sorted({canonical(str(e)) for e in value})


@dataclass(frozen=True)
class ParsedPage:
    path: Path
    format: PageFormat
    slug: str
    title: str
    entity_type: str | None
    entities: list[str]  # explicit ones (front matter); text-derived ones are added on import
    markdown: str  # the page body as Markdown, for display and entity extraction
    sections: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    infobox: dict[str, str] = field(default_factory=dict)
    gaps: list[tuple[str, str | None]] = field(default_factory=list)  # "Related Analyses": (title, link), in order


def read_page(path: Path) -> ParsedPage:
    """Read and parse one page file: a regular file (a symbolic link is refused, not followed) of at most
    `MAX_PAGE_BYTES`. PageError names the file and the field at fault."""
    try:
        data, _ = read_regular(path, limit=MAX_PAGE_BYTES)
    except UnsafePathError as exc:
        raise PageError(str(exc)) from None
    return parse_page(path, data)


def parse_page(path: Path, data: bytes) -> ParsedPage:
    """Parse a page's bytes as they are (no newline translation); `path` is only named in errors."""
    if len(data) > MAX_PAGE_BYTES:
        raise PageError(f"{path}: {len(data)} bytes, more than the limit of {MAX_PAGE_BYTES} bytes for a page")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PageError(f"{path}: not UTF-8 text") from None
    if text.startswith("---"):
        return parse_markdown(path, text)
    if CITE_LINE in text or _META_ROW.search(text) is not None:
        return parse_dump(path, text)
    raise PageError(
        f"{path}: not a wiki page: expected YAML front matter starting with '---' or a page dump "
        f"with a '{CITE_LINE}' line and a '| slug | ... |' metadata row"
    )


def parse_markdown(path: Path, text: str) -> ParsedPage:
    match = re.match(r"^---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|$)", text, re.S | re.M)
    if match is None:
        raise PageError(f"{path}: front matter opened with '---' is never closed by a '---' line")
    try:  # the guarded loader: size, depth and number-length caps, no duplicate keys; lines count from the file
        document = parse_yaml(match.group(1), source=str(path), line_offset=1)
    except YamlError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        problem = exc.message.removeprefix("invalid YAML: ")
        raise PageError(f"{where}: invalid YAML front matter: {problem}") from None
    if not isinstance(document.data, dict):
        raise PageError(f"{path}: front matter must be a mapping (slug, title, entity_type, entities)")
    try:
        front = FrontMatter.model_validate(document.data)
    except ValidationError as exc:
        line = partial(_field_line, path, document)
        raise PageError(validation_line(exc, where=line)) from None
    body = text[match.end() :]
    return ParsedPage(
        path=path,
        format="markdown",
        slug=front.slug,
        title=front.title,
        entity_type=front.entity_type,
        entities=front.entities,
        markdown=body,
        sections=[m.group(1).strip() for m in _HEADING.finditer(body)],
        citations=_unique(_CITATION.findall(body)),
        links=_unique(_LINK.findall(body)),
        gaps=related_analyses(path, body.splitlines(), first=text[: match.end()].count("\n") + 1),
    )


def parse_dump(path: Path, text: str) -> ParsedPage:
    lines = text.splitlines()
    title = ""
    if CITE_LINE in lines:
        after = lines.index(CITE_LINE) + 1
        title = lines[after].strip() if after < len(lines) else ""
    meta = {m.group(1): m.group(2).strip() for m in map(_META_ROW.match, lines) if m}
    infobox = {
        name.lower(): plain_text(m.group(1))
        for name in ("Name", "Type")
        if (m := re.search(_INFOBOX_FIELD.format(name), text, re.S))
    }
    title = title or infobox.get("name", "")
    if not title:
        raise PageError(f"{path}: title: no line after '{CITE_LINE}' and no infobox Name")
    try:
        no_controls(title)
    except ValueError as exc:
        raise PageError(f"{path}: title: {exc}") from None
    slug = meta.get("slug", "")
    if not slug:
        raise PageError(f"{path}: slug: the metadata table has no '| slug | ... |' row")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,199}", slug):
        raise PageError(f"{path}: slug: {slug!r} is not a page slug (lower-case letters, digits, '-' and '_')")
    entity_type = meta.get("entity_type") or infobox.get("type", "").lower() or None
    markdown, sections = dump_to_markdown(text)
    return ParsedPage(
        path=path,
        format="dump",
        slug=slug,
        title=title[:300],
        entity_type=None if entity_type in (None, "None") else entity_type,
        entities=[],
        markdown=markdown,
        sections=sections,
        citations=_unique(_CITATION.findall(text)),
        links=_unique(_LINK.findall(text)),
        infobox=infobox,
        gaps=related_analyses(path, lines),
    )


def dump_to_markdown(text: str) -> tuple[str, list[str]]:
    """The dump's article as Markdown: bare heading lines become `##`, the HTML infobox, the metadata
    table, the embed boilerplate and a Related Hypotheses block are left out. Returns (markdown, sections)."""
    text = strip_block(text)
    lines = text.splitlines()
    if CITE_LINE in lines:
        lines = lines[lines.index(CITE_LINE) + 2 :]
    out: list[str] = []
    sections: list[str] = []
    in_table = skip_related = False
    for raw in lines:
        line = raw.rstrip()
        if line.startswith("<table"):
            in_table = True
        if in_table:
            in_table = not line.startswith("</table>")
            continue
        if line.startswith(("▸Metadata", "| ", "<iframe", "Use ?embed=1", "No provenance edges")):
            break
        if line == "Related Hypotheses":
            skip_related = True
            continue
        if skip_related:
            if line.startswith(("- [", "From the [")):
                continue
            skip_related = False
        if _is_heading(line):
            sections.append(line)
            out += ["", f"## {line}", ""]
        elif line.startswith("- "):
            out.append(line)
        elif line:
            out += ["", line] if out and out[-1].startswith("- ") else [line, ""]
    return "\n".join(out).strip() + "\n", sections


def on_file_lines(page: ParsedPage, text: str) -> str:
    """`page.markdown` with each line on the line of `text` (its file) that it came from, blank lines between, so a
    line number found in it (a References item) is the file's. A Markdown page's body moves down past its front
    matter; a dump's kept lines are matched in order (a heading became `## Heading`). Where a line cannot be
    matched (a Related Hypotheses block that was cut out of the middle of a line) the Markdown is returned as it
    is, its lines counting from the body."""
    if page.format == "markdown":
        return "\n" * text[: len(text) - len(page.markdown)].count("\n") + page.markdown
    raw = text.splitlines()
    out = [""] * len(raw)
    at = 0
    for line in page.markdown.split("\n"):
        if not line.strip():
            continue
        while at < len(raw) and line.strip() not in (raw[at].strip(), f"## {raw[at].rstrip()}".strip()):
            at += 1
        if at == len(raw):
            return page.markdown
        out[at] = line
        at += 1
    return "\n".join(out)


def related_analyses(path: Path, lines: list[str], first: int = 1) -> list[tuple[str, str | None]]:
    """The page's open knowledge gaps: the items under each "Related Analyses" heading (a dump's bare
    `Related Analyses:` line, a Markdown `## Related Analyses`), as (title, link or None), in page order, one per
    link (or title); `first` is the number of `lines`' first line in the file. The items run until the first line
    that is neither an item nor blank. A title over MAX_GAP_TITLE characters, a link over MAX_GAP_LINK, a control
    character, or more than MAX_GAPS gaps is a PageError naming the file's line."""
    gaps: dict[str, tuple[str, str | None]] = {}
    inside = False
    for number, raw in enumerate(lines, first):
        line = raw.strip()
        if _is_gaps_heading(line):
            inside = True
            continue
        if not inside or not line:
            continue
        if not line.startswith(("- ", "* ", "-\t", "*\t")):
            inside = False
            continue
        title, link = _gap_item(f"{path}:{number}", line)
        if title:
            gaps.setdefault(link or title, (title, link))
        if len(gaps) > MAX_GAPS:
            raise PageError(f"{path}:{number}: Related Analyses: more than {MAX_GAPS} gaps on one page (the limit)")
    return list(gaps.values())


def _is_gaps_heading(line: str) -> bool:
    if len(line) > 40:  # the heading's words and a few marks: a long line is not it (and is not rescanned)
        return False
    return line.lstrip("#").strip().rstrip(":").strip().lower() == GAPS_HEADING


def _gap_item(where: str, line: str) -> tuple[str, str | None]:
    """One item's (title, link): `- [Title](link) ...` or `- Title`; checked for length and control characters."""
    match = _GAP_ITEM.match(line)
    title, link = (match.group(1), match.group(2) or None) if match else (line[1:], None)
    for name, value, limit in (("title", title, MAX_GAP_TITLE), ("link", link or "", MAX_GAP_LINK)):
        try:
            no_controls(value)  # before the spaces are folded: str.split() takes some controls for spaces
        except ValueError as exc:
            raise PageError(f"{where}: Related Analyses: a gap's {name} {exc}") from None
        if len(value) > limit:
            raise PageError(f"{where}: Related Analyses: a gap's {name} is {len(value)} characters, more than {limit}")
    return " ".join(title.split()), link


def _is_heading(line: str) -> bool:
    return (
        0 < len(line) <= 60
        and not line.startswith(("-", "<", "|", "[", "#", "http"))
        and not line.endswith((".", ",", ";", ":", ")", "]"))
        and "[@" not in line
    )


def strip_block(text: str) -> str:
    """`text` without a hypodebate Related Hypotheses block (so a page never links to itself by its own block)."""
    start, end = text.find(START), text.find(END)
    if start == -1 or end == -1 or end < start:
        return text
    return text[:start] + text[end + len(END) :]


def _field_line(path: Path, document: YamlDocument, loc: tuple[int | str, ...]) -> str:
    line = document.line_at(loc)
    return f"{path}:{line}" if line is not None else str(path)


def plain_text(cell: str) -> str:
    """An HTML cell's text: tags dropped, entities decoded, surrounding space trimmed."""
    return html.unescape(_TAG.sub("", cell)).strip()


def _unique(items: list[T]) -> list[T]:
    return list(dict.fromkeys(items))
