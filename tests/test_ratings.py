"""Pairwise tournament: every judged order in a Bradley-Terry fit with a first-position parameter and Davidson ties,
its intervals and rank ranges, the judge's lean (first-shown share), order inconsistency, and the pairing
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
    order_inconsistency,
    strengths,
)

IDS = [f"h-{k:02d}" for k in range(10)]
SIXTEEN = [f"h-{k:02d}" for k in range(16)]
Z = 1.959964


def both_orders(a, b, judge, preferred_ab, preferred_ba):
    return [Comparison(a, b, preferred_ab, judge), Comparison(b, a, preferred_ba, judge)]


def skilled_judge(theta, *, judges, seed, bias=0.0, consistent=False):
    """Every pair, both orders, `judges` times: P(first preferred) = logistic(θ_first - θ_second + bias). A
    `consistent` judge draws one verdict per (pair, judge) and gives it in both orders."""
    rng = np.random.default_rng(seed)
    comparisons = []
    for judge in range(1, judges + 1):
        for a, b in all_pairs(list(theta)):
            winner = a if rng.random() < 1 / (1 + math.exp(-(theta[a] - theta[b]))) else b
            for first, second in ((a, b), (b, a)):
                if consistent:
                    preferred = "first" if winner == first else "second"
                else:
                    p = 1 / (1 + math.exp(-(theta[first] - theta[second] + bias)))
                    preferred = "first" if rng.random() < p else "second"
                comparisons.append(Comparison(first, second, preferred, judge))
    return comparisons


def no_data_width(n):
    """A rating's 95% interval width when the comparisons say nothing about it: the prior's, about the mean of n."""
    return 2 * Z * ELO_PER_NAT / math.sqrt(2 * ALPHA) * math.sqrt(1 - 1 / n)


# ---------------------------------------------------------------- a judge that reads position only


def test_a_judge_that_always_prefers_the_first_shown_learns_nothing():
    comparisons = [c for a, b in all_pairs(SIXTEEN) for c in both_orders(a, b, 1, "first", "first")]
    fitted = fit(SIXTEEN, comparisons)
    nothing = fit(SIXTEEN, [])
    assert {round(r.rating, 6) for r in fitted.ratings} == {ELO_BASE}
    assert [r.id for r in fitted.ratings] == SIXTEEN  # equal ratings in id order
    for r, blank in zip(fitted.ratings, nothing.ratings, strict=True):
        assert r.hi - r.lo == pytest.approx(blank.hi - blank.lo, abs=5)  # as wide as with no comparisons
        assert r.hi - r.lo == pytest.approx(no_data_width(16), abs=5)  # about ±1042 for 16
        assert (r.ranks.lo, r.ranks.hi, r.ranks.rank, r.ranks.text()) == (1, 16, 1, "1–16")
        assert (r.wins, r.ties, r.losses) == (15, 0, 15)  # judged orders: first shown 15 times, second 15
    share = first_position_share(comparisons)
    assert share is not None and share.value == 1.0 and share.lo > 0.98
    assert fitted.first_advantage is not None and fitted.first_advantage > 1000  # rating points for being first
    assert order_inconsistency(matches(comparisons)) == 1.0


def test_a_judge_that_always_prefers_the_second_shown_learns_nothing_either():
    comparisons = [c for a, b in all_pairs(IDS) for c in both_orders(a, b, 1, "second", "second")]
    fitted = fit(IDS, comparisons)
    assert {round(r.rating, 6) for r in fitted.ratings} == {ELO_BASE}
    assert all(r.ranks.text() == "1–10" for r in fitted.ratings)
    assert fitted.first_advantage is not None and fitted.first_advantage < -1000
    share = first_position_share(comparisons)
    assert share is not None and share.value == 0.0 and share.hi < 0.05


def test_a_win_and_a_tie_are_not_a_tie():
    """The old encoding made a win in one order and a tie in the other a 1-1 tie."""
    comparisons = [c for b in IDS[1:4] for c in both_orders(IDS[0], b, 1, "first", "tie")]
    by_id = {r.id: r for r in fit(IDS[:4], comparisons).ratings}
    assert by_id[IDS[0]].rating > ELO_BASE + 100
    assert (by_id[IDS[0]].wins, by_id[IDS[0]].ties, by_id[IDS[0]].losses) == (3, 3, 0)


# ---------------------------------------------------------------- a judge that knows the order


def test_a_consistent_judge_with_a_clear_order_recovers_it_with_separated_ranks():
    # the judge always prefers the one earlier in SIXTEEN, whichever order it is shown in
    comparisons = [c for a, b in all_pairs(SIXTEEN) for c in both_orders(a, b, 1, "first", "second")]
    fitted = fit(SIXTEEN, comparisons)
    assert [r.id for r in fitted.ratings] == SIXTEEN
    assert all(r.hi - r.lo < 0.6 * no_data_width(16) for r in fitted.ratings)  # narrower than no data
    best, worst = fitted.ratings[0], fitted.ratings[-1]
    assert best.ranks.lo == 1 and best.ranks.hi < 8 and worst.ranks.hi == 16 and worst.ranks.lo > 8
    assert best.ranks.hi < worst.ranks.lo  # told apart
    assert sum(r.ranks.text() == "1–16" for r in fitted.ratings) == 0
    share = first_position_share(comparisons)
    assert share is not None and share.value == 0.5 and share.lo < 0.5 < share.hi
    assert order_inconsistency(matches(comparisons)) == 0.0


def test_a_skilled_judge_recovers_the_true_order_and_its_intervals_cover_the_truth():
    truth = dict(zip(IDS, np.linspace(1.5, -1.5, len(IDS)), strict=True))  # best first; about 95% best vs worst
    fitted = fit(IDS, skilled_judge(truth, judges=4, seed=7))
    assert kendall_tau([r.id for r in fitted.ratings], IDS) >= 0.8
    covered = [r.lo <= ELO_BASE + ELO_PER_NAT * truth[r.id] <= r.hi for r in fitted.ratings]
    assert sum(covered) >= 8
    assert all(r.comparisons == 4 * 9 * 2 for r in fitted.ratings)
    assert sum(r.wins for r in fitted.ratings) == sum(r.losses for r in fitted.ratings)


def test_intervals_hold_for_a_judge_consistent_across_orders():
    """Both orders of a pair give one verdict: half the independent information the orders seem to carry. The
    intervals still cover the truth about 95% of the time (the model's own Laplace ones: about 83%)."""
    truth = dict(zip(IDS, np.linspace(1.5, -1.5, len(IDS)), strict=True))
    covered, widths = [], []
    for seed in range(60):
        fitted = fit(IDS, skilled_judge(truth, judges=2, seed=seed, consistent=True))
        covered += [r.lo <= ELO_BASE + ELO_PER_NAT * truth[r.id] <= r.hi for r in fitted.ratings]
        widths += [r.hi - r.lo for r in fitted.ratings]
    assert np.mean(covered) >= 0.92
    independent = [
        r.hi - r.lo for seed in range(20) for r in fit(IDS, skilled_judge(truth, judges=2, seed=seed)).ratings
    ]
    assert np.mean(widths) > 1.2 * np.mean(independent)  # a consistent judge's orders count for less


def random_judge(seed):
    rng = np.random.default_rng(seed)
    orders = [(first, second) for a, b in all_pairs(SIXTEEN) for first, second in ((a, b), (b, a))]
    answers = np.where(rng.random(len(orders)) < 0.5, "first", "second")
    return [Comparison(first, second, str(x), 1) for (first, second), x in zip(orders, answers, strict=True)]


def test_a_random_judge_without_a_lean_shows_none():
    covered = []
    for seed in range(300):
        share = first_position_share(random_judge(seed))
        assert share is not None
        covered.append(share.lo < 0.5 < share.hi)
    assert 0.92 <= np.mean(covered) <= 0.99  # a 95% interval covers the no-lean 0.5
    comparisons = random_judge(0)
    assert 0.3 < order_inconsistency(matches(comparisons)) < 0.7  # noise alone: not a lean
    fitted = fit(SIXTEEN, comparisons)
    assert fitted.first_advantage is not None and abs(fitted.first_advantage) < 100
    assert all(r.ranks.hi - r.ranks.lo >= 6 for r in fitted.ratings)  # random answers place nothing


def test_fit_ignores_the_order_of_ids_and_comparisons():
    truth = dict(zip(IDS, np.linspace(1, -1, len(IDS)), strict=True))
    judged = skilled_judge(truth, judges=2, seed=3, bias=0.4)
    reference = fit(IDS, judged)
    shuffler = random.Random(11)
    for _ in range(3):
        ids, shuffled = IDS[:], judged[:]
        shuffler.shuffle(ids)
        shuffler.shuffle(shuffled)
        again = fit(ids, shuffled)
        assert [r.id for r in again.ratings] == [r.id for r in reference.ratings]
        for r, s in zip(again.ratings, reference.ratings, strict=True):
            assert dataclasses.astuple(r)[1:4] == pytest.approx(dataclasses.astuple(s)[1:4], abs=1e-9, rel=0)
            assert (r.wins, r.ties, r.losses, r.ranks) == (s.wins, s.ties, s.losses, s.ranks)
        theta, se = strengths(ids, shuffled)
        ref_theta, ref_se = strengths(IDS, judged)
        back = [ids.index(h) for h in IDS]
        assert theta[back] == pytest.approx(ref_theta, abs=1e-9, rel=0)
        assert se[back] == pytest.approx(ref_se, abs=1e-9, rel=0)


def test_all_ties_give_equal_ratings_and_no_order():
    comparisons = [c for a, b in all_pairs(IDS[:5]) for c in both_orders(a, b, 1, "tie", "tie")]
    ratings = fit(IDS[:5], comparisons).ratings
    assert {round(r.rating, 6) for r in ratings} == {ELO_BASE}
    assert {r.ranks.text() for r in ratings} == {"1–5"}


def test_an_undefeated_hypothesis_is_finite_and_on_top():
    comparisons = [c for b in IDS[1:5] for c in both_orders(IDS[0], b, 1, "first", "second")]
    comparisons += [c for a, b in all_pairs(IDS[1:5]) for c in both_orders(a, b, 1, "first", "second")]
    ratings = fit(IDS[:5], comparisons).ratings
    best = ratings[0]
    assert best.id == IDS[0]
    assert (best.wins, best.ties, best.losses) == (8, 0, 0)
    assert all(math.isfinite(v) for v in (best.lo, best.rating, best.hi))
    assert best.lo < best.rating < best.hi
    assert [r.id for r in ratings] == IDS[:5]


def test_a_hypothesis_without_comparisons_keeps_the_wide_prior():
    by_id = {r.id: r for r in fit(["a", "b", "new"], both_orders("a", "b", 1, "first", "second")).ratings}
    new = by_id["new"]
    assert new.rating == ELO_BASE
    assert new.comparisons == 0
    assert new.hi - new.lo == pytest.approx(no_data_width(3), rel=1e-6)
    assert new.hi - new.lo > by_id["a"].hi - by_id["a"].lo
    assert new.ranks.text() == "1–3"
    assert by_id["a"].rating > ELO_BASE > by_id["b"].rating
    assert by_id["a"].rating - ELO_BASE == pytest.approx(ELO_BASE - by_id["b"].rating)  # centred


def test_comparisons_naming_unknown_ids_are_an_error():
    judged = both_orders("a", "ghost", 1, "first", "second") + both_orders("a", "zed", 1, "tie", "tie")
    with pytest.raises(ValueError, match="not in ids: ghost, zed"):
        fit(["a"], judged)


def test_the_same_order_judged_twice_is_an_error_for_the_fit_too():
    with pytest.raises(ValueError, match=r"judge 1 compared 'a' \(shown first\) with 'b' twice"):
        fit(["a", "b"], [Comparison("a", "b", "first"), Comparison("a", "b", "tie")])


def test_the_rating_scale_is_elo_like():
    assert ELO_PER_NAT * math.log(10) == pytest.approx(400)  # 400 points = 10:1 odds


# ---------------------------------------------------------------- matches, order inconsistency, the first-shown share


@pytest.mark.parametrize(
    ("ab", "ba", "winner", "consistent"),
    [
        ("first", "second", "a", True),  # a preferred in both orders
        ("second", "first", "b", True),
        ("tie", "tie", None, True),
        ("first", "first", None, False),  # whoever is shown first
        ("second", "second", None, False),
        ("tie", "first", None, False),  # one tie, one win
        ("second", "tie", None, False),
    ],
)
def test_two_orders_make_one_match(ab, ba, winner, consistent):
    [match] = matches(both_orders("a", "b", 1, ab, ba))
    assert match == Match(a="a", b="b", judge=1, winner=winner, consistent=consistent)


def test_a_pair_judged_in_one_order_only_is_left_out_of_the_matches():
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
    assert order_inconsistency([]) is None
    assert first_position_share([]) is None
    assert first_position_share([Comparison("a", "b", "tie")]) is None


def test_first_position_share_counts_only_named_winners():
    share = first_position_share(
        [Comparison("a", "b", "first"), Comparison("b", "a", "second"), Comparison("a", "c", "tie")]
    )
    assert share is not None and share.value == 0.5 and share.n == 2
    assert share.as_json() == {
        "value": 0.5,
        "lo": pytest.approx(share.lo, abs=1e-4),
        "hi": pytest.approx(share.hi, abs=1e-4),
    }


def test_a_judge_whose_answers_about_a_pair_move_together_counts_as_fewer_trials():
    """Some pairs always go to the first shown, others to the second: 50% overall, but a clustered 50%."""
    pairs = all_pairs(SIXTEEN)
    clustered = [
        c for k, (a, b) in enumerate(pairs) for c in both_orders(a, b, 1, *(["first"] * 2 if k % 2 else ["second"] * 2))
    ]
    balanced = [c for a, b in pairs for c in both_orders(a, b, 1, "first", "second")]
    wide, narrow = first_position_share(clustered), first_position_share(balanced)
    assert wide is not None and narrow is not None and wide.value == narrow.value == 0.5
    assert wide.hi - wide.lo > 1.3 * (narrow.hi - narrow.lo)


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
    judged: list[Comparison] = []
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
            judged += both_orders(a, b, 1, *(("first", "second") if winner == a else ("second", "first")))
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
