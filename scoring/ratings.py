"""Pairwise tournament arithmetic: judged orders into matches, the position-bias rate, and Bradley-Terry ratings.

A judge sees two hypotheses and prefers the first shown, the second, or neither. Every pair is judged in both orders
by each judge; the two orders of one (pair, judge) make one `Match`. It has a winner only when both orders prefer
the same hypothesis; both ties make a tie; any disagreement (the first shown preferred both times, or one tie and one
win) is also a tie, counted as inconsistent, and the share of those is the position-bias rate.

Ratings are Bradley-Terry strengths θ (natural-log odds scale) fitted with choix as a penalised maximum-likelihood
(MAP) estimate, centred so the mean θ of the items that played is 0, and shown on an Elo-like scale:
rating = 1500 + 400·log10(odds) = 1500 + (400 / ln 10)·θ, so 400 points are 10:1 odds. Their 95% intervals come
from the Hessian of the same penalised objective (a Laplace approximation).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import choix
import numpy as np
from numpy.typing import NDArray
from scipy import stats

Preference = Literal["first", "second", "tie"]

ELO_BASE = 1500.0
ELO_PER_NAT = 400 / math.log(10)  # Elo points per unit of θ (about 173.7)

# L2 strength of the fit. choix's objective is  -loglik + ALPHA·Σθ², i.e. a N(0, 1/(2·ALPHA)) prior on each θ:
# with 0.05 its standard deviation is about 3.2 nats (550 Elo points, 96:4 odds), weak next to the data of even a
# few matches (each match carries about 0.5 units of information against ALPHA's 0.1) yet enough to keep an
# undefeated hypothesis finite (about 4-5 nats above the field rather than infinity). It is also the whole
# interval of a hypothesis that has not played: 1500 ± 1076.
ALPHA = 0.05

_Z = float(stats.norm.ppf(0.975))  # 95% two-sided


@dataclass(frozen=True, slots=True)
class Comparison:
    """One judged order: `first` was shown first."""

    first: str
    second: str
    preferred: Preference
    judge: int = 1  # which judge (replicate) of the pair


@dataclass(frozen=True, slots=True)
class Match:
    """Both orders of one (pair, judge)."""

    a: str  # the lexicographically smaller id
    b: str
    judge: int
    winner: str | None  # a, b, or None for a tie
    consistent: bool  # the two orders agreed (both the same winner, or both tie)


def matches(comparisons: Iterable[Comparison]) -> list[Match]:
    """Both orders of each (pair, judge) made into one match, sorted by (a, b, judge).

    A (pair, judge) with only one order judged is left out (its other order may still be pending). Raises
    ValueError for a comparison of a hypothesis with itself or a (pair, judge, order) judged twice.
    """
    verdicts: dict[tuple[str, str, int], dict[bool, str | None]] = {}
    for c in comparisons:
        if c.first == c.second:
            raise ValueError(f"a comparison needs two different hypotheses, got {c.first!r} twice")
        a, b = sorted((c.first, c.second))
        a_first = c.first == a
        orders = verdicts.setdefault((a, b, c.judge), {})
        if a_first in orders:
            raise ValueError(f"judge {c.judge} compared {c.first!r} (shown first) with {c.second!r} twice")
        orders[a_first] = None if c.preferred == "tie" else c.first if c.preferred == "first" else c.second
    result = []
    for (a, b, judge), orders in sorted(verdicts.items()):
        if len(orders) < 2:
            continue
        consistent = orders[True] == orders[False]
        result.append(Match(a=a, b=b, judge=judge, winner=orders[True] if consistent else None, consistent=consistent))
    return result


def position_bias(matches: Sequence[Match]) -> float | None:
    """Share of matches whose two orders disagreed (counted as ties); None when there are no matches."""
    if not matches:
        return None
    return sum(not m.consistent for m in matches) / len(matches)


def first_position_share(comparisons: Sequence[Comparison]) -> float | None:
    """Of the comparisons that named a winner, the share that preferred the one shown first (0.5 = no lean).

    None when no comparison named a winner.
    """
    decided = [c for c in comparisons if c.preferred != "tie"]
    if not decided:
        return None
    return sum(c.preferred == "first" for c in decided) / len(decided)


@dataclass(frozen=True, slots=True)
class Rating:
    id: str
    rating: float  # Elo-like scale: 1500 + 400·log10(odds)
    lo: float  # 95% interval, same scale
    hi: float
    wins: int  # matches, not orders
    ties: int
    losses: int

    @property
    def matches(self) -> int:
        """Matches played: wins + ties + losses."""
        return self.wins + self.ties + self.losses


def fit(ids: Sequence[str], matches: Sequence[Match], *, alpha: float = ALPHA) -> list[Rating]:
    """Bradley-Terry ratings for every id in `ids`, best first (equal ratings in id order).

    A decisive match counts as two wins for its winner (one per order), a tie as one win each way, so a tie is
    half a win. An id with no match keeps the prior: rating 1500 and the prior's wide interval. The result does
    not depend on the order of `ids` or of `matches`, and if every match is a tie every rating is 1500.
    Raises ValueError for a repeated id or for ids in `matches` that are not in `ids`.
    """
    theta, se = strengths(ids, matches, alpha=alpha)
    record = {i: [0, 0, 0] for i in ids}  # wins, ties, losses
    for m in matches:
        if m.winner is None:
            record[m.a][1] += 1
            record[m.b][1] += 1
        else:
            loser = m.b if m.winner == m.a else m.a
            record[m.winner][0] += 1
            record[loser][2] += 1
    ratings = [
        Rating(
            id=i,
            rating=ELO_BASE + ELO_PER_NAT * float(t),
            lo=ELO_BASE + ELO_PER_NAT * float(t - _Z * s),
            hi=ELO_BASE + ELO_PER_NAT * float(t + _Z * s),
            wins=record[i][0],
            ties=record[i][1],
            losses=record[i][2],
        )
        for i, t, s in zip(ids, theta, se, strict=True)
    ]
    # Ratings equal in theory can differ in the last bits of the optimiser's answer: compare them at 1e-6 points.
    return sorted(ratings, key=lambda r: (-round(r.rating, 6), r.id))


def strengths(
    ids: Sequence[str], matches: Sequence[Match], *, alpha: float = ALPHA
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """θ (natural-log scale, mean 0 over the ids that played) and its standard errors, in the order of `ids`.

    What pairing needs, without building `Rating`s. An id with no match gets θ 0 and the prior's standard error
    1/sqrt(2·alpha). Same rules and errors as `fit`.
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be positive (an undefeated hypothesis would have infinite strength), got {alpha}")
    if len(set(ids)) != len(ids):
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        raise ValueError(f"ids repeated: {', '.join(repeated)}")
    unknown = sorted({x for m in matches for x in (m.a, m.b)} - set(ids))
    if unknown:
        raise ValueError(f"matches name hypotheses not in ids: {', '.join(unknown)}")

    # Canonical order (sorted ids, sorted (winner, loser) rows) so the optimiser sees the same input, and returns
    # the same bits, however the caller ordered `ids` and `matches`.
    played = sorted({x for m in matches for x in (m.a, m.b)})
    index = {x: k for k, x in enumerate(played)}
    rows: list[tuple[int, int]] = []
    for m in matches:
        a, b = index[m.a], index[m.b]
        if m.winner is None:
            rows += [(a, b), (b, a)]
        else:
            w = index[m.winner]
            rows += [(w, b if w == a else a)] * 2
    rows.sort()

    theta = {x: 0.0 for x in ids}
    se = {x: 1 / math.sqrt(2 * alpha) for x in ids}
    if played:
        t, s = _fit_played(len(played), rows, alpha)
        theta |= dict(zip(played, t.tolist(), strict=True))
        se |= dict(zip(played, s.tolist(), strict=True))
    return np.array([theta[x] for x in ids], dtype=float), np.array([se[x] for x in ids], dtype=float)


def _fit_played(n: int, rows: list[tuple[int, int]], alpha: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centred θ and standard errors of the n items that played, from (winner, loser) rows."""
    # opt_pairwise, not ilsr_pairwise: opt_pairwise minimises exactly  -loglik + alpha·Σθ²  (choix's PairwiseFcts),
    # so its answer is the stationary point of the objective whose Hessian we invert below, and the Laplace
    # interval is centred where it should be. ilsr_pairwise's alpha is a rate added to its Markov chain, a
    # different regulariser whose fixed point is not that objective's optimum.
    # Newton-CG with choix's default tolerance (mean step 1e-5) lands within about 1e-4 nats (0.02 rating points)
    # of the optimum; from the same rows it returns the same bits.
    theta = np.asarray(choix.opt_pairwise(n, rows, alpha=alpha, method="Newton-CG"), dtype=float)
    # Hessian of -loglik + alpha·Σθ² (as choix's PairwiseFcts.hessian, vectorised): 2·alpha·I plus p(1-p) on the
    # Laplacian of every row.
    data = np.asarray(rows, dtype=np.intp)
    w, lo = data[:, 0], data[:, 1]
    p = 1 / (1 + np.exp(-(theta[w] - theta[lo])))
    v = p * (1 - p)
    hessian = 2 * alpha * np.eye(n)
    np.add.at(hessian, (w, w), v)
    np.add.at(hessian, (lo, lo), v)
    np.add.at(hessian, (w, lo), -v)
    np.add.at(hessian, (lo, w), -v)
    # The likelihood says nothing about the mean of θ (only differences), so the raw covariance carries the prior's
    # large variance along the all-equal direction. Ratings are centred, so their covariance is P·H⁻¹·P with P the
    # centring projection: only the uncertainty of each item relative to the field.
    centring = np.eye(n) - 1 / n
    covariance = centring @ np.linalg.inv(hessian) @ centring
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    return theta - theta.mean(), se


def kendall_tau(x: Sequence[str], y: Sequence[str]) -> float | None:
    """Kendall tau-b between two rankings (lists of ids, best first) over the ids both contain.

    1 for the same order, -1 for the reverse; None with fewer than 2 shared ids. Raises ValueError for an id
    listed twice in one ranking.
    """
    for name, ranking in (("x", x), ("y", y)):
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"ranking {name} lists an id more than once")
    where_y = {h: k for k, h in enumerate(y)}
    shared = [h for h in x if h in where_y]
    if len(shared) < 2:
        return None
    return float(stats.kendalltau(range(len(shared)), [where_y[h] for h in shared], variant="b").statistic)


def agreement(x: Mapping[str, float], y: Mapping[str, float]) -> float | None:
    """Kendall tau-b between two scorings of the same hypotheses (e.g. ratings and rubric scores), over the ids both
    score; equal values are ties (ratings compared at 1e-6 points). None with fewer than 2 shared ids, or when either
    scoring puts every shared id level (a judge that only ever tied says nothing about the order)."""
    shared = sorted(set(x) & set(y))
    if len(shared) < 2:
        return None
    a = [round(x[h], 6) for h in shared]
    b = [round(y[h], 6) for h in shared]
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return float(stats.kendalltau(a, b, variant="b").statistic)
