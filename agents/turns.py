"""What each debate turn must contain: the structured payloads the roles answer with, and their text form.

Bounds are expressed so grammar-constrained servers respect them: `enum`s for categories,
`maxLength` on strings, `maxItems` on lists.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=250)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Severity = Literal["minor", "major", "fatal"]


class Opening(BaseModel):
    """The proposer's opening statement."""

    claim: Long = Field(description="the hypothesis in one or two sentences, naming the target")
    mechanism: Long = Field(description="the mechanism, step by step")
    evidence: list[Short] = Field(min_length=1, max_length=3, description="supporting evidence with citations")
    prediction: Short = Field(description="one falsifiable prediction")

    def text(self) -> str:
        lines = [f"Claim: {self.claim}", f"Mechanism: {self.mechanism}"]
        lines += [f"Evidence: {item}" for item in self.evidence]
        lines.append(f"Falsifiable prediction: {self.prediction}")
        return "\n".join(lines)


class CriticPoint(BaseModel):
    point: Short = Field(description="one weakness")
    severity: Severity


class Critique(BaseModel):
    """The critic's attack on the hypothesis."""

    points: list[CriticPoint] = Field(min_length=1, max_length=3)
    counter_evidence: list[Short] = Field(default_factory=list, max_length=2)
    alternative_explanations: list[Short] = Field(default_factory=list, max_length=2)
    concede: bool = Field(False, description="true when no substantive weakness remains")

    def text(self) -> str:
        lines = [f"{i}. [{p.severity}] {p.point}" for i, p in enumerate(self.points, 1)]
        lines += [f"Counter-evidence: {item}" for item in self.counter_evidence]
        lines += [f"Alternative explanation: {item}" for item in self.alternative_explanations]
        if self.concede:
            lines.append("The critic concedes: no substantive weakness remains.")
        return "\n".join(lines)


class PointAnswer(BaseModel):
    point: Literal[1, 2, 3] = Field(description="number of the critic point answered")
    answer: Short
    resolved: bool = Field(description="true if this answer resolves the point")


class Rebuttal(BaseModel):
    """The proposer's answer to the critique."""

    answers: list[PointAnswer] = Field(min_length=1, max_length=3)
    revised_claim: Long = Field("", description="the revised hypothesis, or empty when unchanged")

    def text(self) -> str:
        lines = [
            f"Re point {a.point} ({'resolved' if a.resolved else 'not resolved'}): {a.answer}" for a in self.answers
        ]
        if self.revised_claim:
            lines.append(f"Revised hypothesis: {self.revised_claim}")
        return "\n".join(lines)
