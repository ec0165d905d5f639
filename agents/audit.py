"""What the judges are told of the evidence audit: how the hypothesis's citations resolved against the imported
bibliographies (counts per status), the citations made up in the debate, and the claims their sources contradict.

The audit itself is computed by `evidence/` (code, not a model); the debate receives it through `Auditor`, a small
Protocol, so neither agents/ nor debates/ imports the part that computes it. With `penalty` set, a flagged audit caps
one rubric dimension (evidence strength) in code, after the judge answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.subject import Subject
from safeio.citations import STATUSES

SHOWN = 3  # contradicted claims and made-up citations named in the prompt, at most, each
TEXT_CAP = 160  # characters of each (the judges' prompt must fit the embedded model's window)


def clipped(text: str) -> str:
    return text if len(text) <= TEXT_CAP else text[: TEXT_CAP - 1] + "…"


@dataclass(frozen=True)
class EvidenceBrief:
    counts: Mapping[str, int]  # status -> citations (evidence claims and debate turns together)
    entries: int  # bibliography entries the citations were checked against
    fabricated: Sequence[str] = field(default_factory=tuple)  # made-up citations, as written (SHOWN, clipped)
    contradicted: Sequence[str] = field(default_factory=tuple)  # "claim (citation)" its source contradicts (idem)
    more: int = 0  # flagged citations and claims beyond those shown

    @property
    def flagged(self) -> bool:
        """A citation was made up or a claim is contradicted by its own source."""
        return bool(self.fabricated or self.contradicted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": {s: self.counts.get(s, 0) for s in STATUSES},
            "entries": self.entries,
            "fabricated": list(self.fabricated),
            "contradicted": list(self.contradicted),
            "more": self.more,
        }


@dataclass(frozen=True)
class Penalty:
    """Cap `dimension` at `cap` when the audit is flagged."""

    dimension: str
    cap: int


class Auditor(Protocol):
    @property
    def protocol(self) -> dict[str, Any]:
        """What of the audit changes a verdict (its version, the penalty): part of the debate protocol's hash."""
        ...

    @property
    def penalty(self) -> Penalty | None: ...

    def brief(self, hypothesis: Subject, turns: Sequence[str]) -> EvidenceBrief:
        """The audit of the hypothesis's evidence and of the citations made in `turns` (the debate so far)."""
        ...


def apply_penalty(scores: dict[str, int], brief: EvidenceBrief, penalty: Penalty | None) -> dict[str, Any] | None:
    """Cap the penalised dimension in `scores` (in place) when the audit is flagged; what was changed, or None."""
    if penalty is None or not brief.flagged or penalty.dimension not in scores:
        return None
    given = scores[penalty.dimension]
    if given <= penalty.cap:
        return None
    scores[penalty.dimension] = penalty.cap
    why = "fabricated citations" if brief.fabricated else "contradicted claims"
    if brief.fabricated and brief.contradicted:
        why = "fabricated citations and contradicted claims"
    return {"dimension": penalty.dimension, "given": given, "capped": penalty.cap, "because": why}
