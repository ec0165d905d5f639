"""The rubric: dimensions, weights and scale, versioned by content hash."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCIDEX_WEIGHTS: dict[str, int] = {
    "mechanistic_plausibility": 15,
    "evidence_strength": 15,
    "novelty": 12,
    "feasibility": 12,
    "therapeutic_potential": 12,
    "druggability": 10,
    "safety": 8,
    "competitive_landscape": 6,
    "data_availability": 5,
    "reproducibility": 5,
}


class Rubric(BaseModel):
    """Each dimension is scored as an integer 1..scale; the composite is their weighted mean in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: int = Field(10, ge=2, le=100)
    dimensions: dict[str, float] = Field(default_factory=lambda: dict(SCIDEX_WEIGHTS), min_length=1)

    @field_validator("dimensions")
    @classmethod
    def _positive_identifiers(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if not name.isidentifier():
                raise ValueError(f"dimension name {name!r} must be a snake_case identifier")
            if weight <= 0:
                raise ValueError(f"weight of {name!r} must be > 0 (got {weight})")
        return value

    @cached_property
    def hash(self) -> str:
        # weights as floats: `15` from code and `15.0` from config.yaml are the same rubric, one hash
        weights = {name: float(weight) for name, weight in self.dimensions.items()}
        canonical = json.dumps({"scale": self.scale, "dimensions": weights}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def total_weight(self) -> float:
        return sum(self.dimensions.values())

    @staticmethod
    def label(dimension: str) -> str:
        """How a dimension is named to people: `mechanistic_plausibility` -> `mechanistic plausibility`."""
        return dimension.replace("_", " ")
