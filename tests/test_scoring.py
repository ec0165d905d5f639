"""The rubric arithmetic: composite in code, panel mean and spread."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.composite import ScoreError, composite, panel
from scoring.rubric import SCIDEX_WEIGHTS, Rubric

RUBRIC = Rubric()


def test_default_rubric_is_scidex():
    assert RUBRIC.dimensions == SCIDEX_WEIGHTS
    assert RUBRIC.total_weight == 100
    assert RUBRIC.scale == 10


def test_composite_is_the_weighted_mean_mapped_to_unit_interval():
    scores = dict.fromkeys(SCIDEX_WEIGHTS, 1)
    assert composite(scores, RUBRIC) == 0.0
    scores = dict.fromkeys(SCIDEX_WEIGHTS, 10)
    assert composite(scores, RUBRIC) == 1.0
    # 9 on the two 15-weight dimensions, 7 elsewhere: (30 * 8/9 + 70 * 6/9) / 100
    scores = {d: (9 if w == 15 else 7) for d, w in SCIDEX_WEIGHTS.items()}
    assert composite(scores, RUBRIC) == pytest.approx((30 * 8 / 9 + 70 * 6 / 9) / 100)
    assert f"{composite(scores, RUBRIC):.2f}" == "0.73"


@pytest.mark.parametrize("bad", [0, 11, 7.5, "7", True, None])
def test_out_of_range_or_wrong_type_is_refused(bad):
    scores = dict.fromkeys(SCIDEX_WEIGHTS, 5)
    scores["safety"] = bad
    with pytest.raises(ScoreError, match="safety"):
        composite(scores, RUBRIC)


def test_missing_dimension_is_refused():
    scores = dict.fromkeys(list(SCIDEX_WEIGHTS)[1:], 5)
    with pytest.raises(ScoreError, match="mechanistic_plausibility"):
        composite(scores, RUBRIC)


def test_rubric_hash_changes_with_weights():
    other = Rubric(dimensions={**SCIDEX_WEIGHTS, "safety": 9})
    assert other.hash != RUBRIC.hash
    assert Rubric().hash == RUBRIC.hash


def test_panel_mean_spread_n():
    score = panel([0.6, 0.8, 0.7])
    assert score.mean == pytest.approx(0.7)
    assert score.spread == pytest.approx(math.sqrt(((0.1**2) * 2) / 3))
    assert score.n == 3
    assert panel([0.5]).spread == 0.0
    with pytest.raises(ScoreError):
        panel([])


@given(st.dictionaries(st.sampled_from(list(SCIDEX_WEIGHTS)), st.integers(1, 10), min_size=10, max_size=10))
def test_composite_always_in_unit_interval_and_monotone(scores):
    value = composite(scores, RUBRIC)
    assert 0.0 <= value <= 1.0
    for dimension in scores:
        if scores[dimension] < 10:
            assert composite({**scores, dimension: scores[dimension] + 1}, RUBRIC) > value


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_panel_mean_lies_between_min_and_max(values):
    score = panel(values)
    assert min(values) - 1e-12 <= score.mean <= max(values) + 1e-12
    assert score.spread >= 0 and score.n == len(values)


def test_the_same_rubric_has_one_hash_whether_weights_are_written_15_or_15_0():
    from hypodebate.config import load_settings

    assert Rubric().hash == load_settings(None).scoring.hash
