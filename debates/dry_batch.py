"""What a batch's debates would cost, asking no one (`--dry-run`): the debates the runner would ask (stored ones
left out exactly as it skips them: identity = hypothesis content, protocol, replicate), each rendered through the
runner's own roles and counted, with the protocol's history (else the same models', else the caps) for what
rendering cannot know: re-asks, answer lengths, early stops, seconds per call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session

from agents.dry_run import TokenCounter, rendered
from agents.roles import Roles
from debates.dry_debate import render_debate
from debates.estimate import (
    Assume,
    Figure,
    Key,
    Spend,
    StepModel,
    add_spends,
    debate_plan,
    debate_spend,
    scale_spends,
    spread,
    stop_rate,
    summary,
    with_spread,
)
from debates.hypotheses import Hypothesis
from debates.protocol import debate_id
from debates.runner import BatchRunner
from store import history
from store.history import PastCall, PastTurn

T = TypeVar("T")
SAMPLE = 48  # units rendered at most; the rest are taken to cost what these cost on average
UNCALIBRATED = Figure(1.0, 0.8, 1.25)  # characters / 4 against a provider's tokenizer, without history: 3.2–5


@dataclass(frozen=True)
class Counting:
    """How an estimate counts tokens and seconds: the counter, the seconds a call is assumed to take where history
    does not say, and per model the calibration of the counter (recorded / counted prompt tokens in history)."""

    counter: TokenCounter
    assume: Assume
    calibration: dict[str, Figure] = field(default_factory=dict)

    def factor(self, model: str) -> Figure:
        found = self.calibration.get(model)
        if found is not None:
            return found
        return Figure.exact(1.0) if self.counter.exact else UNCALIBRATED


@dataclass
class Part:
    """One kind of work an estimate is made of: units to ask, units found stored, their spend, and where its
    figures come from."""

    work: int
    stored: int
    spend: dict[Key, Spend]
    history: str


def calibrated(spends: dict[Key, Spend], counting: Counting) -> dict[Key, Spend]:
    """Prompt (and cached) tokens multiplied by each model's calibration."""
    out = {}
    for (role, model), s in spends.items():
        f = counting.factor(model)
        prompt = Figure(s.prompt.value * f.value, s.prompt.lo * f.lo, s.prompt.hi * f.hi)
        cached = Figure(s.cached.value * f.value, s.cached.lo * f.lo, s.cached.hi * f.hi)
        out[(role, model)] = Spend(s.calls, prompt, s.completion, cached, s.busy_s)
    return out


async def calibration(session: Session, roles: Roles, counter: TokenCounter, model: str) -> Figure | None:
    """How many tokens the provider counted per token counted here, from past openings by `model` under the
    current opening template: their total ratio, with the 10th–90th percentile of single openings'; None without
    history (or with an exact counter, which needs none)."""
    if counter.exact:
        return None
    pairs = history.openings(session, model, roles.prompts.hashes["opening"])
    counted: list[tuple[int, int]] = []
    for version, recorded in pairs:
        shown, _ = await rendered(roles.opening(version, "calibration"), counter)
        counted.append((recorded, shown.prompt[1]))
    if not counted:
        return None
    ratios = summary([r / c for r, c in counted])
    assert ratios is not None
    total = sum(r for r, _ in counted) / sum(c for _, c in counted)
    return Figure(total, min(total, ratios.lo), max(total, ratios.hi))


async def estimate_debates(
    session: Session,
    runner: BatchRunner,
    debates: Sequence[tuple[Hypothesis, int]],
    counting: Counting,
    *,
    fresh: bool = False,
) -> Part:
    """The debates of `debates` (hypothesis, replicate) that `runner` would ask, and their spend; `fresh`: every
    one, whatever is stored (stand-ins for hypotheses not written yet)."""
    protocol = runner.protocol
    ids = [debate_id(h.content_hash, protocol.hash, r) for h, r in debates]
    states = {} if fresh else history.debate_states(session, ids)
    asked = [(h, states[d].turns if d in states else []) for (h, _), d in zip(debates, ids, strict=True)]
    asked = [item for item, d in zip(asked, ids, strict=True) if d not in states or states[d].status != "completed"]
    stored = len(debates) - len(asked)
    past, source = history.protocol_debates(session, protocol.hash), f"protocol {protocol.hash}"
    if not past:
        past, source = history.model_debates(session, protocol.models, protocol.design), "the same models"
    turns, calls = history.turns_of(session, past), history.calls_of(session, past)
    steps = step_models(turns, calls)
    s = runner.settings
    rate = stop_rate(_turn_keys(turns).values(), s.rounds) if turns else None
    plan = debate_plan(s.rounds, s.judges, early_stop=s.early_stop, design=runner.design, stop_rate=rate)
    texts = {step: model.text_chars for step, model in steps.items()}
    share = _cached_share(calls)
    spends: list[dict[Key, Spend]] = []
    for hypothesis, done in sample(asked):
        shown = await render_debate(
            runner.roles,
            hypothesis,
            plan,
            rounds=s.rounds,
            seats=runner.seats,
            counter=counting.counter,
            text_chars=texts,
            version_id=f"{hypothesis.hypothesis_id}.v1",  # what the judges are told they score: its length counts
            auditor=runner.auditor,
        )
        spends.append(debate_spend(plan, shown, steps, counting.assume, done=done, cached_share=share))
    total = calibrated(scale_spends(add_spends(*spends), len(asked) / len(spends)) if spends else {}, counting)
    if turns:
        total = with_spread(total, *_debate_spreads(turns))
    said = f"{source}: {len(past)} past debates" if past else "no history: rendered prompts and the caps"
    return Part(len(asked), stored, total, said)


def step_models(turns: Sequence[PastTurn], calls: Sequence[PastCall]) -> dict[str, StepModel]:
    """Per step, from past turns (answers asked, text lengths) and past calls (completion tokens and seconds per
    call; calls stored without their step fall back on the turns' sums and the role's calls)."""
    by_step: dict[str, list[PastTurn]] = defaultdict(list)
    for t in turns:
        by_step[t.step].append(t)
    tagged: dict[str, list[PastCall]] = defaultdict(list)
    by_role: dict[str, list[PastCall]] = defaultdict(list)
    for c in calls:
        by_role[c.role].append(c)
        if c.step:
            tagged[c.step].append(c)
    out = {}
    for step, ts in by_step.items():
        cs = tagged.get(step, [])
        completions = [c.completion_tokens for c in cs] or [t.completion_tokens / max(1, t.asks) for t in ts]
        latencies = [c.latency_s for c in cs or by_role.get(ts[0].role, [])]
        prompt = sum(c.prompt_tokens for c in cs)
        share = sum(c.cached_prompt_tokens for c in cs) / prompt if prompt else None
        out[step] = StepModel.of_history(
            [t.asks for t in ts], completions, latencies, [t.text_chars for t in ts], share
        )
    return out


def _turn_keys(turns: Sequence[PastTurn]) -> dict[str, list[tuple[str, int]]]:
    keys: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for t in turns:
        keys[t.debate_id].append((t.step, t.round))
    return keys


def _debate_spreads(turns: Sequence[PastTurn]) -> tuple[tuple[float, float], ...]:
    """How far single past debates' calls, prompt and completion tokens fell from their means."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for t in turns:
        row = totals[t.debate_id]
        row[0] += t.asks
        row[1] += t.prompt_tokens
        row[2] += t.completion_tokens
    rows = list(totals.values())
    return tuple(spread([r[i] for r in rows]) for i in range(3))


def _cached_share(calls: Sequence[PastCall]) -> Figure:
    """The share of prompt tokens past calls had cached (0 without history)."""
    prompt = sum(c.prompt_tokens for c in calls)
    return Figure.exact(sum(c.cached_prompt_tokens for c in calls) / prompt if prompt else 0.0)


def sample(items: Sequence[T]) -> list[T]:
    """At most SAMPLE of `items`, evenly spaced."""
    if len(items) <= SAMPLE:
        return list(items)
    step = len(items) / SAMPLE
    return [items[int(k * step)] for k in range(SAMPLE)]
