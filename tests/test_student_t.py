"""scoring.student_t: the t quantile that rank ranges use, in plain Python, checked against scipy's; and the rank
ranges it gives, checked against those scipy's quantile gives."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.special import stdtrit

from scoring import ranks, student_t

DFS = [0.3, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 7.3, 11.99, 12.0, 12.01, 24.0, 30.0, 99.0, 300.0, 1999.0, 1e4, 1e6, 1e9]


@pytest.mark.parametrize("df", DFS)
@pytest.mark.parametrize("p", [0.975, 0.6, 0.9, 0.995, 0.9999, 0.025, 0.3])
def test_the_quantile_is_scipys_to_1e_13(df, p):
    expected = float(stdtrit(df, p))
    assert student_t.quantile(df, p) == pytest.approx(expected, rel=1e-13)


def test_known_values():
    # the closed forms at 1 (Cauchy) and 2 degrees of freedom, and the tables' 2.228 at 10
    assert student_t.quantile(1.0, 0.975) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-14)
    assert student_t.quantile(2.0, 0.975) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-14)
    assert round(student_t.quantile(10.0, 0.975), 4) == 2.2281
    assert student_t.quantile(math.inf, 0.975) == pytest.approx(1.959963984540054, rel=1e-15)  # the normal's
    assert student_t.quantile(7.0, 0.5) == 0.0
    assert student_t.quantile(7.0, 0.025) == -student_t.quantile(7.0, 0.975)


def test_what_stdtrit_gives_nan_and_infinities_for():
    assert math.isnan(student_t.quantile(0.0, 0.975))
    assert math.isnan(student_t.quantile(-3.0, 0.975))
    assert math.isnan(student_t.quantile(math.nan, 0.975))
    assert student_t.quantile(5.0, 1.0) == math.inf
    assert student_t.quantile(0.05, 1 - 1e-9) == math.inf  # beyond 1e150
    with pytest.raises(ValueError, match="p must lie in"):
        student_t.quantile(5.0, 1.5)


def _scipy_separation(values: list[float], ses: list[float | None], dfs: list[float | None]) -> np.ndarray:
    """ranks.from_standard_errors as it was, with scipy's quantile."""
    v = np.asarray(values, dtype=float)
    s = np.array([math.inf if se is None else se for se in ses], dtype=float)
    d = np.array([f if f else math.inf for f in dfs], dtype=float)
    q = stdtrit(np.minimum(d[:, None], d[None, :]), 0.975)
    beats = np.isfinite(np.hypot(s[:, None], s[None, :])) & (
        v[:, None] - v[None, :] > q * np.hypot(s[:, None], s[None, :])
    )
    np.fill_diagonal(beats, False)
    return beats


@pytest.mark.parametrize("seed", range(5))
def test_rank_ranges_are_those_scipys_quantile_gives(seed):
    rng = random.Random(seed)
    n = 300
    values = [rng.choice([0.4, 0.5, 0.6, 0.7]) + rng.gauss(0, 0.05) for _ in range(n)]
    ses = [None if rng.random() < 0.05 else rng.choice([0.0, 0.01, 0.03, 0.08]) for _ in range(n)]
    dfs = [rng.choice([None, 0, 1.0, 3.0, 4.6, 17.2, 40.0, 1999.0]) for _ in range(n)]
    separation = ranks.from_standard_errors(values, ses, dfs)
    assert (separation.beats == _scipy_separation(values, ses, dfs)).all()
    assert 0 < separation.beats.sum() < n * (n - 1)
