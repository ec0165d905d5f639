"""An eval's figures: how well each protocol's scores predict what really happened (AUROC, Brier against the base
rate's, ECE with its noise floor, pairwise accuracy, test-retest), overall, per stratum and as a lift over the
single arm. Every interval resamples the rows' clusters (debates.labelled.clusters_of), never single rows; a
stratum with fewer than 5 rows of a class is flagged `too_small`. The maths is `scoring.evaluation`'s; this module
shapes it into the result (debates/eval_result.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from debates.eval_result import CalibrationInterval, Figures, Interval, Lift, PairedInterval, ProtocolFigures
from debates.labelled import Labelled
from scoring import evaluation as stats
from store.evaluation import Usage
from store.models import ScoreboardRow

ProtocolName = Literal["single", "debate", "pairwise"]
# a string key with more distinct values than this, or than half its rows, is an identifier (e.g. a MeSH id)
MAX_CATEGORIES = 12
RECENT_LAUNCH = 2018  # "year_launch >= 2018": launches recent enough to be less memorised, against all failures
MIN_CLASS_ROWS = 5  # fewer rows than this of either label: the figures are too small to read


@dataclass(frozen=True)
class ArmScores:
    """One arm's scores on its scoreboard: each row's scores (row index -> one per replicate) and their mean, how
    many landed on other scoreboards, and the debates or comparisons whose calls they cost."""

    board_id: str | None
    board: ScoreboardRow | None
    per_item: dict[int, list[float]]
    board_counts: Counter[str]
    spent: list[str]
    means: dict[int, float]


@dataclass(frozen=True)
class Scope:
    """What every arm is measured against: the rows, their labels, clusters (what the bootstrap resamples whole)
    and strata, the bootstrap's seed and resamples, and the replicates each row was scored in."""

    rows: Sequence[Labelled]
    labels: np.ndarray
    clusters: Sequence[str]
    strata: dict[str, list[int]]
    seed: int
    resamples: int
    replicates: int


def arm_figures(
    scope: Scope,
    protocol: ProtocolName,
    evidence: bool,
    scores: ArmScores,
    protocol_hash: str,
    usage: Usage,
    judges: int,
) -> ProtocolFigures:
    """One arm's entry: what it ran under (`judges`: its K judge calls per row), its figures (overall,
    calibration, histogram, per stratum), its cost."""
    board, means, rows, labels = scores.board, scores.means, scope.rows, scope.labels
    stored = board.protocol if board is not None else {}
    calibrated = protocol != "pairwise"
    scored = sorted(means)
    return {
        "design": "single-judge" if protocol == "single" else stored.get("design", "symmetric-closing"),
        "evidence": evidence,
        "rounds": stored.get("rounds"),
        "judges": judges,
        "replicates": scope.replicates,
        "protocol_hash": protocol_hash,
        "rubric_hash": board.rubric_hash if board is not None else None,
        "scoreboard": scores.board_id,
        "judge_models": list(board.judge_models) if board is not None else [],
        "other_scoreboards": sum(n for b, n in scores.board_counts.items() if b != scores.board_id),
        "missing": len(rows) - len(means),
        **figures(scope, means, calibrated=calibrated),
        "test_retest": retest(scores.per_item, scope.replicates),
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_prompt_tokens": usage.cached_prompt_tokens,
        "cost_usd": usage.cost_usd,
        "calibration": [b.as_dict() for b in stats.calibration(labels[scored], [means[i] for i in scored])]
        if calibrated
        else [],
        "histogram": stats.histogram(labels[scored], [means[i] for i in scored]),
        "strata": {
            name: figures(scope, {i: means[i] for i in members if i in means}, calibrated=calibrated)
            for name, members in scope.strata.items()
        },
    }


def compared(protocol: ProtocolName, judges: int) -> str:
    """What an arm is, in the words of a lift: "debate (3 judges)", "single call (3 judges, no debate)"."""
    calls = f"{judges} judge{'' if judges == 1 else 's'}"
    if protocol == "single":
        return f"single call ({calls}, no debate)"
    if protocol == "pairwise":
        return f"pairwise tournament ({calls} a comparison)"
    return f"debate ({calls})"


def lift(
    scope: Scope, variants: Iterable[bool], item_scores: dict[str, dict[int, float]], judges: dict[str, int]
) -> dict[str, Lift]:
    """Each arm's AUROC minus the single arm's on the same variant of the rows (with evidence or without), on the
    rows both scored, with a paired cluster-bootstrap interval; `item_scores`: arm name -> row index -> score;
    `judges`: arm name -> its judge calls per row (the single arm's equal the debate's unless asked otherwise)."""
    labels = scope.labels
    lift: dict[str, Lift] = {}
    for evidence in sorted(set(variants), reverse=True):
        suffix = "" if evidence else ":no-evidence"
        single = item_scores.get(f"single{suffix}")
        for name in ("debate", "pairwise"):
            other = item_scores.get(f"{name}{suffix}")
            if other is None or single is None:
                continue
            both = sorted(set(other) & set(single))
            estimate = stats.auroc_difference(
                labels[both],
                [other[i] for i in both],
                [single[i] for i in both],
                seed=scope.seed,
                resamples=scope.resamples,
                clusters=[scope.clusters[i] for i in both],
            )
            text = f"{compared(name, judges[name + suffix])} − {compared('single', judges['single' + suffix])}"
            text += "" if evidence else ", evidence removed"
            lift[f"{name} − single{suffix}"] = cast(Lift, {**estimate.as_dict(), "n": len(both), "compares": text})
    return lift


def figures(scope: Scope, means: dict[int, float], *, calibrated: bool = True) -> Figures:
    """n, positives, whether a class has too few rows, AUROC, Brier (and the base rate's), ECE (its interval and
    noise floor) and pairwise accuracy of the scored rows in `means` (index -> score); every interval resamples
    the rows' clusters. `calibrated=False` (ratings, not probabilities that a row holds): no Brier, no ECE."""
    rows, labels, seed, resamples = scope.rows, scope.labels, scope.seed, scope.resamples
    scored = sorted(means)
    y = labels[scored]
    s = [means[i] for i in scored]
    clusters = [scope.clusters[i] for i in scored]
    pairs: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    pair_cluster: dict[tuple[str, str], str] = {}
    for i in scored:
        pair = rows[i].row.pair
        if pair is not None:
            pairs[(rows[i].dataset, pair)][rows[i].label] = means[i]
            pair_cluster[(rows[i].dataset, pair)] = scope.clusters[i]
    whole = [key for key, p in pairs.items() if len(p) == 2]
    accuracy: PairedInterval | None = None
    if any(rows[i].row.pair is not None for i in range(len(rows))):
        paired = stats.pairwise_accuracy(
            [pairs[k][1] for k in whole],
            [pairs[k][0] for k in whole],
            seed=seed,
            resamples=resamples,
            clusters=[pair_cluster[k] for k in whole],
        )
        accuracy = cast(PairedInterval, paired.as_dict())
    ece = stats.calibration_error(y, s, seed=seed, resamples=resamples, clusters=clusters) if calibrated else None
    return {
        "n": len(scored),
        "positives": int(y.sum()),
        "too_small": min(int(y.sum()), int(y.size - y.sum())) < MIN_CLASS_ROWS,
        "auroc": cast(Interval, stats.auroc(y, s, seed=seed, resamples=resamples, clusters=clusters).as_dict()),
        "brier": stats.brier(y, s) if calibrated else None,
        # the bar a Brier score must beat on these very rows: every row scored at their base rate
        "base_rate_brier": stats.base_rate_brier(y) if calibrated else None,
        "ece": cast(CalibrationInterval, ece.as_dict()) if ece is not None else None,
        "pairwise_accuracy": accuracy,
    }


def retest(per_item: dict[int, list[float]], replicates: int) -> float | None:
    """Spearman between replicates over the rows scored in every replicate (None with one replicate)."""
    if replicates < 2:
        return None
    complete = [v for v in per_item.values() if len(v) == replicates]
    if not complete:
        return None
    return stats.retest_correlation(np.array(complete, dtype=float))


def strata_of(rows: Sequence[Labelled]) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Stratum name -> row indices, and the strata keys left out with why. A stratum is a boolean or
    categorical key of `strata` (one stratum per value), the file when there are several, and
    `year_launch >= 2018` (launched in 2018 or later, against every row that never launched)."""
    values: dict[str, Counter[Any]] = defaultdict(Counter)
    for row in rows:
        for key, value in row.row.strata.items():
            values[key][value] += 1
    strata: dict[str, list[int]] = {}
    skipped: dict[str, str] = {}
    for key in sorted(values):
        kinds = {type(v) for v in values[key] if v is not None}
        if kinds <= {bool}:
            chosen = [True, False]
        elif kinds <= {str} and len(values[key]) <= min(MAX_CATEGORIES, sum(values[key].values()) / 2):
            chosen = sorted(v for v in values[key] if v is not None)
        elif kinds <= {str}:
            skipped[key] = f"an identifier ({len(values[key])} distinct values), not a stratum"
            continue
        else:
            skipped[key] = "numeric, not a stratum"
            continue
        for value in chosen:
            shown = str(value).lower() if isinstance(value, bool) else value
            members = [i for i, r in enumerate(rows) if _same(r.row.strata.get(key), value)]
            if members:
                strata[f"{key}={shown}"] = members
    datasets = sorted({r.dataset for r in rows})
    if len(datasets) > 1:
        for dataset in datasets:
            strata[f"file={dataset}"] = [i for i, r in enumerate(rows) if r.dataset == dataset]
    dated = [i for i, r in enumerate(rows) if "year_launch" in r.row.model_fields_set]
    recent = [i for i in dated if rows[i].label == 0 or (rows[i].row.year_launch or 0) >= RECENT_LAUNCH]
    if recent:
        strata[f"year_launch >= {RECENT_LAUNCH}"] = recent
    return strata, skipped


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b  # True is not the string "True", nor 1
