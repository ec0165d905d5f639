"""Pairwise tournament arithmetic: judged orders, the judge's lean to the first shown, order inconsistency, and
ratings with their intervals and rank ranges.

A judge sees two hypotheses and prefers the first shown, the second, or neither (a `Comparison`: one judged
order). Every pair is judged in both orders by each judge.

Ratings. Every comparison is its own observation in a Bradley-Terry model with a first-position parameter and
Davidson's tie model (scoring/davidson.py states it exactly): strengths θ (natural-log odds scale), fitted as a
penalised maximum-likelihood (MAP) estimate with a N(0, 1/(2·ALPHA)) prior on each θ, centred so the mean θ of
the tournament's hypotheses is 0, and shown on an Elo-like scale: rating = 1500 + 400·log10(odds) =
1500 + (400 / ln 10)·θ, so 400 points are 10:1 odds. Their 95% intervals come from the Laplace covariance of the
penalised objective, widened by a cluster-by-pair sandwich where a pair's comparisons (both orders, all judges)
moved together more than independent trials would (a judge consistent across orders); never narrowed below it. A
rating is relative to the mean of the tournament's N hypotheses, so one the comparisons say nothing about (it has
not played, or its judge only ever preferred the one shown first) has the prior's interval about that mean,
1500 ± 1076·sqrt(1 − 1/N).

Rank ranges come from the same covariance: `scoring.ranks.from_covariance`, the project's one definition (i is
credibly above j when the 95% interval of their difference excludes 0).

The judge's lean. `first_position_share`: of the comparisons that named a winner, the share won by the one shown
first (0.5 = no lean), with a 95% Wilson interval on the effective sample size of comparisons clustered by pair;
`Fit.first_advantage`: the fitted first-position parameter in rating points. `order_inconsistency`: of the
matches (both orders of one pair by one judge), the share whose two orders disagreed; it mixes the lean with plain
noise (a judge with no lean and random answers disagrees with itself in most matches) and is no measure of either.

choix is not used: it has no tie or position model. The likelihood is written out in scoring/davidson.py and
minimised with scipy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from scoring import davidson
from scoring.ranks import RankRange, from_covariance

Preference = Literal["first", "second", "tie"]

ELO_BASE = 1500.0
ELO_PER_NAT = 400 / math.log(10)  # Elo points per unit of θ (about 173.7)

# L2 strength of the fit: the objective is  -loglik + ALPHA·Σθ², i.e. a N(0, 1/(2·ALPHA)) prior on each θ: with 0.05
# its standard deviation is about 3.2 nats (550 Elo points, 96:4 odds), weak next to the data of even a few
# comparisons yet enough to keep an undefeated hypothesis finite (about 4-5 nats above the field rather than
# infinity). It is also the whole interval of a hypothesis the comparisons say nothing about: 1500 ± 1076 (times
# sqrt(1 − 1/N), as every rating is relative to the mean of the tournament's N hypotheses).
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
    """Both orders of one (pair, judge): what order inconsistency counts (the ratings use every order on its own)."""

    a: str  # the lexicographically smaller id
    b: str
    judge: int
    winner: str | None  # a, b, or None when the orders agreed on a tie or disagreed
    consistent: bool  # the two orders agreed (both the same winner, or both tie)


def matches(comparisons: Iterable[Comparison]) -> list[Match]:
    """Both orders of each (pair, judge) made into one match, sorted by (a, b, judge).

    A (pair, judge) with only one order judged is left out (its other order may still be pending). Raises
    ValueError for a comparison of a hypothesis with itself or a (pair, judge, order) judged twice.
    """
    verdicts: dict[tuple[str, str, int], dict[bool, str | None]] = {}
    for c in _checked(comparisons):
        a, b = sorted((c.first, c.second))
        orders = verdicts.setdefault((a, b, c.judge), {})
        orders[c.first == a] = None if c.preferred == "tie" else c.first if c.preferred == "first" else c.second
    result = []
    for (a, b, judge), orders in sorted(verdicts.items()):
        if len(orders) < 2:
            continue
        consistent = orders[True] == orders[False]
        result.append(Match(a=a, b=b, judge=judge, winner=orders[True] if consistent else None, consistent=consistent))
    return result


def _checked(comparisons: Iterable[Comparison]) -> list[Comparison]:
    """The comparisons as a list; ValueError for a hypothesis compared with itself or an order judged twice."""
    found = list(comparisons)
    seen: set[tuple[str, str, int]] = set()
    for c in found:
        if c.first == c.second:
            raise ValueError(f"a comparison needs two different hypotheses, got {c.first!r} twice")
        if (c.first, c.second, c.judge) in seen:
            raise ValueError(f"judge {c.judge} compared {c.first!r} (shown first) with {c.second!r} twice")
        seen.add((c.first, c.second, c.judge))
    return found


def order_inconsistency(matches: Sequence[Match]) -> float | None:
    """Share of matches whose two orders disagreed; None when there are no matches. Not a measure of position bias
    (see `first_position_share`): a judge with no lean and random answers disagrees with itself in most matches."""
    if not matches:
        return None
    return sum(not m.consistent for m in matches) / len(matches)


@dataclass(frozen=True, slots=True)
class Share:
    """A proportion with its 95% interval, of `n` comparisons."""

    value: float
    lo: float
    hi: float
    n: int

    def as_json(self) -> dict[str, float]:
        return {"value": round(self.value, 4), "lo": round(self.lo, 4), "hi": round(self.hi, 4)}


def first_position_share(comparisons: Sequence[Comparison]) -> Share | None:
    """Of the comparisons that named a winner, the share that preferred the one shown first (0.5 = no lean), with
    its 95% interval; None when no comparison named a winner.

    The interval is Wilson's score interval on the effective sample size of a clustered sample (Korn & Graubard
    1998): the comparisons of one unordered pair (both orders, every judge) are a cluster, the design effect is the
    ratio of the clustered (ratio-estimator) variance to the binomial one, never below 1, and n_eff = n / effect.
    A judge whose answers about a pair move together (always the first shown for some pairs, the second for
    others) so counts as fewer independent trials; a share of 0 or 1 has no design effect to estimate and keeps n.
    """
    decided = [c for c in comparisons if c.preferred != "tie"]
    if not decided:
        return None
    n = len(decided)
    won: Counter[tuple[str, str]] = Counter()
    shown: Counter[tuple[str, str]] = Counter()
    for c in decided:
        pair = (min(c.first, c.second), max(c.first, c.second))
        shown[pair] += 1
        won[pair] += c.preferred == "first"
    p = sum(won.values()) / n
    effective = float(n)
    clusters = len(shown)
    if clusters > 1 and 0 < p < 1:
        residual = np.array([won[k] - p * shown[k] for k in shown], dtype=float)
        variance = clusters / (clusters - 1) * float(np.sum(residual**2)) / n**2
        effective = n / max(1.0, variance / (p * (1 - p) / n))
    z2 = _Z**2
    centre = (p + z2 / (2 * effective)) / (1 + z2 / effective)
    half = _Z * math.sqrt(p * (1 - p) / effective + z2 / (4 * effective**2)) / (1 + z2 / effective)
    return Share(p, max(0.0, centre - half), min(1.0, centre + half), n)


@dataclass(frozen=True, slots=True)
class Rating:
    id: str
    rating: float  # Elo-like scale: 1500 + 400·log10(odds)
    lo: float  # 95% interval, same scale
    hi: float
    wins: int  # comparisons (judged orders) it was preferred in
    ties: int
    losses: int
    ranks: RankRange  # where the data place it among the tournament's hypotheses

    @property
    def comparisons(self) -> int:
        """Judged orders it took part in: wins + ties + losses."""
        return self.wins + self.ties + self.losses


@dataclass(frozen=True, slots=True)
class Fit:
    """A tournament's fit: its ratings best first (equal ratings in id order; their rank ranges say which the data
    separate), and the fitted first-position advantage in rating points (None without comparisons)."""

    ratings: list[Rating]
    first_advantage: float | None


def fit(ids: Sequence[str], comparisons: Iterable[Comparison], *, alpha: float = ALPHA) -> Fit:
    """Ratings of every id in `ids` from the judged orders (module docstring).

    An id with no comparison is level with the field's mean (1500) with the prior's interval. The result does not
    depend on the order of `ids` or of `comparisons`; if every comparison is a tie, or every one preferred the one
    shown first, every rating is 1500 and every rank range 1–N. Raises ValueError for a repeated id, ids in
    `comparisons` that are not in `ids`, a hypothesis compared with itself, or an order judged twice by one judge.
    """
    found = _checked(comparisons)
    theta, covariance, position = _fitted(ids, found, alpha)
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    ranges = from_covariance(theta.tolist(), covariance).ranges()
    record = {i: [0, 0, 0] for i in ids}  # wins, ties, losses
    for c in found:
        if c.preferred == "tie":
            record[c.first][1] += 1
            record[c.second][1] += 1
        else:
            winner, loser = (c.first, c.second) if c.preferred == "first" else (c.second, c.first)
            record[winner][0] += 1
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
            ranks=rank,
        )
        for i, t, s, rank in zip(ids, theta, se, ranges, strict=True)
    ]
    # Ratings equal in theory can differ in the last bits of the optimiser's answer: compare them at 1e-6 points.
    ordered = sorted(ratings, key=lambda r: (-round(r.rating, 6), r.id))
    return Fit(ordered, None if position is None else ELO_PER_NAT * position)


def strengths(
    ids: Sequence[str], comparisons: Iterable[Comparison], *, alpha: float = ALPHA
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """θ (natural-log scale, mean 0 over `ids`) and its standard errors, in the order of `ids`: what pairing needs,
    without building `Rating`s. Same rules and errors as `fit`."""
    theta, covariance, _ = _fitted(ids, _checked(comparisons), alpha)
    return theta, np.sqrt(np.clip(np.diag(covariance), 0, None))


def _fitted(
    ids: Sequence[str], comparisons: Sequence[Comparison], alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], float | None]:
    """θ of `ids` (in their order), its covariance centred over `ids`, and the first-position parameter h."""
    if alpha <= 0:
        raise ValueError(f"alpha must be positive (an undefeated hypothesis would have infinite strength), got {alpha}")
    if len(set(ids)) != len(ids):
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        raise ValueError(f"ids repeated: {', '.join(repeated)}")
    unknown = sorted({x for c in comparisons for x in (c.first, c.second)} - set(ids))
    if unknown:
        raise ValueError(f"comparisons name hypotheses not in ids: {', '.join(unknown)}")
    n = len(ids)
    theta = np.zeros(n)
    covariance = np.eye(n) / (2 * alpha)  # the prior, for every id with no comparison
    position = None
    if comparisons:
        played, design = _design(comparisons)
        estimate = davidson.fit(design, alpha)
        where = {x: k for k, x in enumerate(ids)}
        at = np.array([where[x] for x in played], dtype=np.intp)
        k = len(played)
        theta[at] = estimate.beta[:k]
        covariance[np.ix_(at, at)] = estimate.covariance[:k, :k]
        position = float(estimate.beta[design.h])
    # Ratings are relative to the mean of `ids`: their covariance is P·V·P with P the centring projection.
    centring = np.eye(n) - 1 / n
    return theta - theta.mean(), centring @ covariance @ centring, position


def _design(comparisons: Sequence[Comparison]) -> tuple[list[str], davidson.Design]:
    """The ids that played (sorted) and the comparisons as index arrays, in a canonical order (sorted by first,
    second, judge) so the optimiser sees the same input, and returns the same bits, however the caller ordered
    them."""
    played = sorted({x for c in comparisons for x in (c.first, c.second)})
    index = {x: k for k, x in enumerate(played)}
    rows = sorted((index[c.first], index[c.second], c.judge, c.preferred) for c in comparisons)
    pairs = sorted({(min(a, b), max(a, b)) for a, b, _, _ in rows})
    cluster = {p: k for k, p in enumerate(pairs)}
    outcome = {"first": davidson.FIRST, "second": davidson.SECOND, "tie": davidson.TIE}
    design = davidson.Design(
        n=len(played),
        first=np.array([r[0] for r in rows], dtype=np.intp),
        second=np.array([r[1] for r in rows], dtype=np.intp),
        outcome=np.array([outcome[r[3]] for r in rows], dtype=np.intp),
        cluster=np.array([cluster[(min(a, b), max(a, b))] for a, b, _, _ in rows], dtype=np.intp),
    )
    return played, design


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
