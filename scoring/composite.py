"""Composite scores and panel aggregation: pure arithmetic, computed in code, never by a model."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from safeio.errors import InputError
from scoring.rubric import Rubric


class ScoreError(InputError, ValueError):
    """A verdict does not fit the rubric (missing dimension, out-of-range value)."""


def composite(scores: Mapping[str, int], rubric: Rubric) -> float:
    """Weighted mean of per-dimension scores, each mapped from 1..scale onto [0, 1]."""
    missing = [d for d in rubric.dimensions if d not in scores]
    if missing:
        raise ScoreError(f"missing dimension(s): {', '.join(missing)}")
    total = 0.0
    for dimension, weight in rubric.dimensions.items():
        value = scores[dimension]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= rubric.scale:
            raise ScoreError(f"{dimension} = {value!r} is not an integer in 1..{rubric.scale}")
        total += weight * (value - 1)
    # one division, then clamp: float weights must not push an all-top verdict to 1.0000000000000002
    return min(1.0, max(0.0, total / (rubric.total_weight * (rubric.scale - 1))))


@dataclass(frozen=True, slots=True)
class PanelScore:
    mean: float
    spread: float  # population standard deviation of the judges' composites
    n: int


def check_panel(composites: Sequence[float]) -> None:
    """ScoreError unless `composites` is a non-empty panel of composites in [0, 1]."""
    if not composites:
        raise ScoreError("a panel needs at least one verdict")
    if any(not (0.0 <= c <= 1.0) or math.isnan(c) for c in composites):
        raise ScoreError(f"composites must lie in [0, 1]: {list(composites)}")


def panel(composites: Sequence[float]) -> PanelScore:
    """Mean, spread (standard deviation) and n of several judges' composites."""
    check_panel(composites)
    mean = statistics.fmean(composites)
    spread = statistics.pstdev(composites) if len(composites) > 1 else 0.0
    return PanelScore(mean=mean, spread=spread, n=len(composites))
