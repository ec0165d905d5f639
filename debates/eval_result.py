"""The shape of an eval's result (`EvalRunner.run`, `hypodebate.api.run_eval`): what `hypodebate eval` prints,
`--json` writes and report/eval_html.py renders. Plain dicts, typed: the JSON is the dict as it is, key for key,
in the order built."""

from __future__ import annotations

from typing import TypedDict


class Interval(TypedDict):
    """An estimate with its 95% bootstrap interval (None where undefined); `pairs` for pairwise accuracy."""

    value: float | None
    lo: float | None
    hi: float | None


class PairedInterval(Interval):
    pairs: int


class CalibrationInterval(Interval):
    """ECE with its 95% cluster-bootstrap interval and `floor`: the 95th percentile of the ECE a perfectly
    calibrated score reaches by chance at these scores (scoring.evaluation.calibration_error)."""

    floor: float | None


class Figures(TypedDict):
    """How well one protocol's scores predict the labels, on the rows it scored (all, or one stratum's)."""

    n: int
    positives: int
    too_small: bool  # fewer than 5 rows of a class: the figures are shown, never as confident ones
    auroc: Interval
    brier: float | None  # None for ratings (the pairwise arm) and with no rows
    base_rate_brier: float | None  # the bar a Brier score must beat on these very rows
    ece: CalibrationInterval | None  # None for ratings (the pairwise arm)
    pairwise_accuracy: PairedInterval | None  # None when no row belongs to a pair


class ProtocolFigures(Figures):
    """One arm of the eval ("debate", "single:no-evidence", ...): what it ran under, its figures, what it cost.
    Built in this key order: design ... missing, the `Figures`, then test_retest ... strata."""

    design: str
    evidence: bool
    rounds: int | None
    judges: int  # K: judge calls per row (the panel; the single arm's K independent calls; 1 a comparison)
    replicates: int
    protocol_hash: str
    rubric_hash: str | None
    scoreboard: str | None
    judge_models: list[str]
    other_scoreboards: int  # scores left out: they landed on another scoreboard
    missing: int  # rows with no score on the arm's scoreboard
    test_retest: float | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int  # prompt tokens the provider served from its cache
    cost_usd: float | None  # None: unknown (a model without a price in llm.prices)
    calibration: list[dict[str, float | int | None]]  # scoring.evaluation.CalibrationBin.as_dict(); [] for ratings
    histogram: dict[str, list[float] | list[int]]
    strata: dict[str, Figures]


class Lift(Interval):
    """An arm's AUROC minus the single arm's, on the rows both scored; `compares` says what, e.g.
    "debate (3 judges) − single call (3 judges, no debate)"."""

    n: int
    compares: str


class Bootstrap(TypedDict):
    resamples: int
    seed: int
    level: float
    clusters: int  # what is resampled whole: a pair, a gene's rows, or a row linked to none


class EvalResult(TypedDict):
    """An eval's whole result."""

    title: str
    generated_at: str  # UTC, e.g. 2026-01-31T12:00:00Z
    files: list[str]
    rows: int
    sample: dict[str, int] | None  # {"limit": N, "seed": S} when a stratified sample was drawn
    bootstrap: Bootstrap
    model: str | None  # the judge models that served, comma-separated
    demo: bool
    base_rate: float | None
    base_rate_brier: float | None
    protocols: dict[str, ProtocolFigures]  # arm name -> its figures
    lift: dict[str, Lift]  # e.g. "debate − single" -> the AUROC difference
    strata_skipped: dict[str, str]  # strata key -> why it is not a stratum
