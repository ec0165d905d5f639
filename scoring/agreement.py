"""Reliability figures: inter-judge agreement and replicate rank stability (how separable a ranking is:
scoring.ranks)."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
from scipy import stats

MIN_COMMON_HYPOTHESES = 3


def krippendorff_alpha(
    ratings: Sequence[Sequence[float | None]], level: Literal["interval", "ordinal"] = "interval"
) -> float | None:
    """Krippendorff's alpha of a raters x units table (rows = judges, columns = units such as debates; None = missing).

    Returns None, not NaN and not an exception, when alpha is undefined: fewer than two raters share any unit
    (no unit has two or more ratings), or every pairable rating is the same value (no expected disagreement).
    Raises ValueError for ragged rows or a non-finite rating (use None for a missing one).
    """
    rows = [list(row) for row in ratings]
    if not rows:
        return None
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError("every rater needs one entry per unit (None where missing)")
    for row in rows:
        for value in row:
            if value is not None and not math.isfinite(value):
                raise ValueError(f"ratings must be finite numbers or None, got {value!r}")
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=float).reshape(
        len(rows), width
    )
    pairable = data[:, np.count_nonzero(~np.isnan(data), axis=0) >= 2]
    values = pairable[~np.isnan(pairable)]
    if values.size == 0 or np.all(values == values[0]):
        return None
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


@dataclass(frozen=True, slots=True)
class TauSummary:
    mean: float | None  # mean Kendall tau-b over usable replicate pairs; None when there are none
    pairs: int  # replicate pairs that contributed
    min: float | None
    max: float | None
    common: tuple[int, ...] = ()  # hypotheses both replicates scored, per contributing pair


def replicate_tau(rankings: Mapping[int, Mapping[str, float]]) -> TauSummary:
    """Kendall's tau-b between every pair of replicates, over the hypotheses both scored.

    `rankings` maps a replicate index to {hypothesis id: that replicate's debate score}. A pair is skipped when it
    shares fewer than three hypotheses or its tau is undefined (one side constant, or a NaN score).
    """
    taus: list[float] = []
    sizes: list[int] = []
    for a, b in itertools.combinations(sorted(rankings), 2):
        common = sorted(rankings[a].keys() & rankings[b].keys())
        if len(common) < MIN_COMMON_HYPOTHESES:
            continue
        x = [float(rankings[a][h]) for h in common]
        y = [float(rankings[b][h]) for h in common]
        if any(math.isnan(v) for v in x + y) or len(set(x)) < 2 or len(set(y)) < 2:
            continue  # scipy would return NaN (and may warn) for constant or NaN input
        tau = float(stats.kendalltau(x, y, variant="b").statistic)
        if not math.isnan(tau):
            taus.append(tau)
            sizes.append(len(common))
    if not taus:
        return TauSummary(mean=None, pairs=0, min=None, max=None)
    return TauSummary(mean=statistics.fmean(taus), pairs=len(taus), min=min(taus), max=max(taus), common=tuple(sizes))
