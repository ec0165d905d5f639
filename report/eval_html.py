"""The eval report: one self-contained HTML file from the result dict of `hypodebate eval`.

`render_eval_html(result)` shows whether a judge's composite scores (0 to 1) predict real outcomes: per
protocol AUROC, Brier, ECE (against its noise floor), pairwise accuracy and test-retest agreement with their
cluster-bootstrap intervals, the base-rate baseline, the lift of one protocol over another (saying what it
compares), per-stratum tables (a stratum with under 5 rows of a class shows "too small", not figures), a
reliability diagram and score histograms by label (inline SVG), and the cost of the calls.

File names, model names, strata names and values come from user files or servers: every string is untrusted.
The template's environment escapes everything (SVG text too), nothing here is marked safe, and the page has
no script at all: its Content-Security-Policy forbids every fetch and every script.

The dict is read leniently (a missing or null value shows as "—", a non-finite number counts as null) into
frozen views, so the template never meets a raw value it has to second-guess.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from debates.eval_result import EvalResult
from report.render import TEMPLATES, Bin, usd, when
from safeio.templating import environment
from safeio.text import safe_text

DEFAULT_TITLE = "Evaluation against real outcomes"
DASH = "—"


# -- reading the dict leniently -------------------------------------------------------------------


def _number(value: object) -> float | None:
    """A finite number (numpy's too), or None: null, a bool, a string, NaN and infinities are all "no value"."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _count(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _text(value: object) -> str:
    return "" if value is None else safe_text(value)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


# -- formatting (template filters) ----------------------------------------------------------------


def fixed(value: object, digits: int = 2) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:.{digits}f}"


def count(value: object) -> str:
    number = _count(value)
    return DASH if number is None else f"{number:,}"


def share(part: object, whole: object) -> str:
    """`part` as a percentage of `whole` ("41%"); a dash when either is missing or `whole` is 0."""
    p, w = _count(part), _count(whole)
    return DASH if p is None or not w else f"{100 * p / w:.0f}%"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its bootstrap interval (and, for pairwise accuracy, the number of pairs)."""

    value: float | None
    lo: float | None
    hi: float | None
    pairs: int | None = None

    @classmethod
    def read(cls, raw: object) -> Estimate | None:
        if not isinstance(raw, Mapping):
            return None
        return cls(_number(raw.get("value")), _number(raw.get("lo")), _number(raw.get("hi")), _count(raw.get("pairs")))

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return DASH
        return f"{self.value:.{digits}f} [{fixed(self.lo, digits)}, {fixed(self.hi, digits)}]"

    @property
    def reading(self) -> tuple[Literal["lift-no", "lift-yes", "lift-worse"], str]:
        """What the interval says about a difference (a lift) from 0: a CSS class and a phrase."""
        if self.lo is None or self.hi is None:
            return "lift-no", "no interval"
        if self.lo <= 0 <= self.hi:
            return "lift-no", "the interval includes 0: no detectable lift"
        return ("lift-yes", "above 0: a detectable lift") if self.lo > 0 else ("lift-worse", "below 0: worse")


def estimate(value: Estimate | None, digits: int = 2) -> str:
    return DASH if value is None else value.text(digits)


@dataclass(frozen=True, slots=True)
class Calibration:
    """ECE with its bootstrap interval and its noise floor (the 95th percentile of a perfectly calibrated score's
    ECE at the same n). An older result's bare number reads as a value with no interval and no floor."""

    value: float | None
    lo: float | None
    hi: float | None
    floor: float | None

    @classmethod
    def read(cls, raw: object) -> Calibration | None:
        if isinstance(raw, Mapping):
            return cls(
                _number(raw.get("value")), _number(raw.get("lo")), _number(raw.get("hi")), _number(raw.get("floor"))
            )
        value = _number(raw)
        return None if value is None else cls(value, None, None, None)

    def text(self) -> str:
        if self.value is None:
            return DASH
        interval = f" [{self.lo:.3f}, {self.hi:.3f}]" if self.lo is not None and self.hi is not None else ""
        return f"{self.value:.3f}{interval}"

    @property
    def reading(self) -> tuple[Literal["ece-ok", "ece-above", "ece-unknown"], str]:
        """Where the ECE stands against its noise floor: a CSS class and a phrase."""
        if self.value is None or self.floor is None:
            return "ece-unknown", "no noise floor"
        if self.value > self.floor:
            return "ece-above", f"above the noise floor {self.floor:.3f}"
        return "ece-ok", f"within the noise floor {self.floor:.3f}"


def calibration_error(value: Calibration | None) -> str:
    return DASH if value is None else value.text()


# -- charts (inline SVG geometry; the template draws it) ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationPoint(Bin):
    """A calibration bin with rows in it: a circle of radius `r` at (its mean score, its fraction labelled 1)."""

    mean_score: float
    fraction_positive: float
    r: float

    @property
    def n(self) -> int:
        """Rows in the bin."""
        return self.count


@dataclass(frozen=True, slots=True)
class CalibrationPlot:
    """A reliability diagram: mean score per bin (x) against the fraction with label 1 (y)."""

    points: tuple[CalibrationPoint, ...]
    empty_bins: int
    size: int = 300
    left: int = 44
    top: int = 12
    side: int = 240  # the square plot area

    def x(self, value: float) -> float:
        return round(self.left + self.side * min(1.0, max(0.0, value)), 1)

    def y(self, value: float) -> float:
        return round(self.top + self.side * (1.0 - min(1.0, max(0.0, value))), 1)

    @property
    def path(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def calibration_plot(bins: Sequence[Any]) -> CalibrationPlot:
    rows = [_mapping(b) for b in bins]
    filled = []  # bins with rows in them: (bin, n, mean score, fraction positive)
    for b in rows:
        n, mean, frac = _count(b.get("n")), _number(b.get("mean_score")), _number(b.get("fraction_positive"))
        if n and mean is not None and frac is not None:
            filled.append((b, n, mean, frac))
    top = max((n for _, n, _, _ in filled), default=1)
    base = CalibrationPlot((), 0)
    points = tuple(
        CalibrationPoint(
            lo=_number(b.get("lo")) or 0.0,
            hi=_number(b.get("hi")) or 0.0,
            count=n,
            mean_score=mean,
            fraction_positive=frac,
            x=base.x(mean),
            y=base.y(frac),
            r=round(3 + 7 * math.sqrt(n / top), 1),
        )
        for b, n, mean, frac in sorted(filled, key=lambda item: item[2])
    )
    return CalibrationPlot(points, len(rows) - len(points))


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar(Bin):
    """One label's bar in a bin of the label histogram."""

    label: Literal[1, 0]
    width: float


@dataclass(frozen=True, slots=True)
class LabelHistogram:
    """Score histograms of the rows labelled 1 and 0, side by side in each bin."""

    bars: tuple[Bar, ...]
    bins: int
    top: int
    width: int = 440
    height: int = 190
    left: int = 40
    bottom: int = 150
    span: int = 380  # the plot's width

    def x(self, value: float) -> float:
        return round(self.left + self.span * value, 1)


def label_histogram(raw: object) -> LabelHistogram:
    hist = _mapping(raw)
    positive = [_count(c) or 0 for c in _sequence(hist.get("positive"))]
    negative = [_count(c) or 0 for c in _sequence(hist.get("negative"))]
    bins = max(len(positive), len(negative))
    positive += [0] * (bins - len(positive))
    negative += [0] * (bins - len(negative))
    edges = [_number(e) for e in _sequence(hist.get("edges"))]
    if len(edges) != bins + 1 or any(e is None for e in edges):
        edges = [i / bins for i in range(bins + 1)] if bins else []
    top = max(positive + negative, default=0) or 1
    base = LabelHistogram((), bins, top)
    step = base.span / bins if bins else 0.0
    bars = []
    for i in range(bins):
        lo, hi = edges[i] or 0.0, edges[i + 1] or 0.0
        for offset, label, value in ((0, 1, positive[i]), (1, 0, negative[i])):
            height = round((base.bottom - 24) * value / top, 1)
            x = round(base.left + i * step + 2 + offset * (step - 4) / 2, 1)
            y = round(base.bottom - height, 1)
            bars.append(Bar(lo, hi, value, x, y, height, label=label, width=round((step - 4) / 2, 1)))
    return LabelHistogram(tuple(bars), bins, top)


# -- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StratumView:
    name: str
    n: int | None
    positives: int | None
    auroc: Estimate | None
    brier: float | None
    base_rate_brier: float | None  # the stratum's own bar: each of its rows scored at its base rate
    ece: Calibration | None
    pairwise: Estimate | None
    too_small: bool  # fewer than 5 rows of a class: no figure is shown


@dataclass(frozen=True, slots=True)
class ProtocolView:
    key: str
    design: str
    evidence: bool | None
    rounds: int | None
    judges: int | None
    replicates: int | None
    protocol_hash: str
    rubric_hash: str
    scoreboard: str
    judge_models: tuple[str, ...]
    n: int | None
    missing: int | None
    positives: int | None
    auroc: Estimate | None
    brier: float | None
    ece: Calibration | None
    pairwise: Estimate | None
    too_small: bool
    test_retest: float | None
    calls: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_prompt_tokens: int | None  # None: an eval written before cached tokens were recorded
    cost_usd: float | None  # None: unknown (a model without a price), or not given
    calibration: CalibrationPlot
    histogram: LabelHistogram
    strata: tuple[StratumView, ...]


@dataclass(frozen=True, slots=True)
class LiftView:
    name: str
    estimate: Estimate
    n: int | None
    metric: str
    compares: str  # e.g. "debate (3 judges) − single call (3 judges, no debate)"


@dataclass(frozen=True, slots=True)
class EvalView:
    title: str
    generated_at: str
    files: tuple[str, ...]
    rows: int | None
    sample: tuple[int | None, int | None] | None  # (limit, seed)
    bootstrap: tuple[int | None, int | None, float]  # (resamples, seed, level)
    clusters: int | None  # what the bootstrap resampled whole (pairs, genes' rows, lone rows)
    model: str
    demo: bool
    base_rate: float | None
    base_rate_brier: float | None
    protocols: tuple[ProtocolView, ...]
    lifts: tuple[LiftView, ...]
    strata_skipped: tuple[tuple[str, str], ...]

    @property
    def cost(self) -> tuple[int, int, int, float | None, int]:
        """Calls, prompt tokens, completion tokens, cost (None: some protocol's is unknown) and cached prompt tokens
        over every protocol."""
        ps = self.protocols
        return (
            sum(p.calls or 0 for p in ps),
            sum(p.prompt_tokens or 0 for p in ps),
            sum(p.completion_tokens or 0 for p in ps),
            None if any(p.cost_usd is None for p in ps) else sum(p.cost_usd or 0.0 for p in ps),
            sum(p.cached_prompt_tokens or 0 for p in ps),
        )


def _read(raw: Mapping[str, Any], **readers: Callable[[object], Any]) -> dict[str, Any]:
    """Each field from the key of the same name, checked by its reader (the values are untrusted)."""
    return {name: read(raw.get(name)) for name, read in readers.items()}


def _figures(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What a protocol and each of its strata report alike: rows, positives, AUROC, Brier, ECE, pairwise accuracy,
    and whether a class has too few rows to read them."""
    figures = _read(raw, n=_count, positives=_count, auroc=Estimate.read, brier=_number, ece=Calibration.read)
    return {
        **figures,
        "pairwise": Estimate.read(raw.get("pairwise_accuracy")),
        "too_small": raw.get("too_small") is True,
    }


def _stratum(name: object, raw: object) -> StratumView:
    s = _mapping(raw)
    return StratumView(name=_text(name), base_rate_brier=_number(s.get("base_rate_brier")), **_figures(s))


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _protocol(key: object, raw: object) -> ProtocolView:
    p = _mapping(raw)
    counts = (
        "rounds",
        "judges",
        "replicates",
        "missing",
        "calls",
        "prompt_tokens",
        "completion_tokens",
        "cached_prompt_tokens",
    )
    return ProtocolView(
        key=_text(key),
        design=_text(p.get("design")),
        evidence=_flag(p.get("evidence")),
        protocol_hash=_text(p.get("protocol_hash")) or "?",
        rubric_hash=_text(p.get("rubric_hash")) or "?",
        scoreboard=_text(p.get("scoreboard")) or "?",
        judge_models=tuple(_text(m) for m in _sequence(p.get("judge_models"))),
        **_figures(p),
        **_read(p, test_retest=_number, cost_usd=_number, **dict.fromkeys(counts, _count)),
        calibration=calibration_plot(_sequence(p.get("calibration"))),
        histogram=label_histogram(p.get("histogram")),
        strata=tuple(_stratum(name, s) for name, s in _mapping(p.get("strata")).items()),
    )


def _generated_at(value: object) -> str:
    """An ISO timestamp as the transcript report writes it (UTC); anything else as it came."""
    text = _text(value)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return text or DASH
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return when(stamp)


def eval_view(result: EvalResult | Mapping[str, Any]) -> EvalView:
    """The report's view of an eval's figures: an EvalResult, or one read back from its JSON (every field is read
    defensively: a missing or odd value shows as a dash, never breaks the page)."""
    sample = result.get("sample")
    boot = _mapping(result.get("bootstrap"))
    lifts = tuple(
        LiftView(
            _text(name),
            Estimate.read(raw) or Estimate(None, None, None),
            _count(_mapping(raw).get("n")),
            _text(_mapping(raw).get("metric")) or "AUROC",
            _text(_mapping(raw).get("compares")) or _text(name),
        )
        for name, raw in _mapping(result.get("lift")).items()
    )
    return EvalView(
        title=_text(result.get("title")) or DEFAULT_TITLE,
        generated_at=_generated_at(result.get("generated_at")),
        files=tuple(_text(f) for f in _sequence(result.get("files"))),
        rows=_count(result.get("rows")),
        sample=(_count(sample.get("limit")), _count(sample.get("seed"))) if isinstance(sample, Mapping) else None,
        bootstrap=(_count(boot.get("resamples")), _count(boot.get("seed")), _number(boot.get("level")) or 0.95),
        clusters=_count(boot.get("clusters")),
        model=_text(result.get("model")),
        demo=result.get("demo") is True,
        base_rate=_number(result.get("base_rate")),
        base_rate_brier=_number(result.get("base_rate_brier")),
        protocols=tuple(_protocol(key, p) for key, p in _mapping(result.get("protocols")).items()),
        lifts=lifts,
        strata_skipped=tuple((_text(k), _text(v)) for k, v in _mapping(result.get("strata_skipped")).items()),
    )


# -- rendering ------------------------------------------------------------------------------------


ENV = environment(
    TEMPLATES,
    filters={
        "fixed": fixed,
        "count": count,
        "estimate": estimate,
        "calibration": calibration_error,
        "usd": usd,
        "share": share,
    },
)


def render_eval_html(result: EvalResult | Mapping[str, Any]) -> str:
    """The eval report as one HTML file that loads nothing and runs no script."""
    return ENV.get_template("eval.html.j2").render(view=eval_view(result))
