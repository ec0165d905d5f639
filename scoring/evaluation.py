"""Evaluation against real outcomes: how well scores in [0, 1] predict labels (1 = the hypothesis held, 0 = it did not).

AUROC, Brier score and calibration (ECE) come from scikit-learn, scipy and numpy. Intervals are 95% percentile
bootstraps drawn from `numpy.random.default_rng(seed)`, so every figure is deterministic given its seed.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

RESAMPLES = 2000
LEVEL = 0.95
MIN_RETEST_ROWS = 3

_QUANTILES = ((1 - LEVEL) / 2, (1 + LEVEL) / 2)


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float | None  # None when undefined (e.g. AUROC with one class only)
    lo: float | None  # 95% bootstrap percentile interval; None when undefined
    hi: float | None

    def as_dict(self) -> dict[str, float | None]:
        """{"value", "lo", "hi"}."""
        return {"value": self.value, "lo": self.lo, "hi": self.hi}


@dataclass(frozen=True, slots=True)
class PairedEstimate(Estimate):
    pairs: int  # (true, false) pairs compared

    def as_dict(self) -> dict[str, float | None]:
        """{"value", "lo", "hi", "pairs"}."""
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "pairs": self.pairs}


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    lo: float  # bin edges; bins are [lo, hi) except the last, which is [lo, 1]
    hi: float
    n: int  # scores that fell in the bin
    mean_score: float | None  # None for an empty bin
    fraction_positive: float | None  # share of label 1 in the bin; None for an empty bin

    def as_dict(self) -> dict[str, float | int | None]:
        """{"lo", "hi", "n", "mean_score", "fraction_positive"}."""
        return {
            "lo": self.lo,
            "hi": self.hi,
            "n": self.n,
            "mean_score": self.mean_score,
            "fraction_positive": self.fraction_positive,
        }


_UNDEFINED = Estimate(value=None, lo=None, hi=None)


def auroc(labels: ArrayLike, scores: ArrayLike, *, seed: int, resamples: int = RESAMPLES) -> Estimate:
    """AUROC of scores against labels (ties count half), with a stratified bootstrap interval.

    Each resample draws the positives and the negatives separately, with replacement, keeping both class sizes.
    Undefined (all None) when there are no rows or only one class.
    """
    y, s = _labels_scores(labels, scores)
    _check_resamples(resamples)
    if not _both_classes(y):
        return _UNDEFINED
    value = float(roc_auc_score(y, s))
    pos, neg = _stratified_draws(y, resamples, seed)
    lo, hi = _interval(_auc_rows(s[pos], s[neg]))
    return Estimate(value=value, lo=lo, hi=hi)


def auroc_difference(
    labels: ArrayLike, scores_a: ArrayLike, scores_b: ArrayLike, *, seed: int, resamples: int = RESAMPLES
) -> Estimate:
    """AUROC(a) - AUROC(b) on the same rows, with a paired, stratified bootstrap interval.

    Each resample draws positive and negative rows once and computes both AUROCs on those rows.
    Undefined (all None) when there are no rows or only one class.
    """
    y, a = _labels_scores(labels, scores_a, name="scores_a")
    _, b = _labels_scores(labels, scores_b, name="scores_b")
    _check_resamples(resamples)
    if not _both_classes(y):
        return _UNDEFINED
    value = float(roc_auc_score(y, a)) - float(roc_auc_score(y, b))
    pos, neg = _stratified_draws(y, resamples, seed)
    lo, hi = _interval(_auc_rows(a[pos], a[neg]) - _auc_rows(b[pos], b[neg]))
    return Estimate(value=value, lo=lo, hi=hi)


def pairwise_accuracy(
    true_scores: ArrayLike, false_scores: ArrayLike, *, seed: int, resamples: int = RESAMPLES
) -> PairedEstimate:
    """Share of (true, false) pairs where the true member scores higher (a tie counts half), bootstrapped over pairs.

    `true_scores[i]` and `false_scores[i]` form pair i. No pairs: value and interval None, pairs 0.
    """
    t = _scores(true_scores, "true_scores")
    f = _scores(false_scores, "false_scores")
    if t.size != f.size:
        raise ValueError(f"true_scores and false_scores differ in length: {t.size} vs {f.size}")
    _check_resamples(resamples)
    if t.size == 0:
        return PairedEstimate(value=None, lo=None, hi=None, pairs=0)
    wins = (t > f) + 0.5 * (t == f)
    draws = np.random.default_rng(seed).integers(0, wins.size, size=(resamples, wins.size))
    lo, hi = _interval(wins[draws].mean(axis=1))
    return PairedEstimate(value=float(wins.mean()), lo=lo, hi=hi, pairs=int(wins.size))


def brier(labels: ArrayLike, scores: ArrayLike) -> float | None:
    """Brier score (mean squared error of the scores as probabilities of label 1); None when there are no rows."""
    y, s = _labels_scores(labels, scores)
    if y.size == 0:
        return None
    return float(brier_score_loss(y, s, pos_label=1))


def base_rate(labels: ArrayLike) -> float | None:
    """Share of label 1; None when there are no labels."""
    y = _labels(labels)
    return float(y.mean()) if y.size else None


def base_rate_brier(labels: ArrayLike) -> float | None:
    """Brier score of always predicting the base rate (the no-skill reference); None when there are no labels."""
    y = _labels(labels)
    if y.size == 0:
        return None
    return float(brier_score_loss(y, np.full(y.size, y.mean()), pos_label=1))


def calibration(labels: ArrayLike, scores: ArrayLike, bins: int = 10) -> list[CalibrationBin]:
    """Reliability table over `bins` equal-width bins on [0, 1] (the last bin closed); every bin is listed."""
    y, s = _labels_scores(labels, scores)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    counts, edges = np.histogram(s, bins=bins, range=(0.0, 1.0))
    score_sums, _ = np.histogram(s, bins=bins, range=(0.0, 1.0), weights=s)
    positives, _ = np.histogram(s, bins=bins, range=(0.0, 1.0), weights=y)
    table: list[CalibrationBin] = []
    for i, n in enumerate(counts.tolist()):
        table.append(
            CalibrationBin(
                lo=float(edges[i]),
                hi=float(edges[i + 1]),
                n=n,
                mean_score=float(score_sums[i] / n) if n else None,
                fraction_positive=float(positives[i] / n) if n else None,
            )
        )
    return table


def ece(labels: ArrayLike, scores: ArrayLike, bins: int = 10) -> float | None:
    """Expected calibration error: sum over bins of n_b/N * |fraction_positive_b - mean_score_b|; None when empty."""
    table = calibration(labels, scores, bins)
    total = sum(b.n for b in table)
    if total == 0:
        return None
    return float(
        sum(
            b.n / total * abs(b.fraction_positive - b.mean_score)
            for b in table
            if b.fraction_positive is not None and b.mean_score is not None
        )
    )


def histogram(labels: ArrayLike, scores: ArrayLike, bins: int = 10) -> dict[str, list[float] | list[int]]:
    """Score counts per equal-width bin on [0, 1], split by label: {"edges", "positive", "negative"}."""
    y, s = _labels_scores(labels, scores)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    positive, edges = np.histogram(s[y == 1], bins=bins, range=(0.0, 1.0))
    negative, _ = np.histogram(s[y == 0], bins=bins, range=(0.0, 1.0))
    return {
        "edges": [float(e) for e in edges],
        "positive": [int(c) for c in positive],
        "negative": [int(c) for c in negative],
    }


def retest_correlation(replicates: ArrayLike) -> float | None:
    """Mean Spearman rho over every pair of replicate columns of a rows x K score table.

    None when K < 2, there are fewer than three rows, or a column is constant (rho undefined).
    """
    table = np.asarray(replicates, dtype=float)
    if table.ndim != 2:
        raise ValueError(f"replicates must be a 2-D table (rows x replicates), got {table.ndim} dimension(s)")
    _check_unit_interval(table.ravel(), "replicates")
    rows, k = table.shape
    if k < 2 or rows < MIN_RETEST_ROWS or np.any(np.ptp(table, axis=0) == 0):
        return None
    rhos = [float(stats.spearmanr(table[:, i], table[:, j]).statistic) for i, j in itertools.combinations(range(k), 2)]
    return float(np.mean(rhos))


# ---------------------------------------------------------------- helpers


def _labels(labels: ArrayLike) -> NDArray[np.int64]:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a flat sequence, got {y.ndim} dimension(s)")
    if y.size and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0]
        raise ValueError(f"labels must be 0 or 1, got {bad.item()!r}")
    return y.astype(np.int64)


def _scores(scores: ArrayLike, name: str = "scores") -> NDArray[np.float64]:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence, got {s.ndim} dimension(s)")
    _check_unit_interval(s, name)
    return s


def _check_unit_interval(values: NDArray[np.float64], name: str) -> None:
    bad = np.flatnonzero(~((values >= 0.0) & (values <= 1.0)))  # NaN fails both comparisons
    if bad.size:
        raise ValueError(f"{name} must be numbers in [0, 1], got {values[bad[0]].item()!r} at position {bad[0]}")


def _labels_scores(
    labels: ArrayLike, scores: ArrayLike, name: str = "scores"
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    y = _labels(labels)
    s = _scores(scores, name)
    if y.size != s.size:
        raise ValueError(f"labels and {name} differ in length: {y.size} vs {s.size}")
    return y, s


def _check_resamples(resamples: int) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def _both_classes(y: NDArray[np.int64]) -> bool:
    return bool(y.size) and 0 < int(y.sum()) < y.size


def _stratified_draws(y: NDArray[np.int64], resamples: int, seed: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row indices of resampled positives (resamples x n_pos) and negatives (resamples x n_neg)."""
    rng = np.random.default_rng(seed)
    pos_rows = np.flatnonzero(y == 1)
    neg_rows = np.flatnonzero(y == 0)
    pos = pos_rows[rng.integers(0, pos_rows.size, size=(resamples, pos_rows.size))]
    neg = neg_rows[rng.integers(0, neg_rows.size, size=(resamples, neg_rows.size))]
    return pos, neg


def _auc_rows(pos_scores: NDArray[np.float64], neg_scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUROC of each row pair: the Mann-Whitney U of positives over negatives / (n_pos * n_neg), ties counting half."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # the unused p-value is 0/0 when a row is all ties
        u = stats.mannwhitneyu(pos_scores, neg_scores, axis=1, method="asymptotic").statistic
    return np.asarray(u, dtype=float) / (pos_scores.shape[1] * neg_scores.shape[1])


def _interval(estimates: NDArray[np.float64]) -> tuple[float, float]:
    lo, hi = np.quantile(estimates, _QUANTILES)
    return float(lo), float(hi)
