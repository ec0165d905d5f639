"""What each debate turn must contain: the structured payloads the roles answer with, and their text form.

Bounds are expressed so grammar-constrained servers respect them: `enum`s for categories,
`minLength`/`maxLength` on strings (a grammar-constrained model cannot answer with an empty string),
`maxItems` on lists. The critique's schema is built per hypothesis (`critique_model`): each point names
one of the hypothesis's targets, the aspect it attacks and which given citation it disputes, as enums, so
structured output can only name real ones.

The two sides get the same budget: the proposer speaks in the opening and in one rebuttal per round,
the critic in one critique per round and in the closing, and each pair of answering turns has the
same character cap (opening = closing = 1,750; critique = rebuttal = 1,250; see `max_chars`). The
critic speaks last, and the proposer's own "resolved" labels are never shown to anyone: whether a
point was answered is the critic's closing assessment, and then the judges' call.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field, StringConstraints, create_model

# Free text has a floor as well as a cap: the turn checks reject anything under 20 characters anyway.
Brief = Annotated[str, StringConstraints(strip_whitespace=True, min_length=12, max_length=125)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=250)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, min_length=40, max_length=500)]
Revision = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]  # empty: unchanged
Severity = Literal["minor", "major", "fatal"]
Aspect = Literal["mechanism", "evidence", "safety", "delivery", "efficacy", "specificity"]
NO_CITATION = "none"
NO_TARGET = "the hypothesis"  # what a critic point names when the hypothesis names no target (some eval rows)


class Opening(BaseModel):
    """The proposer's opening statement."""

    claim: Short = Field(description="the hypothesis in one or two sentences, naming the target")
    mechanism: Long = Field(description="the mechanism, step by step")
    evidence: list[Short] = Field(min_length=1, max_length=3, description="supporting evidence with citations")
    prediction: Short = Field(description="one falsifiable prediction")

    def text(self) -> str:
        lines = [f"Claim: {self.claim}", f"Mechanism: {self.mechanism}"]
        lines += [f"Evidence: {item}" for item in self.evidence]
        lines.append(f"Falsifiable prediction: {self.prediction}")
        return "\n".join(lines)


class CriticPoint(BaseModel):
    target: str = Field(description="the target this weakness concerns")
    aspect: Aspect = Field(description="what it attacks")
    citation: str = Field(NO_CITATION, description="the given citation it disputes, or none")
    point: Short = Field(description="one weakness")
    severity: Severity

    def label(self) -> str:
        cited = "" if self.citation == NO_CITATION else f"; disputes {self.citation}"
        return f"[{self.severity}; {self.target}, {self.aspect}{cited}]"


class Critique(BaseModel):
    """The critic's attack on the hypothesis."""

    points: list[CriticPoint] = Field(min_length=1, max_length=3)
    counter_evidence: list[Brief] = Field(default_factory=list, max_length=2)
    alternative_explanations: list[Brief] = Field(default_factory=list, max_length=2)
    concede: bool = Field(False, description="true when no substantive weakness remains")

    def text(self) -> str:
        lines = [f"{i}. {p.label()} {p.point}" for i, p in enumerate(self.points, 1)]
        lines += [f"Counter-evidence: {item}" for item in self.counter_evidence]
        lines += [f"Alternative explanation: {item}" for item in self.alternative_explanations]
        if self.concede:
            lines.append("The critic concedes: no substantive weakness remains.")
        return "\n".join(lines)

    def said(self) -> str:
        """The critic's own words, without the enum labels: what the turn checks judge (a label naming the
        target must not make an empty or off-topic point pass)."""
        parts = [p.point for p in self.points] + list(self.counter_evidence) + list(self.alternative_explanations)
        return "\n".join(parts)


@functools.cache
def critique_model(targets: tuple[str, ...], citations: tuple[str, ...]) -> type[Critique]:
    """`Critique` whose points can only name `targets` and the given `citations` (or none)."""
    target = Literal[targets]  # type: ignore[valid-type]
    cited = Literal[(*citations, NO_CITATION)]  # type: ignore[valid-type]
    point = create_model(
        "CriticPoint",
        __base__=CriticPoint,
        target=(target, Field(description="the target this weakness concerns")),
        citation=(cited, Field(NO_CITATION, description="the given citation it disputes, or none")),
    )
    return create_model(
        "Critique",
        __base__=Critique,
        __doc__=Critique.__doc__,
        points=(list[point], Field(min_length=1, max_length=3)),  # type: ignore[valid-type]
    )


class PointAnswer(BaseModel):
    point: Literal[1, 2, 3] = Field(description="number of the critic point answered")
    answer: Short
    resolved: bool = Field(description="true if this answer resolves the point")


class Rebuttal(BaseModel):
    """The proposer's answer to the critique."""

    answers: list[PointAnswer] = Field(min_length=1, max_length=3)
    revised_claim: Revision = Field("", description="the revised hypothesis, or empty when unchanged")

    def text(self) -> str:
        """What the critic and the judges read: the answers, without the proposer's own "resolved" labels."""
        lines = [f"Re point {a.point}: {a.answer}" for a in self.answers]
        if self.revised_claim:
            lines.append(f"Revised hypothesis (offered, not what is scored): {self.revised_claim}")
        return "\n".join(lines)


class PointAssessment(BaseModel):
    point: Literal[1, 2, 3] = Field(description="number of the point in the latest critique")
    resolved: bool = Field(description="true if the rebuttal resolved this point")
    reason: Short


class Closing(BaseModel):
    """The critic's closing word: which points the rebuttal resolved, and what remains."""

    assessments: list[PointAssessment] = Field(default_factory=list, max_length=3)
    remaining_concerns: list[Short] = Field(default_factory=list, max_length=2)
    summary: Long = Field(description="the critic's closing statement")

    def text(self) -> str:
        lines = [
            f"Point {a.point}: {'resolved' if a.resolved else 'NOT resolved'} by the rebuttal: {a.reason}"
            for a in self.assessments
        ]
        lines += [f"Remaining concern: {item}" for item in self.remaining_concerns]
        lines.append(f"Closing: {self.summary}")
        return "\n".join(lines)


def max_chars(model: type[BaseModel]) -> int:
    """The most free text a turn of this schema can hold: each side's budget, compared in the tests."""
    total = 0
    for field in model.model_fields.values():
        caps = [m.max_length for m in field.metadata if getattr(m, "max_length", None) is not None]
        if get_origin(field.annotation) is list:
            (item,) = get_args(field.annotation)
            total += (caps[0] if caps else 1) * _item_chars(item)
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            total += max_chars(field.annotation)
        elif field.annotation is str:
            total += caps[0] if caps else 0
    return total


def _item_chars(item: Any) -> int:
    if isinstance(item, type) and issubclass(item, BaseModel):
        return max_chars(item)
    caps = [m.max_length for m in getattr(item, "__metadata__", ()) if getattr(m, "max_length", None) is not None]
    return caps[0] if caps else 0
