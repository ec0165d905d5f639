"""Student's t quantile in plain Python: what `scipy.special.stdtrit(df, p)` gives, to about 1e-13, without scipy.

Rank ranges need one t quantile per distinct degrees of freedom of a ranking (a few, usually one). Importing
scipy.special for them costs a quarter of a second, as much as ranking 2,000 hypotheses itself; this costs a few
hundred microseconds per quantile.

For many degrees of freedom the Cornish-Fisher expansion around the normal quantile z (Abramowitz and Stegun
26.7.5, five terms) is exact to rounding, and is the answer. Otherwise the quantile t of `p > 1/2` is the root of
Q(t) = 1 − p, where Q is the upper tail,

    Q(t) = I_x(df/2, 1/2) / 2,   x = df / (df + t²)

(I, the regularized incomplete beta function, by its continued fraction, as Numerical Recipes §6.4 computes it),
found by Newton's method from the expansion, inside a bracket that starts at z (t's tails are heavier than the
normal's) and is halved whenever a step would leave it. The log of Γ(a + 1/2) / Γ(a) comes from its asymptotic
series for large a, where the difference of two `math.lgamma` values would lose digits.
"""

from __future__ import annotations

import functools
import math
import statistics

_EPS = 1e-15
_TINY = 1e-300
_HUGE = 1e150
_HALF_LOG_PI = 0.5 * math.log(math.pi)


def quantile(df: float, p: float) -> float:
    """The `p` quantile of Student's t with `df` degrees of freedom (`math.inf`: the normal's). As stdtrit: NaN when
    `df` is not positive; ±inf at p = 0 or 1, and for a quantile beyond 1e150 (under one degree of freedom, far out in
    the tail). Raises ValueError for a `p` outside [0, 1]."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], not {p}")
    if not df > 0:
        return math.nan
    if p in (0.0, 1.0):
        return math.copysign(math.inf, p - 0.5)
    if p < 0.5:
        return -quantile(df, 1.0 - p)
    if p == 0.5:
        return 0.0
    return _upper(float(df), p)


@functools.lru_cache(maxsize=256)
def _upper(df: float, p: float) -> float:
    z = statistics.NormalDist().inv_cdf(p)
    if math.isinf(df):
        return z
    guess, last_term = _cornish_fisher(df, z)
    if abs(last_term) <= _EPS * guess:  # the expansion has converged: a root-finder would only add rounding
        return guess
    t = max(z, guess)
    lo, hi = z, t  # the root lies above z; doubling `hi` brackets it
    while _excess(df, hi, p) > 0:
        if hi > _HUGE:  # t² would overflow: under one degree of freedom, far out in the tail
            return math.inf
        lo, hi = hi, 2 * hi
    for _ in range(200):
        excess = _excess(df, t, p)
        step = excess / _density(df, t)
        if abs(step) <= 1e-13 * t:  # Newton's next error is the square of this: below rounding
            return t + step
        lo, hi = (t, hi) if excess > 0 else (lo, t)
        # a step out of the bracket halves it instead (geometrically: a far tail spans decades)
        t = t + step if lo < t + step < hi else math.sqrt(lo * hi)
    return t


def _excess(df: float, t: float, p: float) -> float:
    """How much probability lies beyond `t` more than `p` leaves there: positive below the quantile, negative above.
    Read from the tail far out, from the centre near it, where each is computed without cancellation."""
    tail, centre = _split(df, t)
    return tail - (1.0 - p) if p > 0.75 else (p - 0.5) - centre


def _cornish_fisher(df: float, z: float) -> tuple[float, float]:
    """The t quantile by its expansion in powers of 1/df around the normal quantile `z` (Abramowitz and Stegun
    26.7.5), and the expansion's last term, which bounds its error."""
    s = z * z
    terms = (
        z * (s + 1) / 4,
        z * ((5 * s + 16) * s + 3) / 96,
        z * (((3 * s + 19) * s + 17) * s - 15) / 384,
        z * ((((79 * s + 776) * s + 1482) * s - 1920) * s - 945) / 92160,
        z * (((((27 * s + 339) * s + 930) * s - 1782) * s - 765) * s + 17955) / 368640,
    )
    powers = [terms[k] / df ** (k + 1) for k in range(len(terms))]
    return z + sum(powers), powers[-1]


def _log_gamma_ratio(a: float) -> float:
    """log Γ(a + 1/2) − log Γ(a), for a > 0."""
    if a < 12.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)
    # Stirling: Σ (2^(1−2k) − 2) B_2k / (2k (2k−1) a^(2k−1)), k = 1..5
    r = 1.0 / (a * a)
    series = (-1 / 8 + r * (1 / 192 + r * (-1 / 640 + r * (17 / 14336 - r * 31 / 18432)))) / a
    return 0.5 * math.log(a) + series


def _density(df: float, t: float) -> float:
    """The t density at `t`."""
    log_c = _log_gamma_ratio(df / 2) - 0.5 * math.log(df) - _HALF_LOG_PI
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def _split(df: float, t: float) -> tuple[float, float]:
    """P(T > t) and P(0 < T < t), for t > 0: the one the continued fraction gives directly, the other as its
    complement to 1/2."""
    a, b = df / 2, 0.5
    x, y = df / (df + t * t), t * t / (df + t * t)  # y = 1 − x, without the cancellation
    log_front = -a * math.log1p(t * t / df) + b * math.log(y) - (_HALF_LOG_PI - _log_gamma_ratio(a))
    if x < (a + 1) / (a + b + 2):
        tail = math.exp(log_front) * _continued_fraction(a, b, x) / a / 2
        return tail, 0.5 - tail
    centre = math.exp(log_front) * _continued_fraction(b, a, y) / b / 2
    return 0.5 - centre, centre


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), by the modified Lentz method."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) <= _EPS:
            break
    return h
