"""A hypothesis's score on one scoreboard: mean over debates of each debate's panel mean, with a 95% t-interval."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from scoring.composite import ScoreError, panel
from scoring.measured import IntervalKind

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class HypothesisScore:
    mean: float  # mean over debates of each debate's panel mean
    lo: float | None  # 95% interval, clamped to [0, 1]; None when kind is "none"
    hi: float | None
    interval: IntervalKind  # "between-debates": replicate variation; "panel": judge spread of a single debate only
    debates: int
    verdicts: int


def _t_interval(sample: Sequence[float], mean: float) -> tuple[float, float]:
    """Student-t 95% interval for the mean of `sample` (n >= 2), clamped to [0, 1]; [mean, mean] if it is constant."""
    scale = 0.0 if min(sample) == max(sample) else float(stats.sem(sample))
    if not scale > 0.0:
        return mean, mean  # zero variance (or underflow): scipy would return NaN for a zero scale
    lo, hi = stats.t.interval(CONFIDENCE, len(sample) - 1, loc=mean, scale=scale)
    return max(0.0, float(lo)), min(1.0, float(hi))


def hypothesis_score(debates: Sequence[Sequence[float]]) -> HypothesisScore:
    """Score one hypothesis from its completed debates, each given as the list of its judges' composites in [0, 1].

    Two or more debates: t-interval over the debate scores ("between-debates"). One debate with two or more
    judges: t-interval over that panel's composites ("panel", judge spread only). One verdict: no interval ("none").
    Raises ScoreError (a ValueError) for no debates, an empty panel, or a composite outside [0, 1] or NaN.
    """
    if not debates:
        raise ScoreError("a hypothesis score needs at least one debate")
    panels = [panel(list(composites)) for composites in debates]
    debate_scores = [p.mean for p in panels]
    mean = statistics.fmean(debate_scores)
    verdicts = sum(p.n for p in panels)
    if len(debate_scores) >= 2:
        lo, hi = _t_interval(debate_scores, mean)
        kind: IntervalKind = "between-debates"
    elif verdicts >= 2:
        lo, hi = _t_interval([float(c) for c in debates[0]], mean)
        kind = "panel"
    else:
        return HypothesisScore(mean=mean, lo=None, hi=None, interval="none", debates=1, verdicts=1)
    return HypothesisScore(mean=mean, lo=lo, hi=hi, interval=kind, debates=len(debate_scores), verdicts=verdicts)
