"""What a tournament's comparisons would cost, asking no one (`--dry-run`): the comparisons the runner would ask (a
comparison is asked once, ever, by its id: stored ones left out, half-judged pairs finished first, then the
schedule's pairs up to its budget), a sample of them rendered through the runner's own pairwise judge and counted,
with the tournament protocol's history (else the same judge model's, else the caps) for re-asks, answer lengths and
seconds per call."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy.orm import Session

from agents.dry_run import rendered
from debates.dry_batch import Counting, Part, calibrated, sample
from debates.estimate import Figure, Key, Spend, StepModel, add_spends, call_spend, scale_spends, spread, with_spread
from debates.tournament import TournamentRunner
from scoring import pairing
from store import history
from store import tournaments as store
from store.history import PastAnswer

Order = tuple[str, str, int]  # (shown first, shown second, judge)


def planned_comparisons(
    ids: Sequence[str], done: set[Order], judges: int, matches: int | None
) -> tuple[list[Order], int]:
    """The comparisons the runner would ask of the pool `ids` given those `done`: the missing orders of half-judged
    pairs, then every order of the schedule's new pairs up to its budget (all pairs up to 12 hypotheses, else
    about 2·n·log2(n), or `matches`). Returns those it can name (every one for a round robin) and how many more
    the adaptive schedule adds (which pairs depends on the answers)."""
    n = len(ids)
    budget = pairing.default_budget(n) if matches is None else max(0, -(-matches // judges))

    def orders(pair: pairing.Pair) -> list[Order]:
        a, b = pair
        return [o for k in range(1, judges + 1) for o in ((a, b, k), (b, a, k))]

    touched = {_pair(a, b) for a, b, _ in done}
    named = [o for p in sorted(touched) for o in orders(p) if o not in done]
    played = len(touched)
    left = max(0, budget - played)
    if n <= pairing.ROUND_ROBIN_MAX or budget >= n * (n - 1) // 2:
        fresh = [p for p in pairing.all_pairs(ids) if p not in touched][:left]
        return named + [o for p in fresh for o in orders(p)], 0
    available = n * (n - 1) // 2 - played
    return named, 2 * judges * min(left, available)


async def estimate_comparisons(
    session: Session,
    runner: TournamentRunner,
    versions: Sequence[store.StoredHypothesis],
    counting: Counting,
    *,
    matches: int | None,
) -> Part:
    """The comparisons `runner` would ask of the pool `versions` (current versions), and their spend."""
    protocol = runner.protocol
    stored = store.comparisons_among(session, protocol.hash, [v.content_hash for v in versions])
    done = {(c.first_id, c.second_id, c.judge) for c in stored}
    ids = sorted({v.id for v in versions})
    named, unnamed = planned_comparisons(ids, done, runner.judges, matches)
    asked = len(named) + unnamed
    past = history.past_comparisons(session, protocol_hash=protocol.hash)
    source = f"tournament protocol {protocol.hash}"
    if not past:
        past, source = history.past_comparisons(session, model=protocol.model(1)), f"judge {protocol.model(1)}"
    step, share = answer_model(past), cached_share(past)
    by_id = {v.id: v for v in versions}
    digests = runner.digests_of(session, versions)
    shown = named or [(a, b, 1) for a, b in itertools.pairwise(ids)]
    spends: list[dict[Key, Spend]] = []
    for first, second, k in sample(shown) if asked else []:
        ask = runner.judge.compare(
            by_id[first],
            by_id[second],
            digests[first],
            digests[second],
            judge=k,
            model=protocol.model(k),
            draw_key="dry-run",
        )
        one, _ = await rendered(ask, counting.counter)
        spends.append({("pairwise", one.model): call_spend(one, step, counting.assume, share)})
    total = calibrated(scale_spends(add_spends(*spends), asked / len(spends)) if spends else {}, counting)
    if past:
        total = with_spread(total, *answer_spreads(past))
    said = f"{source}: {len(past)} past comparisons" if past else "no history: rendered prompts and the caps"
    return Part(asked, len(stored), total, said)


def answer_model(past: Sequence[PastAnswer]) -> StepModel:
    """How single-call answers go, from past ones (re-asks summed in each); the caps without history."""
    if not past:
        return StepModel()
    per_call = [(a.completion_tokens / max(1, a.asks), a.latency_s / max(1, a.asks)) for a in past]
    return StepModel.of_history([a.asks for a in past], [c for c, _ in per_call], [s for _, s in per_call], [])


def answer_spreads(past: Sequence[PastAnswer]) -> tuple[tuple[float, float], ...]:
    """How far single past answers' calls, prompt and completion tokens fell from their means."""
    return (
        spread([a.asks for a in past]),
        spread([a.prompt_tokens for a in past]),
        spread([a.completion_tokens for a in past]),
    )


def cached_share(past: Sequence[PastAnswer]) -> Figure:
    prompt = sum(a.prompt_tokens for a in past)
    return Figure.exact(sum(a.cached_prompt_tokens for a in past) / prompt if prompt else 0.0)


def _pair(a: str, b: str) -> pairing.Pair:
    return (a, b) if a < b else (b, a)
