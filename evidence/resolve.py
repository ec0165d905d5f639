"""Resolve citations against the imported bibliographies.

A citation is `resolved` when an entry holds its identifier (key, DOI, PMID, NCT id or URL) and nothing stated
beside it disagrees; `miscited` when the identifier resolves but the details stated beside it (author, year, quoted
title, journal) disagree with the entry; `unresolved` when it is well formed and no entry holds it; `malformed`
when it is not a citation of its kind at all; `fabricated` when a debate turn cites it and it is neither in the
hypothesis's evidence nor in any bibliography. Miscited stays apart from fabricated: in published audits of
LLM-written reference lists most flagged references were real papers with wrong details.

Details are compared with rapidfuzz, after folding case and accents, so "Muller" matches "Müller" and
"Exp Neurol" matches "Experimental Neurology"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from evidence.identifiers import Citation, Malformed, url_form
from safeio.citations import Status

if TYPE_CHECKING:
    from evidence.bibliography.entry import Entry as ParsedEntry
    from store.models import BibEntryRow

NAME_MATCH = 85  # rapidfuzz ratio (0-100) above which two surnames are the same person
TITLE_MATCH = 80  # token-set ratio above which a quoted title is the entry's title
JOURNAL_MATCH = 85

_NAME = r"[A-Z][\w'’-]+"
_YEAR = r"((?:1[5-9]|20)\d\d)"
# Author-year forms written beside a citation: "Pittenger et al., 1999", "Pittenger et al. (1999)",
# "Pittenger and Mackay 1999", "(Pittenger, 1999)". A first author is the end of a word (letters, digits, hyphens,
# apostrophes) from its first capital that starts the word or follows a hyphen or an apostrophe ("d'Alembert"). Each
# word is read once, from its start (the atomic group), and nothing read is read again (the possessive `++`, `*+`), so
# the pattern runs in linear time; the one thing it does not read is a name glued to the year before it by a hyphen or
# an apostrophe ("..., 1999-Smith et al. 2001").
_AUTHOR_YEAR = re.compile(
    rf"(?<![\w'’-])(?>[\w'’-]*?\b(?=[A-Z]))([A-Z][\w'’-]++)(?:\s++et\s++al\.?|\s++(?:and|&)\s++{_NAME})"
    rf"\s*+,?+\s*+\(?+{_YEAR}[a-z]?\b"
    rf"|\(([A-Z][\w'’-]++),?+\s++{_YEAR}[a-z]?\)"
)
# Vancouver style: "Crigler L, Robey RC, et al. Title. Exp Neurol. 2007;198(1):54-64."
_VANCOUVER = re.compile(rf"([A-Z][A-Za-z&\- ]{{2,80}})\.\s*+{_YEAR}\s*+;")
_QUOTED = re.compile(r"[\"“]([^\"“”]{15,300})[\"”]")


# A bibliography entry as resolution reads it: an imported one, or one parsed from a file or a page's References.
Entry: TypeAlias = "BibEntryRow | ParsedEntry"


@dataclass(frozen=True)
class Resolution:
    status: Status
    entry: Entry | None = None
    detail: str | None = None


class Bibliography:
    """Every imported entry, found by key, DOI, PMID, NCT id or URL."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.by: dict[tuple[str, str], Entry] = {}
        self.size = 0
        for entry in entries:
            self.size += 1
            self.by[("bibkey", entry.key)] = entry
            for kind, value in (("doi", entry.doi), ("pmid", entry.pmid), ("nct", entry.nct)):
                if value:
                    self.by.setdefault((kind, value.lower() if kind == "doi" else value), entry)
            if entry.url:
                self.by.setdefault(("url", url_form(entry.url)), entry)

    def find(self, citation: Citation) -> Entry | None:
        return self.by.get(citation.key)


def resolve(
    citation: Citation | Malformed,
    stated: str,
    bibliography: Bibliography,
    *,
    in_turn: bool = False,
    given: frozenset[tuple[str, str]] = frozenset(),
) -> Resolution:
    """The status of one citation. `stated` is the text written beside it (the evidence claim, or the sentence of
    the turn); `given` are the hypothesis's own evidence citations, so a turn citing one of them is not made up."""
    if isinstance(citation, Malformed):
        return Resolution("malformed", detail=f"{citation.text!r}: {citation.reason}")
    entry = bibliography.find(citation)
    if entry is None:
        if in_turn and citation.key not in given:
            return Resolution("fabricated", detail="in neither the hypothesis's evidence nor any bibliography")
        return Resolution("unresolved", detail="not in any imported bibliography")
    disagreements = mismatches(stated, entry)
    if disagreements:
        return Resolution("miscited", entry, "; ".join(disagreements))
    return Resolution("resolved", entry)


def mismatches(stated: str, entry: Entry) -> list[str]:
    """Where the details written in `stated` (authors with a year, a quoted title, a journal before a year)
    disagree with `entry`; empty when they agree or none are written."""
    from rapidfuzz import fuzz  # here: a run whose audits are all up to date compares nothing

    found: list[str] = []
    surnames = [folded(a.split(",")[0]) for a in entry.authors if a.strip()]
    for m in _AUTHOR_YEAR.finditer(stated):
        name, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if surnames and not any(fuzz.ratio(folded(name), s) >= NAME_MATCH for s in surnames):
            found.append(f"author {name} stated, the entry's authors are {_authors(entry)}")
        if entry.year is not None and int(year) != entry.year:
            found.append(f"year {year} stated, the entry says {entry.year}")
    for m in _VANCOUVER.finditer(stated):
        journal, year = m.group(1).strip(), int(m.group(2))
        if entry.journal and _looks_like_journal(journal) and not journal_matches(journal, entry.journal):
            found.append(f"journal {journal!r} stated, the entry says {entry.journal!r}")
        if entry.year is not None and year != entry.year and f"year {year} stated" not in " ".join(found):
            found.append(f"year {year} stated, the entry says {entry.year}")
    if entry.title:
        for m in _QUOTED.finditer(stated):
            if fuzz.token_set_ratio(folded(m.group(1)), folded(entry.title)) < TITLE_MATCH:
                found.append(f"title {m.group(1)!r} stated, the entry's is {entry.title!r}")
    return list(dict.fromkeys(found))


def folded(text: str) -> str:
    """Lower case without accents or punctuation: "Müller-Lüdenscheidt" -> "muller ludenscheidt"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain.casefold()).split())


def journal_matches(stated: str, journal: str) -> bool:
    """The same journal, written in full or abbreviated ("Exp Neurol" for "Experimental Neurology")."""
    from rapidfuzz import fuzz

    a, b = folded(stated), folded(journal)
    if fuzz.ratio(a, b) >= JOURNAL_MATCH:
        return True
    short, full = a.split(), [w for w in b.split() if w not in {"of", "the", "and", "for", "in"}]
    return len(short) == len(full) and all(w.startswith(s) for s, w in zip(short, full, strict=True))


def _looks_like_journal(text: str) -> bool:
    """A Vancouver journal slot holds a few capitalised words, not the end of a title sentence."""
    words = text.split()
    return 0 < len(words) <= 6 and all(w[:1].isupper() or w.lower() in {"of", "the", "and", "in", "&"} for w in words)


def _authors(entry: Entry) -> str:
    names = [a.split(",")[0] for a in entry.authors[:3]]
    return ", ".join(names) + (" et al." if len(entry.authors) > 3 else "") if names else "not recorded"
