"""The judge's verdict schema, built from the rubric: reasoning first, then one rationale and one bounded
integer per dimension, then a summary. Field order is generation order, so the judge reasons before it
scores; every length cap is stated in the prompt (`CAPS`), and an empty rationale is rejected."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from scoring.rubric import Rubric

CAPS = {"reasoning": 600, "rationale": 120, "summary": 300}


class VerdictBase(BaseModel):
    """A judge's verdict on the hypothesis."""

    def score_map(self) -> dict[str, int]:
        return dict(self.model_dump()["scores"])

    def rationale_map(self) -> dict[str, str]:
        return dict(self.model_dump()["rationales"])

    @property
    def summary_text(self) -> str:
        return str(self.model_dump()["summary"])

    def text(self) -> str:
        scores, rationales = self.score_map(), self.rationale_map()
        lines = [f"Reasoning: {self.model_dump()['reasoning']}"]
        lines += [f"{name}: {value} - {rationales.get(name, '')}" for name, value in scores.items()]
        lines.append(f"Verdict: {self.summary_text}")
        return "\n".join(lines)


def verdict_model(rubric: Rubric, caps: dict[str, int] | None = None) -> type[VerdictBase]:
    """`Verdict`: `reasoning`, `rationales.<dimension>: str`, `scores.<dimension>: Literal[1..scale]`, `summary`.

    `caps` (default `CAPS`) are the length caps; the embedded demo model gets tighter ones (`llm.embedded`)."""
    limits = CAPS if caps is None else caps
    return _verdict_model(rubric.scale, tuple(rubric.dimensions), tuple(limits[k] for k in CAPS))


def capped_text(cap: int) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=cap)]


@cache
def _verdict_model(top: int, dimensions: tuple[str, ...], caps: tuple[int, int, int]) -> type[VerdictBase]:
    reasoning, rationale, summary = (capped_text(cap) for cap in caps)
    scale = Literal[tuple(range(1, top + 1))]  # type: ignore[valid-type]
    score_fields: dict[str, Any] = {name: (scale, Field(...)) for name in dimensions}
    rationale_fields: dict[str, Any] = {name: (rationale, Field(...)) for name in dimensions}
    scores = create_model("Scores", **score_fields)
    rationales = create_model("Rationales", **rationale_fields)
    return create_model(
        "Verdict",
        __base__=VerdictBase,
        __doc__=VerdictBase.__doc__,
        reasoning=(reasoning, Field(..., description="your reasoning about the debate, before any score")),
        rationales=(rationales, Field(...)),
        scores=(scores, Field(...)),
        summary=(summary, Field(...)),
    )
