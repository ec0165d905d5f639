"""Candidate hypotheses as users write them (YAML or JSONL), validated, with content-derived ids."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from safeio.text import no_controls

# Used with fullmatch(): `re.match` with `$` would also accept a trailing newline ("h-2600483e\n").
HYPOTHESIS_ID = re.compile(r"h-[0-9a-f]{8}")
SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,39}")
SLUG = re.compile(r"[a-z0-9][a-z0-9\-_/]{0,199}")
CITATION = re.compile(
    r"PMID:\s?\d{1,9}|doi:\s?10\.\d{4,9}/\S+|10\.\d{4,9}/\S+|@[A-Za-z][\w:-]{0,63}|https?://\S+|NCT\d{8}",
    re.IGNORECASE,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# no C0/C1 control characters (tab, newline and carriage return allowed): they reach terminals, YAML
# (U+0085 is a line break there) and prompts, and no hypothesis needs them
NoControl = AfterValidator(no_controls)


def citation_form(value: str | None) -> str | None:
    """A citation as evidence may give it, or a ValueError saying what was expected."""
    if value is not None and not CITATION.fullmatch(value):
        raise ValueError("expected a PMID (PMID:12345), a DOI (10.xxxx/...), a bibkey (@shi2010), an NCT id or a URL")
    return value


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), NoControl]
    citation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoControl] | None = None
    stance: Literal["for", "against"] = "for"

    @field_validator("citation")
    @classmethod
    def _citation_form(cls, value: str | None) -> str | None:
        return citation_form(value)


class Hypothesis(BaseModel):
    """One candidate hypothesis. `targets` may be written as a list or as one string ("NLRP3, CASP1")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300), NoControl]
    targets: list[str] = Field(min_length=1, max_length=20)
    target_label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoControl] | None = None
    mechanism: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000), NoControl]
    diseases: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), NoControl]
    ] = Field(default_factory=list, max_length=20)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    pages: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _split_targets(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("targets"), str):
            label = data["targets"].strip()
            data = {**data, "targets": split_targets(label)}
            data.setdefault("target_label", label)
        if isinstance(data, dict) and isinstance(data.get("diseases"), str):
            data = {**data, "diseases": [d.strip() for d in data["diseases"].split(",") if d.strip()]}
        return data

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str | None) -> str | None:
        if value is not None and not HYPOTHESIS_ID.fullmatch(value):
            raise ValueError("expected 'h-' followed by 8 lowercase hex digits, e.g. h-2600483e")
        return value

    @field_validator("targets")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        cleaned = [t.strip() for t in value]
        for symbol in cleaned:
            if not SYMBOL.fullmatch(symbol):
                raise ValueError(f"{symbol!r} is not a gene or protein symbol (letters, digits, '-', '.')")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a target is listed twice")
        return cleaned

    @field_validator("pages")
    @classmethod
    def _slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            if not SLUG.fullmatch(slug):
                raise ValueError(f"{slug!r} is not a page slug (lowercase letters, digits, '-', '_' and '/')")
        return value

    @property
    def content_hash(self) -> str:
        """sha256 of what is debated: title, targets, mechanism, diseases and evidence (not the id or pages)."""
        content = self.model_dump(mode="json", include={"title", "targets", "mechanism", "diseases", "evidence"})
        return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    @property
    def hypothesis_id(self) -> str:
        return self.id or f"h-{self.content_hash[:8]}"

    @property
    def label(self) -> str:
        return self.target_label or ", ".join(self.targets)


def split_targets(label: str) -> list[str]:
    """'NLRP3, CASP1, IL1B, PYCARD' / 'HCRTR1/HCRTR2' / 'P2RY1 and P2RX7' -> symbols."""
    parts = re.split(r"\s*(?:,|/|;|&|\+)\s*|\s+and\s+", label)
    return [p.strip() for p in parts if p.strip()]
