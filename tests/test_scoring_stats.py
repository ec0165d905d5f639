"""Scoreboard statistics: hypothesis score with its 95% interval, and the reliability figures."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from scoring.aggregate import HypothesisScore, hypothesis_score
from scoring.agreement import TauSummary, krippendorff_alpha, overlap_share, replicate_tau
from scoring.composite import ScoreError

# two-sided 95% Student-t quantiles from a printed table (independent of scipy)
T975 = {1: 12.706204736174698, 2: 4.302652729911275}


# ---------------------------------------------------------------- hypothesis_score


def test_two_debates_mean_of_panel_means_with_clamped_t_interval():
    score = hypothesis_score([[0.6, 0.7], [0.8, 0.9]])
    assert score.mean == pytest.approx(0.75)
    assert (score.interval, score.debates, score.verdicts) == ("between-debates", 2, 4)
    # debate scores 0.65 and 0.85: sd 0.1414, sem 0.1, half-width 12.706 * 0.1 -> clamped to [0, 1]
    lo, hi = stats.t.interval(0.95, 1, loc=0.75, scale=stats.sem([0.65, 0.85]))
    assert lo == pytest.approx(0.75 - T975[1] * 0.1)
    assert (score.lo, score.hi) == (max(0.0, lo), min(1.0, hi)) == (0.0, 1.0)


def test_three_debates_interval_matches_hand_computation():
    score = hypothesis_score([[0.5], [0.6], [0.7]])
    half = T975[2] * 0.1 / math.sqrt(3)  # sd of 0.5, 0.6, 0.7 is 0.1
    assert score.mean == pytest.approx(0.6)
    assert score.lo == pytest.approx(0.6 - half)
    assert score.hi == pytest.approx(0.6 + half)
    assert score.interval == "between-debates"
    ci = stats.ttest_1samp([0.5, 0.6, 0.7], 0.0).confidence_interval(0.95)
    assert (score.lo, score.hi) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_debate_is_weighted_once_whatever_its_panel_size():
    # debate scores 0.3 and 0.9; the verdict-weighted mean would be 0.5
    score = hypothesis_score([[0.2, 0.4], [0.9]])
    assert score.mean == pytest.approx(0.6)
    assert (score.debates, score.verdicts) == (2, 3)


def test_one_debate_three_judges_is_a_panel_interval():
    score = hypothesis_score([[0.5, 0.6, 0.7]])
    half = T975[2] * 0.1 / math.sqrt(3)
    expected = HypothesisScore(
        mean=pytest.approx(0.6),
        lo=pytest.approx(0.6 - half),
        hi=pytest.approx(0.6 + half),
        interval="panel",
        debates=1,
        verdicts=3,
    )
    assert score == expected


def test_single_verdict_has_no_interval():
    assert hypothesis_score([[0.42]]) == HypothesisScore(0.42, None, None, "none", 1, 1)


def test_zero_variance_gives_degenerate_interval_not_nan():
    between = hypothesis_score([[0.3, 0.3], [0.3]])
    assert (between.mean, between.lo, between.hi, between.interval) == (0.3, 0.3, 0.3, "between-debates")
    judges = hypothesis_score([[0.1, 0.1, 0.1]])
    assert judges.lo == judges.hi == judges.mean == pytest.approx(0.1)
    assert judges.interval == "panel"


@pytest.mark.parametrize("debates", [[[0.95], [1.0]], [[0.0, 0.02, 0.01]], [[0.0, 1.0]]])
def test_interval_is_clamped_to_unit_range(debates):
    score = hypothesis_score(debates)
    assert score.lo is not None and score.hi is not None
    assert 0.0 <= score.lo <= score.mean <= score.hi <= 1.0


@pytest.mark.parametrize("debates", [[], [[]], [[0.5], []], [[1.2]], [[-0.1, 0.5]], [[math.nan]], [[0.5], [math.inf]]])
def test_bad_input_is_refused(debates):
    with pytest.raises(ScoreError):
        hypothesis_score(debates)
    assert issubclass(ScoreError, ValueError)


unit = st.floats(min_value=0.0, max_value=1.0)


@given(st.lists(st.lists(unit, min_size=1, max_size=5), min_size=1, max_size=6))
def test_score_is_always_a_finite_clamped_interval(debates):
    score = hypothesis_score(debates)
    assert 0.0 <= score.mean <= 1.0
    if score.interval == "none":
        assert score.lo is None and score.hi is None
    else:
        assert score.lo is not None and score.hi is not None
        assert 0.0 <= score.lo <= score.mean <= score.hi <= 1.0


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


# ---------------------------------------------------------------- overlap_share


def test_well_separated_intervals_share_nothing():
    assert overlap_share([(0.9, 0.85, 0.95), (0.5, 0.45, 0.55), (0.1, 0.05, 0.15)]) == 0.0


def test_nested_intervals_all_overlap():
    assert overlap_share([(0.55, 0.1, 0.9), (0.5, 0.2, 0.8), (0.45, 0.3, 0.7)]) == 1.0


def test_pairs_are_adjacent_by_mean_not_input_order():
    # ranked: 0.8 [0.7,0.9] / 0.6 [0.5,0.75] overlap; 0.6 / 0.2 [0.1,0.3] do not
    assert overlap_share([(0.2, 0.1, 0.3), (0.8, 0.7, 0.9), (0.6, 0.5, 0.75)]) == 0.5


def test_missing_interval_is_a_point():
    assert overlap_share([(0.5, None, None), (0.6, 0.4, 0.7)]) == 1.0
    assert overlap_share([(0.5, None, None), (0.6, None, None)]) == 0.0
    assert overlap_share([(0.5, None, None), (0.5, None, None)]) == 1.0


def test_fewer_than_two_items_is_none():
    assert overlap_share([]) is None
    assert overlap_share([(0.5, 0.4, 0.6)]) is None


@pytest.mark.parametrize("items", [[(0.5, 0.4, None), (0.6, 0.5, 0.7)], [(0.5, 0.6, 0.4), (0.6, 0.5, 0.7)]])
def test_malformed_intervals_are_refused(items):
    with pytest.raises(ValueError):
        overlap_share(items)
