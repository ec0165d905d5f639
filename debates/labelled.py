"""Labelled eval rows (JSON Lines, as in examples/eval/): a hypothesis plus what really happened to it.

A row carries the outcome (`label`), its `strata`, a `pair` linking a true statement to its minimal negation,
and details (`highest_phase`, `year_launch`, `label_meaning`, `pmid`, `paper_title`, each evidence item's
`analysis_plan`). Only the hypothesis part (title, targets, diseases, mechanism, evidence) is ever debated; the
rest is stored in its own table and never reaches a prompt. Ordinary hypothesis files keep their strict
validation (`debates.hypotheses.Hypothesis`): the looser shape of eval rows lives here, in `LabelledSubject`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from debates.hypotheses import Evidence, Hypothesis, NoControl, citation_form
from debates.inputs import InputError, jsonl_records, read_text
from safeio.errors import Loc, validation_line

ROW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,199}")
_FIELDS = (
    "id, title, targets, diseases, mechanism, evidence, label, label_meaning, highest_phase, year_launch, "
    "strata, pair, pmid, paper_title"
)
_EVIDENCE_FIELDS = "claim, citation, stance, analysis_plan"

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoControl]


class LabelledSubject(Hypothesis):
    """An eval row as it is debated: it may name no target (BioDSA's findings) and no mechanism (the proposer
    supplies it, as for "modulating TARGET treats DISEASE"); titles may be a little longer. Its id is always
    derived from its content, never the row's own id."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), NoControl]
    targets: list[str] = Field(default_factory=list, max_length=20)
    mechanism: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), NoControl] = ""


class LabelledEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), NoControl]
    citation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), NoControl] | None = None
    stance: str = "for"
    analysis_plan: Annotated[str, StringConstraints(max_length=4000), NoControl] | None = None

    @field_validator("citation")
    @classmethod
    def _citation_form(cls, value: str | None) -> str | None:
        return citation_form(value)


Stratum = bool | Annotated[str, StringConstraints(max_length=200), NoControl] | int | float | None


class LabelledRow(BaseModel):
    """One line of a labelled file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    targets: list[str] = Field(default_factory=list)
    diseases: list[str] = Field(default_factory=list)
    mechanism: str | None = None
    evidence: list[LabelledEvidence] = Field(default_factory=list, max_length=50)
    label: int
    label_meaning: Short | None = None
    highest_phase: Short | None = None
    year_launch: int | None = Field(None, ge=1800, le=2200)
    strata: dict[Annotated[str, StringConstraints(min_length=1, max_length=64), NoControl], Stratum] = Field(
        default_factory=dict, max_length=50
    )
    pair: Annotated[str, StringConstraints(min_length=1, max_length=200), NoControl] | None = None
    pmid: Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")] | None = None
    paper_title: Short | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _label_form(cls, value: object) -> object:
        if type(value) is not int or value not in (0, 1):
            raise ValueError(f"expected 1 (the hypothesis held) or 0 (it did not), got {value!r}")
        return value

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not ROW_ID.fullmatch(value):
            raise ValueError("expected letters, digits, '_', '.', ':' or '-' (at most 200), e.g. A2M-D002545")
        return value

    def details(self) -> dict[str, Any]:
        """What is kept beside the label and never debated."""
        plans = [e.analysis_plan for e in self.evidence]
        out = {
            "label_meaning": self.label_meaning,
            "highest_phase": self.highest_phase,
            "year_launch": self.year_launch,
            "pmid": self.pmid,
            "paper_title": self.paper_title,
            "analysis_plans": plans if any(plans) else None,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class Labelled:
    """A validated row of a labelled file: where it came from, the subject to debate, and its outcome."""

    dataset: str  # the file's name without its extension, e.g. biodsa_hypotheses.dev
    where: str  # file:line
    row: LabelledRow
    subject: LabelledSubject

    @property
    def key(self) -> tuple[str, str]:
        return (self.dataset, self.row.id)

    @property
    def label(self) -> int:
        return self.row.label

    def without_evidence(self) -> LabelledSubject:
        return self.subject.model_copy(update={"evidence": []})


def load_labelled(paths: Iterable[str | Path]) -> list[Labelled]:
    """Every row of every file, validated; an InputError (file:line, field, what was expected) for the first bad
    row, before anything is stored."""
    rows: list[Labelled] = []
    seen: dict[tuple[str, str], str] = {}
    contents: dict[str, str] = {}
    pairs: dict[tuple[str, str], list[Labelled]] = defaultdict(list)
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise InputError(f"{path}: labelled rows are read from JSON Lines (.jsonl), one object a line")
        dataset = path.name.rsplit(".", 1)[0]
        for where, record in jsonl_records(path, read_text(path)):
            item = _validate(record, where, dataset)
            if item.key in seen:
                raise InputError(f"{where}: duplicate row id {item.row.id} (first at {seen[item.key]})")
            first = contents.get(item.subject.content_hash)
            if first is not None:
                raise InputError(f"{where}: the same title, targets, diseases and evidence as the row at {first}")
            seen[item.key] = where
            contents[item.subject.content_hash] = where
            rows.append(item)
            if item.row.pair is not None:
                pairs[(dataset, item.row.pair)].append(item)
    if not rows:
        raise InputError(f"{', '.join(map(str, paths))}: no labelled rows found")
    for (_, pair), members in pairs.items():
        labels = sorted(m.label for m in members)
        if labels != [0, 1]:
            raise InputError(
                f"{members[0].where}: pair {pair!r} has labels {labels}; a pair is one true (1) and one false (0) row"
            )
    return rows


def _validate(record: Any, where: str, dataset: str) -> Labelled:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object with id, title, label, ..., got {type(record).__name__}")
    try:
        row = LabelledRow.model_validate(record)
        subject = LabelledSubject.model_validate(
            {
                "title": row.title,
                "targets": row.targets,
                "diseases": row.diseases,
                "mechanism": row.mechanism or "",
                "evidence": [
                    Evidence(claim=e.claim, citation=e.citation, stance=e.stance).model_dump() for e in row.evidence
                ],
            }
        )
    except ValidationError as exc:
        raise InputError(validation_line(exc, where=where, unknown=_unknown)) from None
    return Labelled(dataset=dataset, where=where, row=row, subject=subject)


def _unknown(loc: Loc) -> str:
    expected = _EVIDENCE_FIELDS if loc[0] == "evidence" and len(loc) > 2 else _FIELDS
    return f"unknown field (expected {expected})"


def clusters_of(rows: Sequence[Labelled]) -> list[str]:
    """Each row's cluster, what the eval's bootstrap resamples whole: rows of one file linked by a `pair` (both
    members of a BioDSA pair) or by a target gene (every row of one gene in the target–indication file), joined
    transitively; a row linked to nothing is its own cluster. Named by one of its links, e.g.
    "target_disease_outcomes.dev:gene:A2M", "biodsa_hypotheses.dev:pair:25855536_0" or "file:row:r7"."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]  # path halving
            key = parent[key]
        return key

    links = []
    for row in rows:
        keys = [f"{row.dataset}:pair:{row.row.pair}"] if row.row.pair is not None else []
        keys += [f"{row.dataset}:gene:{t.strip().upper()}" for t in row.subject.targets]
        links.append(keys or [f"{row.dataset}:row:{row.row.id}"])
        first = root(links[-1][0])
        for key in links[-1][1:]:
            other = root(key)
            if other != first:
                parent[other] = first
    return [root(keys[0]) for keys in links]


def stratified_sample(rows: Sequence[Labelled], limit: int, seed: int) -> list[Labelled]:
    """About `limit` rows of each file, drawn at random (numpy, `seed`) within strata of label, keeping pairs
    whole: a pair is drawn or left as one unit. Rows keep their file order."""
    by_file: dict[str, list[Labelled]] = defaultdict(list)
    for row in rows:
        by_file[row.dataset].append(row)
    rng = np.random.default_rng(seed)
    chosen: set[tuple[str, str]] = set()
    for members in by_file.values():
        units: dict[str, list[Labelled]] = defaultdict(list)
        for row in members:
            units[f"pair:{row.row.pair}" if row.row.pair is not None else f"row:{row.row.id}"].append(row)
        strata: dict[tuple[int, ...], list[list[Labelled]]] = defaultdict(list)
        for unit in units.values():
            strata[tuple(sorted(r.label for r in unit))].append(unit)
        total = len(members)
        for _, group in sorted(strata.items()):
            size = sum(len(u) for u in group)
            quota = round(limit * size / total)
            for index in rng.permutation(len(group)):
                if quota <= 0:
                    break
                unit = group[index]
                chosen.update(r.key for r in unit)
                quota -= len(unit)
    return [row for row in rows if row.key in chosen]
