"""Scoreboard statistics: the reliability figures (the score interval: tests/test_pooled_intervals.py)."""

from __future__ import annotations

import math

import pytest

from scoring.agreement import TauSummary, krippendorff_alpha, replicate_tau

# two-sided 95% Student-t quantiles from a printed table (independent of scipy)
T975 = {1: 12.706204736174698, 2: 4.302652729911275}


# ---------------------------------------------------------------- krippendorff_alpha


@pytest.mark.parametrize("level", ["interval", "ordinal"])
def test_perfect_agreement_on_varied_data_is_one(level):
    assert krippendorff_alpha([[1, 2, 3, 4], [1, 2, 3, 4]], level=level) == pytest.approx(1.0)


def test_interval_alpha_matches_hand_computation():
    # pairable values 1,1,2,2,3,4: D_o = 2/6 (unit 3 disagrees by 1), D_e = 2*41/(6*5); alpha = 1 - 10/82
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 4]]) == pytest.approx(72 / 82)
    # a unit rated by one judge only is not pairable and does not change the figure
    assert krippendorff_alpha([[1, 2, 3, 9], [1, 2, 4, None]]) == pytest.approx(72 / 82)


def test_systematic_disagreement_is_negative():
    assert krippendorff_alpha([[1, 2, 3, 4], [4, 3, 2, 1]]) < 0


@pytest.mark.parametrize(
    "ratings",
    [
        [],  # no raters
        [[1, 2, 3]],  # one rater
        [[1, None], [None, 2]],  # two raters, no shared unit
        [[3, 3], [3, 3]],  # all identical: alpha undefined
        [[3, 3, 5], [3, 3, None]],  # the only different value is unpaired
        [[], []],  # no units
    ],
)
def test_undefined_alpha_is_none(ratings):
    assert krippendorff_alpha(ratings) is None


@pytest.mark.parametrize("ratings", [[[1, 2, 3], [1, 2]], [[1, math.nan], [1, 2]]])
def test_malformed_ratings_are_refused(ratings):
    with pytest.raises(ValueError):
        krippendorff_alpha(ratings)


# ---------------------------------------------------------------- replicate_tau


def test_reversed_orders_give_tau_minus_one():
    result = replicate_tau({0: {"a": 0.1, "b": 0.5, "c": 0.9}, 1: {"a": 0.9, "b": 0.5, "c": 0.1}})
    assert result == TauSummary(
        mean=pytest.approx(-1.0), pairs=1, min=pytest.approx(-1.0), max=pytest.approx(-1.0), common=(3,)
    )


def test_tau_summary_over_all_replicate_pairs():
    base = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    swapped = {"a": 0.2, "b": 0.1, "c": 0.3, "d": 0.4}  # one discordant pair of six: tau = 4/6
    result = replicate_tau({0: base, 1: dict(base), 2: swapped})
    assert result.pairs == 3
    assert result.mean == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert (result.min, result.max) == (pytest.approx(2 / 3), pytest.approx(1.0))


def test_tau_is_the_b_variant_with_ties():
    # n0 = 6 pairs, one tie in y, 5 concordant: tau-b = 5 / sqrt(6 * 5)
    result = replicate_tau({0: {"a": 1, "b": 2, "c": 3, "d": 4}, 1: {"a": 1, "b": 1, "c": 2, "d": 3}})
    assert result.mean == pytest.approx(5 / math.sqrt(30))


def test_only_hypotheses_scored_by_both_replicates_count():
    result = replicate_tau({0: {"a": 0.1, "b": 0.2, "c": 0.3, "x": 0.9}, 1: {"a": 0.1, "b": 0.2, "c": 0.3, "y": 0.0}})
    assert (result.mean, result.pairs) == (pytest.approx(1.0), 1)


@pytest.mark.parametrize(
    "rankings",
    [
        {},
        {0: {"a": 0.1, "b": 0.2, "c": 0.3}},  # one replicate
        {0: {"a": 0.1, "b": 0.2}, 1: {"a": 0.2, "b": 0.1}},  # fewer than three common hypotheses
        {0: {"a": 0.1, "b": 0.2, "c": 0.3}, 1: {"a": 0.5, "b": 0.5, "c": 0.5}},  # constant: tau undefined
        {0: {"a": 0.1, "b": 0.2, "c": 0.3}, 1: {"a": 0.1, "b": math.nan, "c": 0.3}},
    ],
)
def test_no_usable_pair_gives_empty_summary(rankings):
    assert replicate_tau(rankings) == TauSummary(mean=None, pairs=0, min=None, max=None)
