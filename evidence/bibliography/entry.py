"""A validated bibliography entry (`Entry`), the one-line `BibliographyError`, and the limits and helpers that
several formats share."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from evidence.identifiers import DOI, DOI_PREFIX, TRIAL_URL, URL, odd_character
from safeio.errors import InputError, validation_line
from safeio.text import no_controls

MAX_TITLE, MAX_ABSTRACT, MAX_JOURNAL, MAX_AUTHOR, MAX_AUTHORS, MAX_URL = 1000, 20_000, 500, 300, 2000, 2000

_YEAR = re.compile(r"(\d{4})(?:[-/ ].*)?", re.S)
_PMID_PREFIX = re.compile(r"^PMID:?\s*", re.I)
# "Pittenger MF", "La Spada AR": up to four words, then initials; words are split only by spaces (no backtracking)
_VANCOUVER = re.compile(r"([^\W\d_][\w'’-]*(?: [^\W\d_][\w'’-]*){0,3}) ([A-Z]{1,4})")


class BibliographyError(InputError):
    """A bibliography file cannot be used; nothing from it is stored. str() is ONE line naming the file, the
    entry (its key, and its line where known) and what was expected."""


def _refuse_controls(value: str) -> str:
    try:
        return no_controls(value)
    except ValueError as exc:
        raise PydanticCustomError("control_character", "{problem}", {"problem": str(exc)}) from None


def _identifier(value: Any, pattern: str, expected: str, clean: Callable[[str], str]) -> Any:
    """`value` as a normal-form identifier (None when empty), or an error saying what was expected, and what is wrong
    when it looks right: "non-ASCII digit U+FF11; expected a PubMed id of 1 to 9 digits"."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    value = clean(value.strip())
    if not value:
        return None
    if not re.fullmatch(pattern, value) or len(value) > 300:
        odd = odd_character(value)
        found = f"{odd}; " if odd else ""
        raise PydanticCustomError("identifier", "{found}expected {expected}", {"found": found, "expected": expected})
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
        return _identifier(value, DOI.pattern, expected, lambda v: DOI_PREFIX.sub("", v).lower())

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid(cls, value: Any) -> Any:
        return _identifier(value, r"[0-9]{1,9}", "a PubMed id of 1 to 9 digits", lambda v: _PMID_PREFIX.sub("", v))

    @field_validator("pmcid", mode="before")
    @classmethod
    def _pmcid(cls, value: Any) -> Any:
        return _identifier(value, r"PMC[0-9]{1,9}", "a PMC id such as PMC3426086", str.upper)

    @field_validator("nct", mode="before")
    @classmethod
    def _nct(cls, value: Any) -> Any:
        return _identifier(value, r"NCT[0-9]{8}", "a trial id of NCT and 8 digits", str.upper)


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
    return url.strip() if isinstance(url, str) and URL.fullmatch(url.strip()) else None


def _trial(url: str | None) -> str | None:
    """The NCT id of a clinicaltrials.gov URL."""
    match = TRIAL_URL.search(url) if url and len(url) <= MAX_URL else None
    return match.group(1) if match else None


def _person(name: str) -> str:
    """A name as "Family, Given": kept when it has a comma, "Pittenger MF" -> "Pittenger, MF", else as written."""
    name = " ".join(name.split())
    match = _VANCOUVER.fullmatch(name) if "," not in name and len(name) <= MAX_AUTHOR else None
    return f"{match.group(1)}, {match.group(2)}" if match else name


def _is_more(name: str) -> bool:
    return name.strip().rstrip(".").lower() in ("others", "et al")


def _first(value: Any) -> str | None:
    """A RIS value (a string, or a list for repeated tags) as its first non-empty string."""
    values = value if isinstance(value, list) else [value]
    return next((v.strip() for v in values if isinstance(v, str) and v.strip()), None)
