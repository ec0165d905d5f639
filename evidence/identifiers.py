"""Citations as written (PMID:123, 10.xxxx/..., NCT01234567, @bibkey, a URL): parsed to one normal form, found in
free text with the sentence around them, and told apart from near misses (`PMID: 12ab`, `NCT123`), which are
malformed rather than ignored.

Every pattern runs in time linear in the text: no two quantifiers can match the same characters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["pmid", "doi", "nct", "bibkey", "url"]

_TRAILING = ".,;:)]}>'\"”’`"  # punctuation that ends a sentence, not an identifier
# The forms bibliography entries are read with too (evidence.bibliography): one definition of each.
DOI = re.compile(r"10\.\d{4,9}/\S+")
DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.I)
URL = re.compile(r"https?://\S+", re.I)
TRIAL_URL = re.compile(r"clinicaltrials\.gov/\S*?(NCT\d{8})", re.I)  # the NCT id in a registry URL

_PMID = re.compile(r"PMID:?\s?(\d{1,9})", re.I)
_DOI = re.compile(rf"{DOI_PREFIX.pattern[1:]}?({DOI.pattern})", re.I)
_NCT = re.compile(r"NCT(\d{8})", re.I)
_BIBKEY = re.compile(r"\[?@([A-Za-z][\w:.-]{0,63})\]?")
_PUBMED_URL = re.compile(
    r"https?://(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/(\d{1,9})/?", re.I
)
_TRIAL_URL = re.compile(rf"https?://(?:www\.)?{TRIAL_URL.pattern}", re.I)

# In running text: well-formed citations and the near misses, in one pass (alternatives tried left to right).
_IN_TEXT = re.compile(
    r"(?P<pmid>\bPMID:?\s?\d{1,9}\b)"
    r"|(?P<bad_pmid>\bPMID:?\s?\S+)"
    r"|(?P<url>https?://\S+)"
    r"|(?P<doi>(?:\bdoi:\s?)?\b10\.\d{4,9}/[^\s\]\)>,;\"]+)"
    r"|(?P<bad_doi>\bdoi:\s?\S+)"
    r"|(?P<nct>\bNCT\d{8}\b)"
    r"|(?P<bad_nct>\bNCT\d{1,7}\b|\bNCT\d{9,}\b)"
    r"|(?P<bibkey>(?<![\w.@])\[@[A-Za-z][\w:.-]{0,63}\]|(?<![\w.@/])@[A-Za-z][\w:-]{0,63}(?![\w@]|\.\w))",
    re.I,
)
EXPECTED = {
    "pmid": "a PMID is PMID: and 1 to 9 digits",
    "doi": "a DOI is 10.<4-9 digits>/<suffix>",
    "nct": "a trial id is NCT and 8 digits",
}
# A sentence ends at . ! or ? before a space, except after common abbreviations ("et al.", "e.g.", "Fig.").
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bFig)(?<!\bvs)(?<!\bNo)[.!?](?=\s)")


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


@dataclass(frozen=True)
class Found:
    citation: Citation | Malformed
    sentence: str  # the sentence of the text it appears in


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
    if candidate.lower().startswith("doi:"):
        return Malformed("doi", written)
    if m := _NCT.fullmatch(candidate):
        return Citation("nct", "NCT" + m.group(1), written)
    if re.fullmatch(r"NCT\d+", candidate, re.I):
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
    found = []
    for m in _IN_TEXT.finditer(text):
        kind = m.lastgroup or ""
        written = m.group(0).rstrip(_TRAILING) if kind != "bibkey" else m.group(0)
        if kind.startswith("bad_"):
            citation: Citation | Malformed = Malformed(kind.removeprefix("bad_"), written)  # type: ignore[arg-type]
        else:
            citation = parse(written)
        found.append(Found(citation, sentence_at(text, m.start(), m.end())))
    return found


def sentence_at(text: str, start: int, end: int, limit: int = 600) -> str:
    """The sentence holding text[start:end] (within its line, at most `limit` characters around it). A citation
    standing alone after the sentence it supports ("... in early trials. [@rani2015]") gets that sentence."""
    line_start = text.rfind("\n", max(0, start - limit), start) + 1 or max(0, start - limit)
    line_end = text.find("\n", end, end + limit)
    line_end = line_end if line_end >= 0 else min(len(text), end + limit)
    before = [m.end() for m in _SENTENCE_END.finditer(text, line_start, start)]
    after = _SENTENCE_END.search(text, end, line_end)
    first = before[-1] if before else line_start
    last = after.end() if after else line_end
    if not text[first:start].strip() and len(before) > 1:
        first = before[-2]  # the citation opens its "sentence": it belongs to the one before
    elif not text[first:start].strip() and before:
        first = line_start
    return " ".join(text[first:last].split())
