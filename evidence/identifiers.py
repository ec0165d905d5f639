"""Citations as written (PMID:123, 10.xxxx/..., NCT01234567, @bibkey, a URL): parsed to one normal form, found in
free text with the sentence around them, and told apart from near misses (`PMID: 12ab`, `NCT123`), which are
malformed rather than ignored. PMIDs, DOIs and NCT ids are ASCII: one written with a non-ASCII digit (`PMID:１２３`),
an invisible character (a zero-width space) or, in a DOI, any other non-ASCII character looks like a real one and
never resolves, so it is malformed, and the character is named.

Every pattern runs in time linear in the text: no two quantifiers can match the same characters, and the sentences
of all the citations of a text come from one pass over it."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Kind = Literal["pmid", "doi", "nct", "bibkey", "url"]

# punctuation that ends a sentence, not an identifier (with the full-width forms of East Asian text)
_TRAILING = ".,;:)]}>'\"”’`。、，．；：）］｝」』】"
# Characters that show nothing (Unicode's default-ignorable code points: zero-width spaces and joiners, direction
# marks, the soft hyphen, variation selectors, BOM) and combining marks: inside an identifier they hide what it is.
_HIDDEN = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_ENDS = rf"(?![\w{_HIDDEN}{_MARKS}])"  # an identifier's digits end: no letter, digit, hidden character or mark follows
# The forms bibliography entries are read with too (evidence.bibliography): one definition of each.
DOI = re.compile(r"10\.[0-9]{4,9}/[!-~]+")  # the suffix is printable ASCII
DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.I)
URL = re.compile(r"https?://\S+", re.I)
TRIAL_URL = re.compile(r"clinicaltrials\.gov/\S*?(NCT[0-9]{8})", re.I)  # the NCT id in a registry URL

_PMID = re.compile(r"PMID:?\s?([0-9]{1,9})", re.I)
_DOI = re.compile(rf"{DOI_PREFIX.pattern[1:]}?({DOI.pattern})", re.I)
_NCT = re.compile(r"NCT([0-9]{8})", re.I)
_BIBKEY = re.compile(r"\[?@([A-Za-z][\w:.-]{0,63})\]?")
_PUBMED_URL = re.compile(
    r"https?://(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/([0-9]{1,9})/?", re.I
)
_TRIAL_URL = re.compile(rf"https?://(?:www\.)?{TRIAL_URL.pattern}", re.I)
# Near misses, as parse reads them: written as a DOI or NCT id with any digits, but not well formed.
_NEAR_DOI = re.compile(r"doi:|(?:https?://(?:dx\.)?doi\.org/)?10\.\d+/", re.I)
_NEAR_NCT = re.compile(rf"NCT[\d{_HIDDEN}{_MARKS}]+", re.I)

_DOI_SUFFIX = r"[^\s\]\)>,;\"。、，；：）］」』】]+"  # in running text: up to a space or the punctuation after it
# In running text: well-formed citations and the near misses, in one pass (alternatives tried left to right).
_IN_TEXT = re.compile(
    r"(?=[phdn1\[@])"  # where one of them can start: tried first, so the alternatives are tried at few places
    rf"(?:(?P<pmid>\bPMID:?\s?[0-9]{{1,9}}{_ENDS})"
    r"|(?P<bad_pmid>\bPMID:?\s?\S+)"
    r"|(?P<url>https?://\S+)"
    rf"|(?P<doi>(?:\bdoi:\s?)?\b10\.[0-9]{{4,9}}/{_DOI_SUFFIX})"
    rf"|(?P<bad_doi>\bdoi:\s?\S+|\b10\.\d{{4,9}}/{_DOI_SUFFIX})"
    rf"|(?P<nct>\bNCT[0-9]{{8}}{_ENDS})"
    rf"|(?P<bad_nct>\bNCT[{_HIDDEN}]*+\d[\d{_HIDDEN}{_MARKS}]*+(?!\w))"
    r"|(?P<bibkey>(?<![\w.@])\[@[A-Za-z][\w:.-]{0,63}\]|(?<![\w.@/])@[A-Za-z][\w:-]{0,63}(?![\w@]|\.\w)))",
    re.I,
)
_UNSEEN = re.compile(f"[{_HIDDEN}]")
EXPECTED = {
    "pmid": "a PMID is PMID: and 1 to 9 digits",
    "doi": "a DOI is 10.<4-9 digits>/<suffix>",
    "nct": "a trial id is NCT and 8 digits",
}
# A sentence ends at . ! or ? before a space, except after common abbreviations ("et al.", "e.g.", "Fig."); the
# mark comes first, so the search skips to the next mark.
_SENTENCE_END = re.compile(r"[.!?](?<!\bal.)(?<!\be\.g.)(?<!\bi\.e.)(?<!\bFig.)(?<!\bvs.)(?<!\bNo.)(?=\s)")


def odd_character(identifier: str) -> str | None:
    """What makes `identifier` (a PMID, DOI or NCT id, as written) look right and read wrong: its first non-ASCII
    digit, invisible character, combining mark or other non-ASCII character, e.g. "non-ASCII digit U+FF11"; None
    when it is ASCII."""
    for char in identifier:
        if char.isascii():
            continue
        category = unicodedata.category(char)
        if category == "Nd":
            what = "non-ASCII digit"
        elif category == "Cf" or _UNSEEN.match(char):
            what = "invisible character"
        elif category.startswith("M"):
            what = "combining mark"
        elif category.startswith("Z"):
            what = "non-ASCII space"
        else:
            what = "non-ASCII character"
        return f"{what} U+{ord(char):04X}"
    return None


@dataclass(frozen=True)
class Citation:
    kind: Kind
    value: str  # normal form: digits for PMIDs, lower-case DOIs, upper-case NCT ids, keys as written, URLs
    text: str  # as written

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)


@dataclass(frozen=True)
class Malformed:
    """Something written as a citation of `kind` that is not one."""

    kind: Kind
    text: str

    @property
    def expected(self) -> str:
        return EXPECTED.get(self.kind, "expected a PMID, a DOI, an NCT id, a @bibkey or a URL")

    @property
    def reason(self) -> str:
        """What is wrong with it and what was expected, e.g. "non-ASCII digit U+FF11; a PMID is PMID: and ..."."""
        odd = odd_character(self.text) if self.kind in EXPECTED else None
        return f"{odd}; {self.expected}" if odd else self.expected


class Sentences:
    """The sentences of one text, for the citations found in it: its sentence ends are found once, in one pass."""

    def __init__(self, text: str, limit: int = 600) -> None:
        self.text, self.limit = text, limit
        self.ends = [m.end() for m in _SENTENCE_END.finditer(text)]

    def around(self, start: int, end: int) -> str:
        """The sentence holding text[start:end] (within its line, at most `limit` characters around it). A citation
        standing alone after the sentence it supports ("... in early trials. [@rani2015]") gets that sentence."""
        text, ends, reach = self.text, self.ends, max(0, start - self.limit)
        line_start = text.rfind("\n", reach, start) + 1 or reach
        line_end = text.find("\n", end, end + self.limit)
        line_end = line_end if line_end >= 0 else min(len(text), end + self.limit)
        i = bisect_left(ends, start)  # the sentence ends before the citation: ends[:i]
        before = [e for e in ends[max(0, i - 2) : i] if e > line_start]
        j = bisect_right(ends, end)  # the first after it
        first = before[-1] if before else line_start
        last = ends[j] if j < len(ends) and ends[j] < line_end else line_end
        if before and not text[first:start].strip():  # the citation opens its "sentence": it belongs to the one before
            first = before[-2] if len(before) > 1 else line_start
        return " ".join(text[first:last].split())


@dataclass(frozen=True)
class Found:
    citation: Citation | Malformed
    span: tuple[int, int]  # where it is in the text
    sentences: Sentences = field(repr=False, compare=False)

    @cached_property
    def sentence(self) -> str:
        """The sentence of the text it appears in (made when first read: most citations repeat an earlier one)."""
        return self.sentences.around(*self.span)


def parse(text: str) -> Citation | Malformed:
    """One citation as evidence gives it (the whole string)."""
    written = text.strip()
    candidate = written.rstrip(_TRAILING) if not written.startswith("[@") else written
    if m := _PUBMED_URL.fullmatch(candidate):
        return Citation("pmid", str(int(m.group(1))), written)
    if m := _TRIAL_URL.fullmatch(candidate):
        return Citation("nct", m.group(1).upper(), written)
    if m := _PMID.fullmatch(candidate):
        number = int(m.group(1))
        return Citation("pmid", str(number), written) if number > 0 else Malformed("pmid", written)
    if candidate.upper().startswith("PMID"):
        return Malformed("pmid", written)
    if m := _DOI.fullmatch(candidate):
        return Citation("doi", m.group(1).rstrip(_TRAILING).lower(), written)
    if _NEAR_DOI.match(candidate):
        return Malformed("doi", written)
    if m := _NCT.fullmatch(candidate):
        return Citation("nct", "NCT" + m.group(1), written)
    if _NEAR_NCT.fullmatch(candidate):
        return Malformed("nct", written)
    if m := _BIBKEY.fullmatch(candidate):
        return Citation("bibkey", m.group(1).rstrip("."), written)
    if URL.fullmatch(candidate):
        return Citation("url", url_form(candidate), written)
    return Malformed("url", written)


def url_form(url: str) -> str:
    """A URL compared without its scheme, a leading www., a trailing slash or a fragment."""
    bare = re.sub(r"^https?://(?:www\.)?", "", url.strip().rstrip(_TRAILING), flags=re.I).split("#", 1)[0]
    host, _, rest = bare.partition("/")
    return f"{host.lower()}/{rest}".rstrip("/")


def find(text: str) -> list[Found]:
    """Every citation and near miss in `text`, in order, each with its sentence."""
    found, sentences = [], Sentences(text)
    read: dict[tuple[str, str], Citation | Malformed] = {}  # each form written is parsed once
    for m in _IN_TEXT.finditer(text):
        kind = m.lastgroup or ""
        written = m.group(0).rstrip(_TRAILING) if kind != "bibkey" else m.group(0)
        citation = read.get((kind, written))
        if citation is None:
            bad = kind.startswith("bad_")
            citation = Malformed(kind.removeprefix("bad_"), written) if bad else parse(written)  # type: ignore[arg-type]
            read[(kind, written)] = citation
        found.append(Found(citation, m.span(), sentences))
    return found
