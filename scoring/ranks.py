"""Ranks the data can support: one definition for rubric scores and tournament ratings.

Item i is *credibly above* item j when the 95% interval of the difference (value_i − value_j) lies wholly above 0.
The rank range of an item is

    [1 + the number of items credibly above it,  N − the number of items credibly below it]

so `#1 of 12` means every other item is credibly below it, and `#1–12 of 12` that the data cannot place it at all.
Its `rank` (the best rank the data allow) is the range's lower end: items that nothing separates share a rank, and a
judge that tells nothing apart leaves every item at rank 1. The difference interval is the difference's own interval
(from the two standard errors, or from a fit's joint covariance); overlapping 95% intervals of the two items are not a
test of difference and are not used.

Pure arithmetic: the callers decide where the differences' intervals come from.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from scoring import student_t

CONFIDENCE = 0.95
_ROWS = 128  # rows of the pairwise comparison computed at once


@dataclass(frozen=True, slots=True)
class RankRange:
    """Where the data place one item among `of`: somewhere from `lo` (best) to `hi` (worst), 1-based."""

    lo: int
    hi: int
    of: int

    @property
    def rank(self) -> int:
        """The best rank the data allow: items nothing separates share it."""
        return self.lo

    @property
    def exact(self) -> bool:
        return self.lo == self.hi

    def text(self) -> str:
        """`1` when the data place it, `1–3` when they allow a range."""
        return str(self.lo) if self.exact else f"{self.lo}–{self.hi}"


@dataclass(frozen=True, slots=True)
class Separation:
    """Which items the data separate: `beats[i, j]` is True when item i is credibly above item j."""

    beats: NDArray[np.bool_]

    def ranges(self) -> list[RankRange]:
        """Each item's rank range, in the items' order."""
        n = len(self.beats)
        above_it = self.beats.sum(axis=0)  # how many are credibly above each item
        below_it = self.beats.sum(axis=1)  # how many each item is credibly above
        return [RankRange(1 + int(above_it[k]), n - int(below_it[k]), n) for k in range(n)]

    def adjacent_share(self, order: Sequence[int]) -> float | None:
        """Of the adjacent pairs of a ranking (`order`: item indices, best first), the share in which the upper item
        is credibly above the lower one. None with fewer than two items."""
        pairs = list(itertools.pairwise(order))
        if not pairs:
            return None
        return sum(bool(self.beats[u, w]) for u, w in pairs) / len(pairs)


def from_standard_errors(
    values: Sequence[float], ses: Sequence[float | None], dfs: Sequence[float | None] | None = None
) -> Separation:
    """Separation of independent estimates with standard errors `ses` and degrees of freedom `dfs` (the difference
    of two uses t on the smaller of their df; None or no `dfs`: normal). An estimate with no standard error (None)
    is separated from nothing; standard errors of 0 on both sides separate any two different values (a scoreboard
    with no variation at all)."""
    if len(values) != len(ses) or (dfs is not None and len(dfs) != len(values)):
        raise ValueError(f"{len(values)} values but {len(ses)} standard errors")
    v = np.asarray(values, dtype=float)
    s = np.array([math.inf if se is None else se for se in ses], dtype=float)
    d = np.array([f if f else math.inf for f in (dfs or [None] * len(v))], dtype=float)
    levels, codes = np.unique(d, return_inverse=True)  # t quantiles once per distinct df (inf: the normal's)
    # the t quantiles in plain Python: scipy.special would take longer to import than 2,000 rows take to rank
    level_q = np.array([student_t.quantile(float(f), 0.5 + CONFIDENCE / 2) for f in levels])
    beats = np.empty((len(v), len(v)), dtype=bool)
    for start in range(0, len(v), _ROWS):  # a block of rows at a time: 2,000 items need no 32 MB temporaries
        i = slice(start, start + _ROWS)
        quantile = level_q[np.minimum(codes[i, None], codes[None, :])]  # levels are sorted: the smaller df
        spread = np.hypot(s[i, None], s[None, :])
        with np.errstate(invalid="ignore"):  # inf - inf where both have no standard error: never separated
            beats[i] = np.isfinite(spread) & (v[i, None] - v[None, :] > quantile * spread)
    np.fill_diagonal(beats, False)
    return Separation(beats)


class Scored(Protocol):
    """A score row a ranking reads: its value and, under its scoreboard's model, standard error and df."""

    @property
    def se(self) -> float | None: ...
    @property
    def df(self) -> float | None: ...


def of_scores(rows: Sequence[Scored], values: Sequence[float]) -> Separation:
    """Separation of rubric scores on one scoreboard (`values`: the rows' scores, in the rows' order)."""
    return from_standard_errors(values, [r.se for r in rows], [r.df for r in rows])


def from_covariance(values: Sequence[float], covariance: NDArray[np.float64]) -> Separation:
    """Separation of correlated normal estimates (e.g. a fit's ratings) with joint `covariance`: i is credibly above
    j when value_i − value_j exceeds the normal 97.5% point times the difference's own standard error,
    sqrt(V_ii + V_jj − 2·V_ij). O(n²), for fields of thousands."""
    v = np.asarray(values, dtype=float)
    c = np.asarray(covariance, dtype=float)
    if c.shape != (len(v), len(v)):
        raise ValueError(f"{len(v)} values but a covariance of shape {c.shape}")
    q = statistics.NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
    var = np.diag(c)
    se = np.sqrt(np.clip(var[:, None] + var[None, :] - 2 * c, 0, None))
    beats = v[:, None] - v[None, :] > q * se
    np.fill_diagonal(beats, False)
    return Separation(beats)
