"""Evaluation against real outcomes: how well scores in [0, 1] predict labels (1 = the hypothesis held, 0 = it did not).

AUROC, Brier score and calibration (ECE) come from scikit-learn, scipy and numpy. Intervals are 95% percentile
bootstraps drawn from `numpy.random.default_rng(seed)`, so every figure is deterministic given its seed. Every
bootstrap resamples clusters, not rows (`clusters`: each row's cluster, e.g. a BioDSA pair or a gene; None: each
row alone): scoring/resample.py. Calibration bins have edges k/10 exactly (0.3, not 0.30000000000000004), and
a score on an edge falls in the bin that edge opens.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from scoring.resample import Clusters, bin_of, calibrated_ece, cluster_weights, weighted_auroc, weighted_ece

RESAMPLES = 2000
LEVEL = 0.95
MIN_RETEST_ROWS = 3
BINS = 10  # calibration bins, equal width on [0, 1]
FLOOR_QUANTILE = 0.95  # the ECE noise floor: this quantile of a perfectly calibrated score's ECE at the same n

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


@dataclass(frozen=True, slots=True)
class CalibrationError(Estimate):
    """ECE with its cluster-bootstrap interval and the noise floor: the 95th percentile of the ECE that a perfectly
    calibrated score reaches at these scores by chance (labels drawn as Bernoulli(score)). An ECE at or under
    the floor is indistinguishable from perfect calibration at this n."""

    floor: float | None

    def as_dict(self) -> dict[str, float | None]:
        """{"value", "lo", "hi", "floor"}."""
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "floor": self.floor}


_UNDEFINED = Estimate(value=None, lo=None, hi=None)


def auroc(
    labels: ArrayLike, scores: ArrayLike, *, seed: int, resamples: int = RESAMPLES, clusters: Clusters = None
) -> Estimate:
    """AUROC of scores against labels (ties count half), with a cluster-bootstrap interval.

    Each resample draws whole clusters with replacement, within groups of the labels they hold (only 1s, only 0s,
    both), so both classes are always present; with one row a cluster, positives and negatives are drawn
    separately, keeping both class sizes. Undefined (all None) when there are no rows or only one class.
    """
    y, s = _labels_scores(labels, scores)
    _check_resamples(resamples)
    if not _both_classes(y):
        return _UNDEFINED
    value = float(roc_auc_score(y, s))
    weights = cluster_weights(clusters, labels=y, resamples=resamples, seed=seed)
    lo, hi = _interval(weighted_auroc(y, s, weights))
    return Estimate(value=value, lo=lo, hi=hi)


def auroc_difference(
    labels: ArrayLike,
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    *,
    seed: int,
    resamples: int = RESAMPLES,
    clusters: Clusters = None,
) -> Estimate:
    """AUROC(a) - AUROC(b) on the same rows, with a paired cluster-bootstrap interval.

    Each resample draws clusters once (as `auroc` does) and computes both AUROCs on those rows.
    Undefined (all None) when there are no rows or only one class.
    """
    y, a = _labels_scores(labels, scores_a, name="scores_a")
    _, b = _labels_scores(labels, scores_b, name="scores_b")
    _check_resamples(resamples)
    if not _both_classes(y):
        return _UNDEFINED
    value = float(roc_auc_score(y, a)) - float(roc_auc_score(y, b))
    weights = cluster_weights(clusters, labels=y, resamples=resamples, seed=seed)
    lo, hi = _interval(weighted_auroc(y, a, weights) - weighted_auroc(y, b, weights))
    return Estimate(value=value, lo=lo, hi=hi)


def pairwise_accuracy(
    true_scores: ArrayLike,
    false_scores: ArrayLike,
    *,
    seed: int,
    resamples: int = RESAMPLES,
    clusters: Clusters = None,
) -> PairedEstimate:
    """Share of (true, false) pairs where the true member scores higher (a tie counts half), bootstrapped over the
    pairs' clusters (`clusters`: each pair's; None: each pair alone).

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
    weights = cluster_weights(clusters if clusters is not None else range(wins.size), resamples=resamples, seed=seed)
    lo, hi = _interval(weights @ wins / weights.sum(axis=1))
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


def calibration(labels: ArrayLike, scores: ArrayLike, bins: int = BINS) -> list[CalibrationBin]:
    """Reliability table over `bins` equal-width bins on [0, 1] (the last bin closed); every bin is listed, its
    edges k / bins exactly (0.3, never 0.30000000000000004)."""
    y, s = _labels_scores(labels, scores)
    edges = _edges(bins)
    index = bin_of(s, bins)
    counts = np.bincount(index, minlength=bins)
    score_sums = np.bincount(index, weights=s, minlength=bins)
    positives = np.bincount(index, weights=y, minlength=bins)
    table: list[CalibrationBin] = []
    for i, n in enumerate(counts.tolist()):
        table.append(
            CalibrationBin(
                lo=edges[i],
                hi=edges[i + 1],
                n=n,
                mean_score=float(score_sums[i] / n) if n else None,
                fraction_positive=float(positives[i] / n) if n else None,
            )
        )
    return table


def ece(labels: ArrayLike, scores: ArrayLike, bins: int = BINS) -> float | None:
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


def calibration_error(
    labels: ArrayLike,
    scores: ArrayLike,
    *,
    seed: int,
    resamples: int = RESAMPLES,
    clusters: Clusters = None,
    bins: int = BINS,
) -> CalibrationError:
    """ECE with a cluster-bootstrap interval (as `auroc` resamples) and its noise floor at this n.

    The interval is the spread of the resampled ECEs (their 2.5th to 97.5th percentiles) re-centred on the sample's
    ECE, floored at 0: resampling repeats rows and so inflates every resampled ECE, and a plain percentile
    interval would often not contain the ECE itself. Whether the ECE shows any miscalibration at all is the
    floor's question, not the interval's.

    The floor is simulated (seed `seed`, `resamples` draws): a perfectly calibrated score at the observed scores,
    each row's label drawn as Bernoulli(its score), binned alike; the floor is the 95th percentile of its ECE.
    (With uniform scores at n = 120 that is about 0.13, the mean about 0.09.) All None when there are no rows.
    """
    y, s = _labels_scores(labels, scores)
    _check_resamples(resamples)
    if y.size == 0:
        return CalibrationError(value=None, lo=None, hi=None, floor=None)
    value = ece(y, s, bins)
    weights = cluster_weights(clusters, labels=y, resamples=resamples, seed=seed)
    resampled = weighted_ece(y, s, weights, bins)
    # a resample repeats rows, which adds noise, and an ECE only grows with noise: the resampled ECEs sit above the
    # sample's (often all of them). Their spread is re-centred on the sample's ECE (minus their median), floored at 0
    lo, hi = (max(0.0, value + q - float(np.median(resampled))) for q in _interval(resampled))
    floor = float(np.quantile(calibrated_ece(s, draws=resamples, seed=seed, bins=bins), FLOOR_QUANTILE))
    return CalibrationError(value=value, lo=lo, hi=hi, floor=floor)


def histogram(labels: ArrayLike, scores: ArrayLike, bins: int = BINS) -> dict[str, list[float] | list[int]]:
    """Score counts per equal-width bin on [0, 1] (edges k / bins, the last bin closed), split by label:
    {"edges", "positive", "negative"}."""
    y, s = _labels_scores(labels, scores)
    edges = _edges(bins)
    index = bin_of(s, bins)
    positive = np.bincount(index[y == 1], minlength=bins)
    negative = np.bincount(index[y == 0], minlength=bins)
    return {
        "edges": edges,
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


def _edges(bins: int) -> list[float]:
    """Bin edges k / bins: each the nearest float to the decimal it prints as (3 / 10 is 0.3)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    return [k / bins for k in range(bins + 1)]


def _interval(estimates: NDArray[np.float64]) -> tuple[float, float]:
    lo, hi = np.quantile(estimates, _QUANTILES)
    return float(lo), float(hi)
