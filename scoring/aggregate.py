"""A hypothesis's score on one scoreboard, with a 95% interval from the scoreboard's pooled variance model.

The score of a hypothesis version is the mean over its debates of each debate's panel mean. Its uncertainty comes
from a model of the whole scoreboard, fitted from every debate and verdict on it:

    composite(debate d of version h, judge seat j) = μ_h + s_j + δ_d + ε_dj

with the seat effects s_j fixed (seat j is one configured judge: a model and a persona; the score is defined over
the panel's seats, so a harsh seat shifts every hypothesis alike), δ_d ~ (0, σ²_debate) the variation between
repeated debates of one version, and ε_dj ~ (0, σ²_judge) the judges' residual spread within a debate.

The two variance components are estimated by the method of moments, pooled over the scoreboard:
- σ²_judge from the within-debate residuals after the seat effects (a two-way fit, debates × seats), with
  Σ(panel size − 1) − (seats − 1) degrees of freedom;
- σ²_debate from the spread of the seat-adjusted debate means around their version's mean, over the versions
  debated more than once: MS_between estimates σ²_debate + σ²_judge·mean(1/panel size), so
  σ²_debate = max(0, MS_between − σ²_judge·mean(1/panel size)), with Σ(debates − 1) degrees of freedom.

A version with D debates of panel sizes K_1..K_D then has

    SE² = σ²_debate / D + σ²_judge · Σ(1/K_d) / D²

on the Satterthwaite degrees of freedom of that combination, and the interval mean ± t·SE intersected with [0, 1]
(the true mean lies in [0, 1], so the intersection keeps the coverage; one side always keeps its full t·SE, so the
interval is never narrower than the standard error). A version with one debate, or one verdict, borrows the
scoreboard's variance. The interval's kind says what it rests on:

- `pooled`: both components, with at least MIN_DF degrees of freedom;
- `bound`: too few repeated debates on the scoreboard to measure σ²_debate (the README's one-debate batch): it is
  bounded instead by the spread of all debate means around their grand mean, as if the hypotheses did not differ
  at all (a conservative interval: their real differences only widen it), on debates − 1 degrees of freedom;
- `no-variation`: not a digit of variation anywhere on the scoreboard (zero width, and the words say so);
- `too-few`: too few debates and verdicts on the scoreboard to estimate its noise: no interval.

Pure arithmetic (numpy and scipy): the store hands in the scoreboard's verdicts (store.repository).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from scoring.composite import ScoreError, check_panel
from scoring.measured import IntervalKind

CONFIDENCE = 0.95
MIN_DF = 3  # fewer degrees of freedom than this (t above 3.2) is said in words, not shown as an interval


@dataclass(frozen=True, slots=True)
class HypothesisScore:
    mean: float  # mean over debates of each debate's panel mean
    lo: float | None  # 95% interval inside [0, 1]; None when its kind shows no interval
    hi: float | None
    interval: IntervalKind
    debates: int
    verdicts: int
    se: float | None = None  # standard error of `mean` under the scoreboard's model; None without one
    df: float | None = None  # its degrees of freedom


@dataclass(frozen=True, slots=True)
class BoardVerdict:
    """One judge's composite in one completed debate on the scoreboard."""

    unit: Hashable  # the hypothesis version debated, e.g. (hypothesis id, content hash)
    debate: str
    seat: int  # the judge's seat in the panel
    composite: float


@dataclass(frozen=True, slots=True)
class BoardNoise:
    """The scoreboard's variance components: what every version's interval on it rests on."""

    judge_var: float  # σ²_judge (0 when no panel had two judges)
    judge_df: int
    debate_var: float | None  # σ²_debate; None when too few versions were debated twice to estimate it
    debate_df: int
    mean_inverse_panel: float  # mean(1/panel size) over the repeated debates, what MS_between carries of σ²_judge
    bound_var: float = 0.0  # an upper bound on σ²_debate: every difference between debates counted as noise
    bound_df: int = 0  # debates − 1

    @classmethod
    def fit(cls, verdicts: Iterable[BoardVerdict]) -> BoardNoise:
        """Estimate the components from every verdict on the scoreboard."""
        rows = list(verdicts)
        for v in rows:
            if not 0.0 <= v.composite <= 1.0 or math.isnan(v.composite):
                raise ScoreError(f"composites must lie in [0, 1], debate {v.debate} has {v.composite}")
        if not rows:
            return cls(0.0, 0, None, 0, 1.0)
        debate_effect, judge_ss, judge_df = _two_way(rows)
        judge_var = judge_ss / judge_df if judge_df > 0 else 0.0
        by_unit: dict[Hashable, list[str]] = defaultdict(list)
        panel_size: dict[str, int] = defaultdict(int)
        for v in rows:
            panel_size[v.debate] += 1
            if v.debate not in by_unit[v.unit]:
                by_unit[v.unit].append(v.debate)
        bound_var, bound_df = _bound(debate_effect, panel_size, judge_var)
        repeated = [ds for ds in by_unit.values() if len(ds) >= 2]
        debate_df = sum(len(ds) - 1 for ds in repeated)
        if debate_df == 0:
            return cls(judge_var, judge_df, None, 0, 1.0, bound_var, bound_df)
        between_ss = 0.0
        for ds in repeated:
            effects = [debate_effect[d] for d in ds]
            centre = statistics.fmean(effects)
            between_ss += sum((e - centre) ** 2 for e in effects)
        inverse = statistics.fmean(1 / panel_size[d] for ds in repeated for d in ds)
        ms_between = between_ss / debate_df
        debate_var = max(0.0, ms_between - judge_var * inverse) if judge_df > 0 else ms_between
        return cls(judge_var, judge_df, debate_var, debate_df, inverse, bound_var, bound_df)

    def score(self, debates: Sequence[Sequence[float]]) -> HypothesisScore:
        """Score one version from its completed debates, each the list of its judges' composites in [0, 1]."""
        if not debates:
            raise ScoreError("a hypothesis score needs at least one debate")
        for composites in debates:
            check_panel(composites)
        mean = statistics.fmean(statistics.fmean(composites) for composites in debates)
        counts = (len(debates), sum(len(composites) for composites in debates))
        inverse_sum = sum(1 / len(composites) for composites in debates)
        kind, se, df = self._error(len(debates), inverse_sum)
        if se is None or df is None:
            return HypothesisScore(mean, None, None, kind, *counts, se=None, df=df)
        if se == 0.0:
            return HypothesisScore(mean, mean, mean, kind, *counts, se=0.0, df=df)
        half = _t_quantile(df) * se
        lo, hi = max(0.0, mean - half), min(1.0, mean + half)
        return HypothesisScore(mean, lo, hi, kind, *counts, se=se, df=df)

    def _error(self, d: int, inverse_sum: float) -> tuple[IntervalKind, float | None, float | None]:
        """(kind, standard error, degrees of freedom) of a version with `d` debates and Σ(1/panel size)."""
        judge_part = self.judge_var * inverse_sum / d**2
        if self.debate_var is not None:
            if self.debate_var == 0.0 and self.judge_var == 0.0:
                return "no-variation", 0.0, float(self.debate_df + self.judge_df)
            df = self._satterthwaite(d, inverse_sum)
            if df >= MIN_DF:
                return "pooled", math.sqrt(self.debate_var / d + judge_part), df
        if self.bound_df >= MIN_DF:
            if self.bound_var == 0.0 and self.judge_var == 0.0:
                return "no-variation", 0.0, float(self.bound_df)
            return "bound", math.sqrt(self.bound_var / d + judge_part), float(self.bound_df)
        return "too-few", None, float(self.judge_df + self.debate_df)

    def _satterthwaite(self, d: int, inverse_sum: float) -> float:
        """Degrees of freedom of SE² written as a combination of the two mean squares it is estimated from."""
        assert self.debate_var is not None
        if self.judge_df == 0:
            return float(self.debate_df)  # single-judge panels: MS_between carries the whole variance
        if self.debate_var == 0.0:
            return float(self.judge_df)  # σ²_debate clipped at 0: the judges' mean square alone
        ms_between = self.debate_var + self.judge_var * self.mean_inverse_panel
        between = ms_between / d
        judges = self.judge_var * (inverse_sum / d**2 - self.mean_inverse_panel / d)
        denominator = between**2 / self.debate_df + judges**2 / self.judge_df
        return (between + judges) ** 2 / denominator if denominator > 0 else float(self.debate_df + self.judge_df)


def _bound(debate_effect: dict[str, float], panel_size: dict[str, int], judge_var: float) -> tuple[float, int]:
    """An upper bound on σ²_debate when too few debates are repeated to measure it: the spread of all debate means
    around their grand mean, less the judges' part, as if the hypotheses did not differ at all (their real
    differences only widen it). (bound, its degrees of freedom: debates − 1)."""
    effects = list(debate_effect.values())
    if len(effects) < 2:
        return 0.0, 0
    total = statistics.variance(effects)
    inverse = statistics.fmean(1 / panel_size[d] for d in debate_effect)
    return max(0.0, total - judge_var * inverse), len(effects) - 1


@functools.lru_cache(maxsize=1024)
def _t_quantile(df: float) -> float:
    """The two-sided 95% Student-t quantile (versions of one design share their df: one scipy call each)."""
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))


def _two_way(rows: Sequence[BoardVerdict]) -> tuple[dict[str, float], float, int]:
    """Debates × seats additive fit by backfitting: (each debate's seat-adjusted mean, residual sum of squares,
    its degrees of freedom). Seats that never sat beside another judge carry no information and count no df."""
    debates = sorted({v.debate for v in rows})
    seats = sorted({v.seat for v in rows})
    d_index = {d: k for k, d in enumerate(debates)}
    s_index = {s: k for k, s in enumerate(seats)}
    di = np.array([d_index[v.debate] for v in rows])
    si = np.array([s_index[v.seat] for v in rows])
    y = np.array([v.composite for v in rows], dtype=float)
    d_count = np.bincount(di, minlength=len(debates))
    s_count = np.bincount(si, minlength=len(seats))
    seat = np.zeros(len(seats))
    for _ in range(500):
        alpha = np.bincount(di, y - seat[si], minlength=len(debates)) / d_count
        new = np.bincount(si, y - alpha[di], minlength=len(seats)) / s_count
        new -= np.average(new, weights=s_count)
        done = np.max(np.abs(new - seat)) < 1e-12
        seat = new
        if done:
            break
    alpha = np.bincount(di, y - seat[si], minlength=len(debates)) / d_count
    residual = y - alpha[di] - seat[si]
    shared = d_count[di] >= 2  # verdicts in panels of two or more
    seats_shared = len(set(si[shared].tolist()))
    df = int(np.sum(d_count[d_count >= 2] - 1)) - max(0, seats_shared - 1)
    ss = float(np.sum(residual[shared] ** 2))
    return {d: float(alpha[k]) for d, k in d_index.items()}, ss, max(0, df)


def board_scores(verdicts: Sequence[BoardVerdict]) -> dict[Hashable, HypothesisScore]:
    """Every version's score on one scoreboard, from all of the scoreboard's verdicts."""
    noise = BoardNoise.fit(verdicts)
    panels: dict[Hashable, dict[str, list[float]]] = defaultdict(dict)
    for v in verdicts:
        panels[v.unit].setdefault(v.debate, []).append(v.composite)
    return {unit: noise.score(list(debates.values())) for unit, debates in panels.items()}
