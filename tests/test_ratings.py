"""Pairwise tournament: matches from both orders, the position-bias rate, Bradley-Terry ratings, and the pairing
schedule."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from scoring.pairing import ROUND_ROBIN_MAX, Schedule, all_pairs, default_budget
from scoring.ratings import (
    ALPHA,
    ELO_BASE,
    ELO_PER_NAT,
    Comparison,
    Match,
    agreement,
    first_position_share,
    fit,
    kendall_tau,
    matches,
    position_bias,
    strengths,
)

IDS = [f"h-{k:02d}" for k in range(10)]


def both_orders(a, b, judge, preferred_ab, preferred_ba):
    return [Comparison(a, b, preferred_ab, judge), Comparison(b, a, preferred_ba, judge)]


def skilled_judge(theta, *, judges, seed, bias=0.0):
    """Every pair, both orders, `judges` times: P(first preferred) = logistic(θ_first - θ_second + bias)."""
    rng = np.random.default_rng(seed)
    comparisons = []
    for judge in range(1, judges + 1):
        for a, b in all_pairs(list(theta)):
            for first, second in ((a, b), (b, a)):
                p = 1 / (1 + math.exp(-(theta[first] - theta[second] + bias)))
                comparisons.append(Comparison(first, second, "first" if rng.random() < p else "second", judge))
    return comparisons


# ---------------------------------------------------------------- matches and position bias


def test_a_judge_that_always_prefers_the_first_shown_learns_nothing():
    comparisons = [c for a, b in all_pairs(IDS[:6]) for c in both_orders(a, b, 1, "first", "first")]
    played = matches(comparisons)
    assert len(played) == 15
    assert all(m.winner is None and not m.consistent for m in played)
    assert position_bias(played) == 1.0
    assert first_position_share(comparisons) == 1.0
    ratings = fit(IDS[:6], played)
    assert {r.rating for r in ratings} == {ELO_BASE}
    assert [r.id for r in ratings] == IDS[:6]  # equal ratings in id order
    assert all(r.ties == 5 and r.matches == 5 for r in ratings)


@pytest.mark.parametrize(
    ("ab", "ba", "winner", "consistent"),
    [
        ("first", "second", "a", True),  # a preferred in both orders
        ("second", "first", "b", True),
        ("tie", "tie", None, True),
        ("first", "first", None, False),  # whoever is shown first: position bias
        ("second", "second", None, False),
        ("tie", "first", None, False),  # one tie, one win
        ("second", "tie", None, False),
    ],
)
def test_two_orders_make_one_match(ab, ba, winner, consistent):
    [match] = matches(both_orders("a", "b", 1, ab, ba))
    assert match == Match(a="a", b="b", judge=1, winner=winner, consistent=consistent)


def test_a_pair_judged_in_one_order_only_is_left_out():
    comparisons = [*both_orders("x", "y", 1, "first", "second"), Comparison("y", "z", "first", 1)]
    comparisons += both_orders("x", "y", 2, "tie", "tie")
    assert [(m.a, m.b, m.judge) for m in matches(comparisons)] == [("x", "y", 1), ("x", "y", 2)]


def test_matches_are_sorted_by_pair_then_judge():
    comparisons = both_orders("c", "a", 2, "tie", "tie") + both_orders("b", "a", 1, "tie", "tie")
    comparisons += both_orders("a", "c", 1, "tie", "tie")
    expected = [("a", "b", 1), ("a", "c", 1), ("a", "c", 2)]
    assert [(m.a, m.b, m.judge) for m in matches(reversed(comparisons))] == expected


def test_the_same_order_judged_twice_is_an_error():
    comparisons = [*both_orders("a", "b", 1, "first", "second"), Comparison("a", "b", "tie", 1)]
    with pytest.raises(ValueError, match=r"judge 1 compared 'a' \(shown first\) with 'b' twice"):
        matches(comparisons)


def test_the_other_judge_may_judge_the_same_order():
    comparisons = both_orders("a", "b", 1, "first", "second") + both_orders("a", "b", 2, "first", "second")
    assert len(matches(comparisons)) == 2


def test_rates_are_none_without_data():
    assert position_bias([]) is None
    assert first_position_share([]) is None
    assert first_position_share([Comparison("a", "b", "tie")]) is None


def test_first_position_share_counts_only_named_winners():
    comparisons = [Comparison("a", "b", "first"), Comparison("b", "a", "second"), Comparison("a", "c", "tie")]
    assert first_position_share(comparisons) == 0.5


# ---------------------------------------------------------------- ratings


def test_a_skilled_judge_recovers_the_true_order_and_its_intervals_cover_the_truth():
    truth = dict(zip(IDS, np.linspace(1.5, -1.5, len(IDS)), strict=True))  # best first; about 95% best vs worst
    played = matches(skilled_judge(truth, judges=4, seed=7))
    ratings = fit(IDS, played)
    assert kendall_tau([r.id for r in ratings], IDS) >= 0.8
    centre = np.mean(list(truth.values()))
    covered = [r.lo <= ELO_BASE + ELO_PER_NAT * (truth[r.id] - centre) <= r.hi for r in ratings]
    assert sum(covered) >= 8
    assert all(r.matches == 4 * 9 for r in ratings)
    assert sum(r.wins for r in ratings) == sum(r.losses for r in ratings)


def test_fit_ignores_the_order_of_ids_and_matches():
    truth = dict(zip(IDS, np.linspace(1, -1, len(IDS)), strict=True))
    played = matches(skilled_judge(truth, judges=2, seed=3, bias=0.4))
    reference = fit(IDS, played)
    shuffler = random.Random(11)
    for _ in range(3):
        ids, shuffled = IDS[:], played[:]
        shuffler.shuffle(ids)
        shuffler.shuffle(shuffled)
        again = fit(ids, shuffled)
        assert [r.id for r in again] == [r.id for r in reference]
        for r, s in zip(again, reference, strict=True):
            assert dataclasses.astuple(r)[1:4] == pytest.approx(dataclasses.astuple(s)[1:4], abs=1e-9, rel=0)
            assert (r.wins, r.ties, r.losses) == (s.wins, s.ties, s.losses)
        theta, se = strengths(ids, shuffled)
        ref_theta, ref_se = strengths(IDS, played)
        back = [ids.index(h) for h in IDS]
        assert theta[back] == pytest.approx(ref_theta, abs=1e-9, rel=0)
        assert se[back] == pytest.approx(ref_se, abs=1e-9, rel=0)


def test_all_ties_give_equal_ratings():
    played = matches(c for a, b in all_pairs(IDS[:5]) for c in both_orders(a, b, 1, "tie", "tie"))
    assert {r.rating for r in fit(IDS[:5], played)} == {ELO_BASE}


def test_an_undefeated_hypothesis_is_finite_and_on_top():
    comparisons = [c for b in IDS[1:5] for c in both_orders(IDS[0], b, 1, "first", "second")]
    comparisons += [c for a, b in all_pairs(IDS[1:5]) for c in both_orders(a, b, 1, "first", "second")]
    ratings = fit(IDS[:5], matches(comparisons))
    best = ratings[0]
    assert best.id == IDS[0]
    assert (best.wins, best.ties, best.losses) == (4, 0, 0)
    assert all(math.isfinite(v) for v in (best.lo, best.rating, best.hi))
    assert best.lo < best.rating < best.hi
    assert [r.id for r in ratings] == IDS[:5]


def test_a_hypothesis_without_matches_keeps_the_wide_prior():
    played = matches(both_orders("a", "b", 1, "first", "second"))
    by_id = {r.id: r for r in fit(["a", "b", "new"], played)}
    new = by_id["new"]
    assert new.rating == ELO_BASE
    assert new.matches == 0
    assert new.hi - new.lo == pytest.approx(2 * 1.959964 * ELO_PER_NAT / math.sqrt(2 * ALPHA), rel=1e-6)
    assert new.hi - new.lo > 2 * (by_id["a"].hi - by_id["a"].lo)
    assert by_id["a"].rating > ELO_BASE > by_id["b"].rating
    assert by_id["a"].rating - ELO_BASE == pytest.approx(ELO_BASE - by_id["b"].rating)  # centred on those that played


def test_matches_naming_unknown_ids_are_an_error():
    played = matches(both_orders("a", "ghost", 1, "first", "second") + both_orders("a", "zed", 1, "tie", "tie"))
    with pytest.raises(ValueError, match="not in ids: ghost, zed"):
        fit(["a"], played)


def test_the_rating_scale_is_elo_like():
    assert ELO_PER_NAT * math.log(10) == pytest.approx(400)  # 400 points = 10:1 odds


# ---------------------------------------------------------------- kendall tau


def test_kendall_tau_of_identical_and_reversed_rankings():
    assert kendall_tau(IDS, IDS) == pytest.approx(1.0)
    assert kendall_tau(IDS, IDS[::-1]) == pytest.approx(-1.0)


def test_kendall_tau_uses_the_shared_ids_only():
    assert kendall_tau(["a", "x", "b", "c"], ["a", "b", "y", "c"]) == pytest.approx(1.0)
    assert kendall_tau(["a", "b"], ["b", "c"]) is None


# ---------------------------------------------------------------- pairing


def test_default_budget_is_a_round_robin_for_small_fields_and_grows_slower_beyond():
    assert [default_budget(n) for n in (0, 1, 2, ROUND_ROBIN_MAX)] == [0, 0, 1, 66]
    assert all(default_budget(n) <= n * (n - 1) // 2 for n in range(0, 300))
    assert default_budget(64) < 0.4 * 64 * 63 / 2
    assert default_budget(256) < default_budget(64) * 8


def test_a_small_field_plays_every_pair_in_one_round():
    schedule = Schedule(order=IDS, budget=default_budget(len(IDS)))
    first = schedule.next_round([], None)
    assert sorted(first) == all_pairs(IDS)
    assert schedule.next_round(first, None) == []


def test_a_small_field_skips_what_was_played_and_respects_the_budget():
    schedule = Schedule(order=IDS[:5], budget=7)
    played = [("h-00", "h-01"), ("h-02", "h-03")]
    pairs = schedule.next_round(played, None)
    assert len(pairs) == 5
    assert not set(pairs) & set(played)


def test_a_budget_for_every_pair_plays_them_all_at_once():
    ids = [f"h-{k:02d}" for k in range(16)]
    schedule = Schedule(order=ids, budget=default_budget(16))
    assert default_budget(16) == 120
    first = schedule.next_round([], None)
    assert sorted(first) == all_pairs(ids)
    assert schedule.next_round(first, None) == []


def test_a_large_field_plays_adaptive_rounds_within_its_budget():
    ids = [f"h-{k:02d}" for k in range(40)]
    order = ids[::3] + [h for h in ids if h not in ids[::3]]  # a starting order unlike the id order
    rng = random.Random(5)
    truth = {h: rng.gauss(0, 1) for h in ids}
    schedule = Schedule(order=order, budget=default_budget(40))
    played: list[tuple[str, str]] = []
    judged: list[Match] = []
    current = None
    rounds = []
    while pairs := schedule.next_round(played, current):
        rounds.append(pairs)
        assert len(rounds) < 100
        named = [h for pair in pairs for h in pair]
        assert len(named) == len(set(named)), "an id twice in one round"
        assert all(a < b for a, b in pairs)
        assert not set(pairs) & set(played), "a pair repeated"
        played += pairs
        for a, b in pairs:
            winner = a if truth[a] + rng.gauss(0, 1) > truth[b] else b
            judged.append(Match(a=a, b=b, judge=1, winner=winner, consistent=True))
        theta, se = strengths(ids, judged)
        current = {h: (t, s) for h, t, s in zip(ids, theta.tolist(), se.tolist(), strict=True)}
    assert rounds[0] == [tuple(sorted(order[k : k + 2])) for k in range(0, 40, 2)]
    assert rounds[1] == [tuple(sorted(order[k : k + 2])) for k in range(1, 39, 2)]  # joins the pieces: 2-3, 4-5, ...
    assert len(played) == default_budget(40) < 40 * 39 // 2
    assert len(set(played)) == len(played)
    assert schedule.next_round(played, current) == []


def test_the_schedule_is_deterministic_and_needs_every_strength():
    ids = [f"h-{k:02d}" for k in range(20)]
    schedule = Schedule(order=ids, budget=100)
    played = schedule.next_round([], None) + schedule.next_round(schedule.next_round([], None), None)
    current = {h: (-0.1 * k, 0.5) for k, h in enumerate(ids)}
    assert schedule.next_round(played, current) == schedule.next_round(list(reversed(played)), dict(current))
    with pytest.raises(ValueError, match="strengths missing for h-19"):
        schedule.next_round(played, {h: v for h, v in current.items() if h != "h-19"})


def test_agreement_counts_level_values_as_ties_and_is_undefined_when_all_are_level():
    scores = {"a": 0.9, "b": 0.5, "c": 0.1}
    assert agreement({"a": 1600.0, "b": 1500.0, "c": 1400.0}, scores) == pytest.approx(1.0)
    assert agreement({"a": 1400.0, "b": 1500.0, "c": 1600.0, "z": 1.0}, scores) == pytest.approx(-1.0)
    # a judge that only ever tied rates everything 1500: no order to agree or disagree with
    assert agreement({"a": 1500.0, "b": 1500.0, "c": 1500.0}, scores) is None
    assert agreement({"a": 1500.0}, scores) is None
