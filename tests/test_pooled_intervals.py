"""The score interval from the scoreboard's pooled variance model: hand-computed cases, the kinds in words, and
coverage of known true means on simulated scoreboards (bench/interval_coverage.py's simulation)."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from bench.interval_coverage import Design, coverage
from scoring.aggregate import BoardNoise, BoardVerdict, board_scores
from scoring.composite import ScoreError
from scoring.measured import Measured, interval_text


def board(panels: dict[str, list[list[float]]]) -> list[BoardVerdict]:
    """Verdicts of a scoreboard given as {hypothesis: [[judge composites of a debate], ...]}; seats by position."""
    return [
        BoardVerdict(h, f"{h}-{d}", seat, value)
        for h, debates in panels.items()
        for d, composites in enumerate(debates)
        for seat, value in enumerate(composites)
    ]


def text(score: object) -> str:
    return interval_text(Measured.of(score, score.mean))  # type: ignore[arg-type,attr-defined]


def test_balanced_board_matches_a_hand_computed_two_way_anova():
    # 3 hypotheses × 2 debates × 2 judges; judge 1 is 0.1 harsher than judge 0 in every debate but one
    panels = {
        "a": [[0.60, 0.50], [0.70, 0.60]],
        "b": [[0.40, 0.30], [0.50, 0.35]],
        "c": [[0.80, 0.70], [0.75, 0.65]],
    }
    scores = board_scores(board(panels))
    # by hand: with two seats the residual SS is Σ(d − d̄)²/2 over the judges' differences d, on 6 × (2 − 1) − 1 df
    debate_means = {(h, d): statistics.fmean(p) for h, ds in panels.items() for d, p in enumerate(ds)}
    diffs = [p[0] - p[1] for ds in panels.values() for p in ds]
    judge_ss = sum((x - statistics.fmean(diffs)) ** 2 for x in diffs) / 2  # two seats: SS = Σ(d − d̄)²/2
    judge_df = 6 * (2 - 1) - (2 - 1)
    judge_var = judge_ss / judge_df
    between_ss = sum(
        (debate_means[(h, 0)] - debate_means[(h, 1)]) ** 2 / 2 for h in panels
    )  # two debates: SS = (x₁ − x₂)²/2
    ms_between = between_ss / 3
    debate_var = max(0.0, ms_between - judge_var / 2)
    se = math.sqrt(debate_var / 2 + judge_var * (1 / 2 + 1 / 2) / 4)
    b = scores["b"]
    assert b.mean == pytest.approx(statistics.fmean([0.35, 0.425]))
    assert b.se == pytest.approx(se)
    assert b.interval == "pooled"
    # equal designs: every hypothesis has the same standard error (the scoreboard's), a different centre
    assert {round(s.se or 0, 12) for s in scores.values()} == {round(se, 12)}
    half = stats.t.ppf(0.975, b.df) * se
    assert (b.lo, b.hi) == (pytest.approx(b.mean - half), pytest.approx(b.mean + half))
    assert text(b) == f"[{b.lo:.2f}, {b.hi:.2f}] 2 debates, pooled ({b.df:.0f} df)"


def test_seat_effects_are_fixed_a_consistently_harsh_judge_adds_no_noise():
    steady = {h: [[m, m], [m + 0.02, m + 0.02]] for h, m in (("a", 0.6), ("b", 0.4), ("c", 0.5), ("d", 0.7))}
    harsh = {h: [[p[0], p[1] - 0.2] for p in ds] for h, ds in steady.items()}
    plain, offset = board_scores(board(steady)), board_scores(board(harsh))
    assert offset["a"].se == pytest.approx(plain["a"].se)
    assert offset["a"].mean == pytest.approx(plain["a"].mean - 0.1)  # the score is over the panel's seats


def test_one_debate_each_gets_a_conservative_bound_that_says_so():
    means = [0.5 + 0.03 * i for i in range(8)]
    panels = {f"h{i}": [[m, m - 0.05 + (0.02 if i % 2 else -0.02)]] for i, m in enumerate(means)}
    scores = board_scores(board(panels))
    s = scores["h3"]
    assert s.interval == "bound" and s.df == 8 - 1  # 8 debates, none repeated
    # the bound: the spread of the 8 debate means as if the hypotheses did not differ, less the judges' part
    debate_means = [statistics.fmean(p[0]) for p in panels.values()]
    diffs = [p[0][0] - p[0][1] for p in panels.values()]
    judge_var = sum((x - statistics.fmean(diffs)) ** 2 for x in diffs) / 2 / (8 - 1)
    bound = statistics.variance(debate_means) - judge_var / 2
    assert s.se == pytest.approx(math.sqrt(bound + judge_var / 2))
    assert text(s) == f"[{s.lo:.2f}, {s.hi:.2f}] bound: debates not repeated, all spread counted as noise (7 df)"
    # the README's failure: two judges who happen to agree still get the board's interval, never zero width
    agreeing = board_scores(board(panels | {"same": [[0.79, 0.79]]}))["same"]
    assert agreeing.lo is not None and agreeing.hi is not None and agreeing.hi - agreeing.lo > 0.05


def test_a_hypothesis_with_one_debate_borrows_the_scoreboards_variance():
    panels = {h: [[0.5 + k * 0.1, 0.45 + k * 0.1], [0.6 + k * 0.1, 0.52 + k * 0.1]] for k, h in enumerate("abcd")}
    panels["once"] = [[0.7, 0.65]]
    scores = board_scores(board(panels))
    once, twice = scores["once"], scores["a"]
    assert once.interval == twice.interval == "pooled"
    assert once.se is not None and twice.se is not None and once.se > twice.se  # one debate: less known
    assert once.lo is not None and once.lo > 0.0 and once.hi is not None and once.hi < 1.0


def test_too_little_data_is_said_in_words_not_shown_as_zero_to_one():
    single = board_scores(board({"a": [[0.55]], "b": [[0.49]], "c": [[0.7]]}))  # 2 df: fewer than MIN_DF
    assert {s.interval for s in single.values()} == {"too-few"}
    assert single["a"].lo is None and single["a"].hi is None
    assert text(single["a"]) == "no interval: too few verdicts on this scoreboard to pool"
    # three hypotheses, one debate of two judges each: 2 df, fewer than the 3 needed
    small = board_scores(board({"a": [[0.55, 0.5]], "b": [[0.49, 0.4]], "c": [[0.7, 0.72]]}))
    assert {s.interval for s in small.values()} == {"too-few"}


def test_judges_who_never_disagree_without_repeats_still_get_the_bound():
    scores = board_scores(board({h: [[m, m]] for h, m in zip("abcde", (0.2, 0.4, 0.5, 0.6, 0.8), strict=True)}))
    assert {s.interval for s in scores.values()} == {"bound"}
    assert scores["a"].se == pytest.approx(statistics.stdev([0.2, 0.4, 0.5, 0.6, 0.8]))


def test_zero_width_only_when_the_whole_scoreboard_has_no_variation():
    scores = board_scores(board({h: [[m, m], [m, m]] for h, m in zip("abcd", (0.2, 0.4, 0.6, 0.8), strict=True)}))
    s = scores["b"]
    assert (s.interval, s.lo, s.hi) == ("no-variation", 0.4, 0.4)
    assert text(s) == "[0.40, 0.40] 2 debates, no variation on this scoreboard"


@pytest.mark.parametrize(
    "panels",
    [{}, {"a": [[]]}, {"a": [[1.2]]}, {"a": [[-0.1, 0.5]]}, {"a": [[math.nan]]}],
)
def test_bad_input_is_refused(panels):
    with pytest.raises(ScoreError):
        for score in board_scores(board(panels)).values():
            assert score
        BoardNoise.fit(board(panels)).score([])


unit = st.floats(min_value=0.0, max_value=1.0)


@given(
    st.dictionaries(
        st.sampled_from("abcdef"), st.lists(st.lists(unit, min_size=2, max_size=2), min_size=1, max_size=4), min_size=1
    )
)
def test_every_interval_lies_in_the_unit_range_and_is_never_narrower_than_its_standard_error(panels):
    for score in board_scores(board(panels)).values():
        assert 0.0 <= score.mean <= 1.0
        if score.lo is None or score.hi is None:
            assert score.interval == "too-few"
            continue
        assert 0.0 <= score.lo <= score.mean <= score.hi <= 1.0
        assert score.se is not None
        assert score.hi - score.lo >= min(score.se, 1.0) - 1e-12
        assert score.hi > score.lo or score.interval == "no-variation"


# ---------------------------------------------------------------- simulated scoreboards with known true means

SPREADS = {"equal": (0.05, 0.05), "debates dominate": (0.10, 0.02), "judges dominate": (0.02, 0.10)}


@pytest.mark.parametrize("spread", SPREADS)
@pytest.mark.parametrize("judges", [1, 2, 5])
@pytest.mark.parametrize("debates", [2, 3, 5, (1, 5)])
def test_coverage_of_the_true_mean_is_near_95_percent(debates, judges, spread):
    found = coverage(Design(debates, judges, *SPREADS[spread]), boards=60)
    assert set(found.kinds) == {"pooled"}
    assert found.coverage is not None and 0.92 <= found.coverage <= 0.985


@pytest.mark.parametrize("spread", SPREADS)
def test_widths_shrink_as_debates_are_added(spread):
    widths = [coverage(Design(d, 3, *SPREADS[spread]), boards=30).width for d in (2, 3, 5)]
    assert widths[0] > widths[1] > widths[2]  # type: ignore[operator]


@pytest.mark.parametrize("spread", SPREADS)
def test_one_debate_per_hypothesis_is_bounded_conservatively_whatever_dominates(spread):
    found = coverage(Design(1, 3, *SPREADS[spread]), boards=40)
    assert set(found.kinds) == {"bound"}
    assert found.coverage is not None and found.coverage >= 0.95
