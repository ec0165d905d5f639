"""The cluster bootstrap behind every eval interval: whole clusters are resampled, never single rows.

Rows of one cluster are not independent evidence: the two members of a BioDSA pair share a paper and its
wording, and the rows of one gene in the target–indication file share what is known about the gene. Resampling
rows would treat them as independent and make intervals too narrow. A resample here draws clusters with
replacement, and every row of a drawn cluster comes with it, as often as its cluster was drawn.

Clusters are drawn within groups of the labels they hold (only 1s, only 0s, both), each group keeping its
number of clusters, so every resample holds both classes whenever the data do. With one row a cluster this is
the stratified (by class) row bootstrap. A resample is a row of weights (how many times each row was drawn), so
a figure on a resample is the figure with those weights: the scores themselves are never copied.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

CHUNK = 500  # resamples weighed at once: bounds memory at CHUNK x rows floats
Clusters = Sequence[Hashable] | None  # each row's cluster (a pair, a gene); None: every row is its own cluster


def cluster_index(clusters: Clusters, n: int) -> NDArray[np.intp]:
    """Each row's cluster as 0 .. G-1 in order of first appearance; None: every row is its own cluster."""
    if clusters is None:
        return np.arange(n, dtype=np.intp)
    if len(clusters) != n:
        raise ValueError(f"clusters and rows differ in length: {len(clusters)} vs {n}")
    seen: dict[Hashable, int] = {}
    return np.array([seen.setdefault(c, len(seen)) for c in clusters], dtype=np.intp)


def cluster_weights(
    clusters: Clusters,
    *,
    resamples: int,
    seed: int,
    labels: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Row weights of `resamples` cluster-bootstrap resamples (resamples x rows): how many times each row is drawn.

    `clusters`: each row's cluster (None: each row alone; then `labels` must give the number of rows). With
    `labels` (0/1 per row), clusters are drawn within groups of the labels they hold (only 0s, only 1s, both),
    each group keeping its size; without, all clusters are drawn alike. Deterministic given `seed`.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if clusters is None and labels is None:
        raise ValueError("give clusters, labels or both")
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    n = len(clusters) if clusters is not None else int(y.size)  # type: ignore[union-attr]
    index = cluster_index(clusters, n)
    groups = int(index.max()) + 1 if n else 0
    kind = np.zeros(groups, dtype=np.int64)  # 0: no labels given; else 1 only 0s, 2 only 1s, 3 both
    if y is not None:
        if y.size != n:
            raise ValueError(f"labels and clusters differ in length: {y.size} vs {n}")
        np.bitwise_or.at(kind, index, np.where(y == 1, 2, 1))
    rng = np.random.default_rng(seed)
    counts = np.zeros(resamples * groups, dtype=np.float64)
    offsets = (np.arange(resamples) * groups)[:, None]
    for k in np.unique(kind):
        members = np.flatnonzero(kind == k)
        drawn = members[rng.integers(0, members.size, size=(resamples, members.size))]
        counts += np.bincount((drawn + offsets).ravel(), minlength=resamples * groups)
    return counts.reshape(resamples, groups)[:, index]


def chunks(weights: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The resamples in blocks of at most CHUNK rows (each a view)."""
    return [weights[i : i + CHUNK] for i in range(0, weights.shape[0], CHUNK)]


def weighted_auroc(labels: NDArray[np.int64], scores: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray:
    """AUROC of each weighted resample (ties count half): the weighted share of (1, 0) row pairs ordered right.

    `weights`: resamples x rows (cluster_weights); all ones gives the plain AUROC."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if s.size else np.zeros(0, dtype=np.intp)
    out: list[NDArray[np.float64]] = []
    for block in chunks(weights[:, order]):
        positive = np.add.reduceat(block * y, starts, axis=1)  # weight of 1s at each distinct score, ascending
        negative = np.add.reduceat(block * (1 - y), starts, axis=1)
        below = np.cumsum(negative, axis=1) - negative
        ordered = (positive * (below + 0.5 * negative)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(ordered / (positive.sum(axis=1) * negative.sum(axis=1)))
    return np.concatenate(out) if out else np.zeros(0)


def bin_of(scores: NDArray[np.float64], bins: int) -> NDArray[np.intp]:
    """Each score's bin among `bins` equal-width bins on [0, 1], the edges being k / bins exactly (the last bin
    closed): a score of 0.3 falls in [0.3, 0.4) as its printed edges say."""
    edges = np.array([k / bins for k in range(bins + 1)])
    return np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)


def weighted_ece(
    labels: NDArray[np.int64], scores: NDArray[np.float64], weights: NDArray[np.float64], bins: int = 10
) -> NDArray[np.float64]:
    """Expected calibration error of each weighted resample: sum over bins of |Σ w·(label − score)| / Σ w."""
    gaps = np.zeros((scores.size, bins))
    gaps[np.arange(scores.size), bin_of(scores, bins)] = labels - scores
    out = [np.abs(block @ gaps).sum(axis=1) / block.sum(axis=1) for block in chunks(weights)]
    return np.concatenate(out) if out else np.zeros(0)


def calibrated_ece(scores: NDArray[np.float64], *, draws: int, seed: int, bins: int = 10) -> NDArray[np.float64]:
    """ECE of a perfectly calibrated score at these very scores: each draw gives every row a label drawn as
    Bernoulli(its score), and measures the ECE with the same bins. What ECE noise alone produces at this n."""
    rng = np.random.default_rng(seed)
    out: list[NDArray[np.float64]] = []
    for start in range(0, draws, CHUNK):
        size = min(CHUNK, draws - start)
        drawn = (rng.random((size, scores.size)) < scores).astype(np.int64)
        cells = (np.arange(size)[:, None] * bins + bin_of(scores, bins)).ravel()  # (draw, bin) of each label
        gaps = np.bincount(cells, weights=(drawn - scores).ravel(), minlength=size * bins).reshape(size, bins)
        out.append(np.abs(gaps).sum(axis=1) / scores.size)
    return np.concatenate(out) if out else np.zeros(0)
