"""What the roles need to know about a hypothesis: a small Protocol, so agents/ never imports a part above it.

`debates.hypotheses.Hypothesis` (a pydantic model) satisfies it; so does any object with these attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class EvidenceItem(Protocol):
    """One piece of supplied evidence: a claim, its citation (PMID, DOI, @bibkey, ...) and its stance."""

    @property
    def claim(self) -> str: ...

    @property
    def citation(self) -> str | None: ...

    @property
    def stance(self) -> str: ...


class Subject(Protocol):
    """The hypothesis a debate is about, as the roles read it."""

    @property
    def title(self) -> str: ...

    @property
    def targets(self) -> Sequence[str]: ...

    @property
    def label(self) -> str: ...

    @property
    def mechanism(self) -> str: ...

    @property
    def diseases(self) -> Sequence[str]: ...

    @property
    def evidence(self) -> Sequence[EvidenceItem]: ...

    @property
    def content_hash(self) -> str: ...
