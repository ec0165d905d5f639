"""The JSON API's response models (they are the OpenAPI schema at /openapi.json)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RelatedHypothesis(BaseModel):
    id: str
    title: str
    target_label: str
    score: float = Field(ge=0, le=1)
    spread: float = Field(ge=0)
    debates: int = Field(ge=1)
    url: str


class RelatedResponse(BaseModel):
    slug: str
    title: str
    entities: list[str]
    hypotheses: list[RelatedHypothesis]


class Evidence(BaseModel):
    claim: str
    citation: str | None
    stance: str


class DebateSummary(BaseModel):
    id: str
    status: str
    rounds_run: int
    models: dict[str, str]
    score: float | None
    spread: float | None
    n: int | None
    finished_at: datetime | None
    url: str


class HypothesisResponse(BaseModel):
    id: str
    title: str
    targets: list[str]
    target_label: str
    mechanism: str
    diseases: list[str]
    pages: list[str]
    score: float | None
    score_spread: float | None
    score_n: int
    debates_completed: int
    dimensions: dict[str, float] = Field(description="mean judge score per rubric dimension, latest completed debate")
    evidence: list[Evidence]
    debates: list[DebateSummary]
    demo_warning: str | None = Field(description="set when a score comes from the embedded demo model")
