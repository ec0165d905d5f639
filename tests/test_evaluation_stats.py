"""Evaluation against real outcomes: AUROC and its bootstrap interval, pairwise accuracy, Brier, calibration, retest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from scoring.evaluation import (
    CalibrationBin,
    Estimate,
    PairedEstimate,
    auroc,
    auroc_difference,
    base_rate,
    base_rate_brier,
    brier,
    calibration,
    ece,
    histogram,
    pairwise_accuracy,
    retest_correlation,
)


def known_skill(d: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Balanced labels, latent z = d*label + N(0, 1) squashed into (0, 1); the true AUROC is Phi(d / sqrt 2)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    z = d * labels + rng.standard_normal(labels.size)
    return labels, stats.norm.cdf(z), float(stats.norm.cdf(d / math.sqrt(2)))


def contains(estimate: Estimate, value: float) -> bool:
    assert estimate.lo is not None and estimate.hi is not None
    return estimate.lo <= value <= estimate.hi


# ---------------------------------------------------------------- auroc


def test_perfect_separation_is_one_with_a_point_interval():
    assert auroc([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], seed=0) == Estimate(1.0, 1.0, 1.0)


def test_all_scores_equal_is_one_half():
    assert auroc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], seed=0) == Estimate(0.5, 0.5, 0.5)


def test_reversed_scores_are_zero():
    assert auroc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], seed=0) == Estimate(0.0, 0.0, 0.0)


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0], []])
def test_one_class_or_no_rows_is_undefined(labels):
    estimate = auroc(labels, [0.5] * len(labels), seed=0)
    assert estimate == Estimate(None, None, None)
    assert estimate.as_dict() == {"value": None, "lo": None, "hi": None}


def test_value_is_sklearns_and_the_interval_holds_it_and_narrows_with_n():
    rng = np.random.default_rng(7)
    widths = []
    for n in (50, 500, 2000):
        labels = rng.integers(0, 2, n)
        scores = np.round(np.clip(0.5 + 0.2 * (labels - 0.5) + rng.normal(0, 0.25, n), 0, 1), 2)  # with ties
        estimate = auroc(labels, scores, seed=1)
        assert estimate.value == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        assert contains(estimate, estimate.value)
        widths.append(estimate.hi - estimate.lo)
    assert widths[0] > widths[1] > widths[2]


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_interval_contains_the_true_auroc_of_a_known_skill(d):
    labels, scores, truth = known_skill(d, n=600, seed=11)
    assert contains(auroc(labels, scores, seed=3), truth)


def test_same_seed_same_interval_other_seed_other_interval():
    labels, scores, _ = known_skill(1.0, n=200, seed=5)
    first, again, other = (auroc(labels, scores, seed=s) for s in (42, 42, 43))
    assert first == again
    assert (first.lo, first.hi) != (other.lo, other.hi)
    assert first.value == other.value


def test_interval_covers_the_truth_in_most_simulated_datasets():
    covered = 0
    for dataset in range(40):
        labels, scores, truth = known_skill(1.0, n=200, seed=1000 + dataset)
        covered += contains(auroc(labels, scores, seed=dataset, resamples=500), truth)
    assert covered >= 0.85 * 40


def test_pairwise_ties_count_half():
    estimate = pairwise_accuracy([0.9, 0.5, 0.2, 0.4], [0.1, 0.5, 0.8, 0.4], seed=0)
    assert estimate.value == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert estimate.pairs == 4
    assert estimate.as_dict()["pairs"] == 4


def test_pairwise_without_pairs_is_undefined():
    assert pairwise_accuracy([], [], seed=0) == PairedEstimate(None, None, None, pairs=0)


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_pairwise_interval_contains_the_true_accuracy_of_a_known_skill(d):
    rng = np.random.default_rng(31)
    true_scores = stats.norm.cdf(rng.normal(d, 1, 300))
    false_scores = stats.norm.cdf(rng.normal(0, 1, 300))
    estimate = pairwise_accuracy(true_scores, false_scores, seed=4)
    assert contains(estimate, float(stats.norm.cdf(d / math.sqrt(2))))
    assert estimate.pairs == 300


def test_difference_of_identical_scorers_is_exactly_zero():
    labels, scores, _ = known_skill(1.0, n=100, seed=8)
    assert auroc_difference(labels, scores, scores.copy(), seed=0) == Estimate(0.0, 0.0, 0.0)


def test_perfect_scorer_beats_a_random_one():
    labels = np.repeat([0, 1], 50)
    perfect = np.where(labels == 1, 0.9, 0.1)
    random = np.random.default_rng(9).uniform(0, 1, labels.size)
    estimate = auroc_difference(labels, perfect, random, seed=0)
    assert estimate.value == pytest.approx(1.0 - roc_auc_score(labels, random))
    assert estimate.lo is not None and estimate.lo > 0


def test_difference_with_one_class_is_undefined():
    assert auroc_difference([1, 1], [0.2, 0.3], [0.4, 0.5], seed=0) == Estimate(None, None, None)


# ---------------------------------------------------------------- brier, calibration, histogram


def test_perfectly_calibrated_scores_have_small_ece():
    rng = np.random.default_rng(13)
    scores = rng.uniform(0, 1, 20000)
    labels = (rng.uniform(0, 1, scores.size) < scores).astype(int)
    assert ece(labels, scores) < 0.02


def test_overconfident_scores_have_the_gap_as_ece():
    labels = [0, 1] * 50
    assert ece(labels, [0.9] * 100) == pytest.approx(0.4)
    assert brier(labels, [0.9] * 100) == pytest.approx(brier_score_loss(labels, [0.9] * 100))


def test_brier_is_sklearns():
    rng = np.random.default_rng(17)
    labels = rng.integers(0, 2, 50)
    scores = rng.uniform(0, 1, 50)
    assert brier(labels, scores) == pytest.approx(brier_score_loss(labels, scores))
    assert brier([], []) is None


def test_base_rate_and_its_brier():
    assert base_rate([1, 0, 0, 0]) == 0.25
    assert base_rate_brier([1, 0, 0, 0]) == pytest.approx(0.25 * 0.75)
    assert base_rate([]) is None
    assert base_rate_brier([]) is None


def test_calibration_lists_every_bin_and_closes_the_last():
    table = calibration([0, 1, 1, 0], [0.05, 0.15, 1.0, 0.12], bins=10)
    assert len(table) == 10
    assert table[0] == CalibrationBin(lo=0.0, hi=pytest.approx(0.1), n=1, mean_score=0.05, fraction_positive=0.0)
    assert table[1].n == 2
    assert table[1].mean_score == pytest.approx(0.135)
    assert table[1].fraction_positive == 0.5
    assert table[5].as_dict() == {
        "lo": pytest.approx(0.5),
        "hi": pytest.approx(0.6),
        "n": 0,
        "mean_score": None,
        "fraction_positive": None,
    }
    assert (table[9].n, table[9].hi, table[9].fraction_positive) == (1, 1.0, 1.0)


def test_histogram_splits_counts_by_label():
    result = histogram([1, 1, 0, 0, 0], [0.95, 1.0, 0.0, 0.05, 0.55], bins=10)
    assert result["edges"] == pytest.approx([i / 10 for i in range(11)])
    assert result["positive"] == [0] * 9 + [2]
    assert result["negative"] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 0]


# ---------------------------------------------------------------- test-retest


def test_identical_replicates_agree_perfectly():
    column = np.random.default_rng(19).uniform(0, 1, 30)
    assert retest_correlation(np.column_stack([column, column, column])) == pytest.approx(1.0)


def test_independent_replicates_agree_near_zero():
    replicates = np.random.default_rng(23).uniform(0, 1, (400, 3))
    assert abs(retest_correlation(replicates)) < 0.1


@pytest.mark.parametrize(
    "replicates",
    [
        [[0.1], [0.5], [0.9]],  # one replicate
        [[0.1, 0.2], [0.5, 0.6]],  # two rows
        [[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]],  # a constant replicate
    ],
)
def test_retest_is_undefined_without_two_varying_replicates_over_three_rows(replicates):
    assert retest_correlation(replicates) is None


# ---------------------------------------------------------------- bad input


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match="labels and scores differ in length: 3 vs 2"):
        auroc([0, 1, 1], [0.2, 0.8], seed=0)
    with pytest.raises(ValueError, match="true_scores and false_scores differ in length"):
        pairwise_accuracy([0.2, 0.8], [0.4], seed=0)


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan])
def test_a_score_outside_the_unit_interval_is_named(bad):
    with pytest.raises(ValueError, match=r"scores must be numbers in \[0, 1\], got .* at position 1"):
        brier([0, 1, 0], [0.2, bad, 0.4])
    with pytest.raises(ValueError, match="scores_b must be numbers in"):
        auroc_difference([0, 1, 0], [0.2, 0.3, 0.4], [0.2, bad, 0.4], seed=0)


def test_a_label_other_than_zero_or_one_is_named():
    with pytest.raises(ValueError, match="labels must be 0 or 1, got 2"):
        ece([0, 2], [0.3, 0.4])
