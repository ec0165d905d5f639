"""Ranks the data can support: one definition for rubric scores and tournament ratings.

Item i is *credibly above* item j when the 95% interval of the difference (value_i − value_j) lies wholly above 0.
The rank range of an item is

    [1 + the number of items credibly above it,  N − the number of items credibly below it]

so `#1 of 12` means every other item is credibly below it, and `#1–12 of 12` that the data cannot place it at all.
Its `rank` (the best rank the data allow) is the range's lower end: items that nothing separates share a rank, and a
judge that tells nothing apart leaves every item at rank 1. The difference interval is the difference's own interval
(from its standard error, or from bootstrap draws of the fit); overlapping 95% intervals of the two items are not a
test of difference and are not used.

Pure arithmetic: the callers decide where the differences' intervals come from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

CONFIDENCE = 0.95


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

    def as_json(self) -> dict[str, int]:
        return {"rank": self.lo, "rank_lo": self.lo, "rank_hi": self.hi, "of": self.of}


@dataclass(frozen=True, slots=True)
class Separation:
    """Which items the data separate: `beats[i, j]` is True when item i is credibly above item j."""

    beats: NDArray[np.bool_]

    @classmethod
    def of(cls, n: int, above: Callable[[int, int], bool]) -> Separation:
        beats = np.zeros((n, n), dtype=bool)
        for i in range(n):
            for j in range(n):
                beats[i, j] = i != j and above(i, j)
        return cls(beats)

    def ranges(self) -> list[RankRange]:
        """Each item's rank range, in the items' order."""
        n = len(self.beats)
        above_it = self.beats.sum(axis=0)  # how many are credibly above each item
        below_it = self.beats.sum(axis=1)  # how many each item is credibly above
        return [RankRange(1 + int(above_it[k]), n - int(below_it[k]), n) for k in range(n)]

    def adjacent_share(self, order: Sequence[int]) -> float | None:
        """Of the adjacent pairs of a ranking (`order`: item indices, best first), the share in which the upper item
        is credibly above the lower one. None with fewer than two items."""
        pairs = list(zip(order, order[1:], strict=False))
        if not pairs:
            return None
        return sum(bool(self.beats[u, w]) for u, w in pairs) / len(pairs)


def from_standard_errors(values: Sequence[float], ses: Sequence[float], df: float | None = None) -> Separation:
    """Separation of independent estimates with standard errors `ses` (t with `df` degrees of freedom, else normal).

    A standard error of 0 on both sides separates any two different values (a board with no variation at all).
    """
    if len(values) != len(ses):
        raise ValueError(f"{len(values)} values but {len(ses)} standard errors")
    q = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df) if df else stats.norm.ppf(0.5 + CONFIDENCE / 2))
    v = np.asarray(values, dtype=float)
    s = np.asarray(ses, dtype=float)

    def above(i: int, j: int) -> bool:
        return bool(v[i] - v[j] > q * float(np.hypot(s[i], s[j])))

    return Separation.of(len(v), above)


def from_draws(draws: NDArray[np.float64]) -> Separation:
    """Separation from joint draws of the items' values (rows: bootstrap or posterior draws, columns: items):
    i is credibly above j when the 2.5th percentile of (draw_i − draw_j) is above 0."""
    if draws.ndim != 2:
        raise ValueError(f"draws must be a (draws × items) matrix, got shape {draws.shape}")
    tail = (1 - CONFIDENCE) / 2 * 100
    n = draws.shape[1]
    diff = draws[:, :, None] - draws[:, None, :]  # draws × n × n
    low = np.percentile(diff, tail, axis=0)
    return Separation.of(n, lambda i, j: bool(low[i, j] > 0))
