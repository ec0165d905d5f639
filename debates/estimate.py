"""What a command would cost before it runs (`--dry-run`): the arithmetic, with no I/O.

Every figure is a `Figure`: a value and a range (lo–hi). A command's work is made of units (debates, comparisons,
claim checks, generator calls); each unit's calls are counted per (role, model) in a `Spend`, and an `Estimate`
adds them up, prices them and turns the calls' seconds into wall time at the command's concurrency.

A debate is a set of scenarios (`debate_plan`): it stops after critique k when the critic concedes or has nothing
new (`early_stop`), else runs every round and the closing; the judges come last. Each step instance's prompt is
rendered and counted by the caller; how many answers a turn takes (re-asks), how long the answers are and how
often a debate stops early come from history (`StepModel.of_history`, `stop_rate`) or, without any, from the
schemas' caps (agents/dry_run.py: typical answers, every round; the range from short answers and a stop after
round 1 to every answer at its caps, every round, one re-ask in ten).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from agents.dry_run import Rendered
from agents.settings import Price

REASK_ALLOWANCE = 1.1  # without history, the range's top allows one re-ask in ten calls


@dataclass(frozen=True)
class Figure:
    """A number with its range: `value` is the estimate, `lo`–`hi` what it may come to."""

    value: float
    lo: float
    hi: float

    @classmethod
    def exact(cls, value: float) -> Figure:
        return cls(value, value, value)

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.value + other.value, self.lo + other.lo, self.hi + other.hi)

    def scaled(self, k: float) -> Figure:
        return Figure(self.value * k, self.lo * k, self.hi * k)

    def around(self, lo: float, hi: float) -> Figure:
        """The value with the range `lo`–`hi` times it (a spread observed around a mean)."""
        return Figure(self.value, self.value * lo, self.value * hi)

    def as_json(self, digits: int = 0) -> float | dict[str, float]:
        """A number when the range is one point, else {"value", "lo", "hi"}."""
        shown = [round(x, digits) if digits else round(x) for x in (self.value, self.lo, self.hi)]
        if shown[0] == shown[1] == shown[2]:
            return shown[0]
        return dict(zip(("value", "lo", "hi"), shown, strict=True))


ZERO = Figure(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Spend:
    """Calls to one model by one role: how many, their prompt (cached among them) and completion tokens, and the
    seconds they take one after another (`busy_s`)."""

    calls: Figure = ZERO
    prompt: Figure = ZERO
    completion: Figure = ZERO
    cached: Figure = ZERO
    busy_s: Figure = ZERO

    def __add__(self, other: Spend) -> Spend:
        return Spend(*(a + b for a, b in zip(self._parts(), other._parts(), strict=True)))

    def scaled(self, k: float) -> Spend:
        return Spend(*(part.scaled(k) for part in self._parts()))

    def _parts(self) -> tuple[Figure, ...]:
        return (self.calls, self.prompt, self.completion, self.cached, self.busy_s)

    def cost(self, price: Price | None) -> Figure | None:
        """Dollars at `price`; None when the model has no price (unknown, never $0)."""
        if price is None:
            return None
        bounds = [
            price.cost_usd(p, c, k)  # type: ignore[arg-type]
            for p, c, k in (
                (self.prompt.value, self.completion.value, self.cached.value),
                (self.prompt.lo, self.completion.lo, self.cached.lo),
                (self.prompt.hi, self.completion.hi, self.cached.hi),
            )
        ]
        return Figure(*bounds)


Key = tuple[str, str]  # (role, model)


def add_spends(*parts: Mapping[Key, Spend]) -> dict[Key, Spend]:
    out: dict[Key, Spend] = defaultdict(Spend)
    for part in parts:
        for key, spend in part.items():
            out[key] = out[key] + spend
    return dict(out)


def scale_spends(spends: Mapping[Key, Spend], k: float) -> dict[Key, Spend]:
    return {key: spend.scaled(k) for key, spend in spends.items()}


# -- a debate's scenarios -------------------------------------------------------------------------------------------


class Instance(NamedTuple):
    """One turn of a debate: its step, speaker, round and judge (0 for the debaters' turns); a verdict also says
    how many debaters' turns it reads (`after`: the same judge reads more after a full debate than after a stop)."""

    step: str
    role: str
    round: int
    judge: int = 0
    after: int = 0

    @property
    def stored_as(self) -> tuple[str, int, int]:
        """(step, round, judge): how a stored turn names it."""
        return self.step, self.round, self.judge


@dataclass(frozen=True)
class DebatePlan:
    """The turns of each way a debate may go (`scenarios`: stop@1 ... stop@R, full; "judges" for the single-judge
    design) and how much each counts towards the value and the bounds of the estimate."""

    scenarios: dict[str, tuple[Instance, ...]]
    value: dict[str, float]
    lo: dict[str, float]
    hi: dict[str, float]

    def instances(self) -> list[Instance]:
        """Every turn some scenario has, each once, in debate order."""
        return list(dict.fromkeys(i for turns in self.scenarios.values() for i in turns))

    def transcript_before(self, instance: Instance) -> tuple[Instance, ...]:
        """The debaters' turns a step reads: those before it in the longest scenario it belongs to."""
        for turns in sorted(self.scenarios.values(), key=len, reverse=True):
            if instance in turns:
                before = turns[: turns.index(instance)]
                return tuple(t for t in before if t.step != "verdict")
        return ()


def debate_plan(rounds: int, judges: int, *, early_stop: bool, design: str, stop_rate: float | None) -> DebatePlan:
    """The scenarios of a debate and their weights. `stop_rate`: the share of critiques after which debates stopped
    early in history; None (no history) takes the value and the top of the range from every round, the bottom
    from a stop after round 1."""
    if design == "single-judge":
        only = {"judges": tuple(Instance("verdict", "judge", 0, j) for j in range(1, judges + 1))}
        return DebatePlan(only, {"judges": 1.0}, {"judges": 1.0}, {"judges": 1.0})
    scenarios: dict[str, tuple[Instance, ...]] = {}
    turns = [Instance("opening", "proposer", 0)]
    for r in range(1, rounds + 1):
        turns.append(Instance("critique", "critic", r))
        if early_stop:
            scenarios[f"stop@{r}"] = (*turns, *_verdicts(judges, r, len(turns)))
        turns.append(Instance("rebuttal", "proposer", r))
    turns.append(Instance("closing", "critic", rounds))
    scenarios["full"] = (*turns, *_verdicts(judges, rounds, len(turns)))
    if stop_rate is None:
        bottom = "stop@1" if "stop@1" in scenarios else "full"
        return DebatePlan(scenarios, {"full": 1.0}, {bottom: 1.0}, {"full": 1.0})
    h = min(max(stop_rate, 0.0), 1.0) if early_stop else 0.0
    weights = {f"stop@{k}": (1 - h) ** (k - 1) * h for k in range(1, rounds + 1) if f"stop@{k}" in scenarios}
    weights["full"] = (1 - h) ** rounds
    return DebatePlan(scenarios, weights, weights, weights)


def _verdicts(judges: int, round_: int, after: int) -> tuple[Instance, ...]:
    return tuple(Instance("verdict", "judge", round_, j, after) for j in range(1, judges + 1))


# -- one call's figures ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepModel:
    """How a step's calls go: answers asked per turn (re-asks included), completion tokens and seconds per call;
    None where history does not say (the caps and the stated assumptions apply)."""

    asks: Figure = Figure(1.0, 1.0, REASK_ALLOWANCE)
    completion: Figure | None = None
    latency_s: Figure | None = None
    text_chars: float | None = None  # characters of the turn as later speakers read it
    cached_share: float | None = None  # of its prompt tokens, the share the provider served from its cache

    @classmethod
    def of_history(cls, asks: Sequence[float], completions: Sequence[float], latencies: Sequence[float],
                   texts: Sequence[float], cached_share: float | None = None) -> StepModel:  # fmt: skip
        """From past turns' answers asked, past calls' completion tokens and seconds, past turns' text lengths, and
        the share of past prompt tokens served from the provider's cache."""
        return cls(
            asks=summary(asks) or Figure(1.0, 1.0, REASK_ALLOWANCE),
            completion=summary(completions),
            latency_s=summary(latencies),
            text_chars=statistics.fmean(texts) if texts else None,
            cached_share=cached_share,
        )


Assume = Callable[[float, float], Figure]  # (prompt tokens, completion tokens) -> seconds a call takes


def call_spend(rendered: Rendered, step: StepModel, assume: Assume, cached_share: Figure = ZERO) -> Spend:
    """One turn's calls (its re-asks included) for this rendered request; cached prompt tokens at the step's own
    share in history, else at `cached_share`."""
    if step.cached_share is not None:
        cached_share = Figure.exact(step.cached_share)
    short, typical, full = rendered.answer
    completion = step.completion or Figure(typical, short, full)
    prompt = Figure(rendered.prompt[1], rendered.prompt[0], rendered.prompt[2])
    latency = step.latency_s or assume(prompt.value, completion.value)
    asks = step.asks
    return Spend(
        calls=asks,
        prompt=_times(asks, prompt),
        completion=_times(asks, completion),
        cached=_times(_times(asks, prompt), cached_share),
        busy_s=_times(asks, latency),
    )


def _times(a: Figure, b: Figure) -> Figure:
    return Figure(a.value * b.value, a.lo * b.lo, a.hi * b.hi)


def debate_spend(
    plan: DebatePlan,
    rendered: Mapping[Instance, Rendered],
    steps: Mapping[str, StepModel],
    assume: Assume,
    *,
    done: Iterable[tuple[str, int, int]] = (),
    cached_share: Figure = ZERO,
) -> dict[Key, Spend]:
    """One debate's calls per (role, model): each scenario's turns not `done` (stored by an interrupted run, as
    (step, round, judge)), weighted as the plan says for the value and for each bound."""
    skip = set(done)
    sums: dict[Key, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))
    for bound, weights in enumerate((plan.value, plan.lo, plan.hi)):
        for name, weight in weights.items():
            for instance in plan.scenarios[name]:
                if instance.stored_as in skip or not weight:
                    continue
                shown = rendered[instance]
                one = call_spend(shown, steps.get(instance.step, StepModel()), assume, cached_share)
                parts = sums[(instance.role, shown.model)]
                for part, figure in zip(FIELDS, one._parts(), strict=True):
                    parts[part][bound] += weight * (figure.value, figure.lo, figure.hi)[bound]
    return {key: Spend(*(Figure(*parts[part]) for part in FIELDS)) for key, parts in sums.items()}


FIELDS = ("calls", "prompt", "completion", "cached", "busy_s")


# -- history ----------------------------------------------------------------------------------------------------------


def summary(values: Sequence[float]) -> Figure | None:
    """The mean of `values` with their 10th and 90th percentiles; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return Figure(statistics.fmean(ordered), _percentile(ordered, 0.1), _percentile(ordered, 0.9))


def _percentile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


SAMPLING = 0.05  # the least a range spreads around a mean of past units: they are a sample, not the future


def spread(totals: Sequence[float]) -> tuple[float, float]:
    """How far single units' totals fell from their mean: (10th percentile / mean, 90th / mean), at least
    SAMPLING either side of it."""
    seen = summary(totals)
    if seen is None or seen.value <= 0:
        return 1 - SAMPLING, 1 + SAMPLING
    return min(seen.lo / seen.value, 1 - SAMPLING), max(seen.hi / seen.value, 1 + SAMPLING)


def stop_rate(debates: Iterable[Sequence[tuple[str, int]]], rounds: int) -> float | None:
    """The share of critiques after which a debate stopped (went to its judges without a rebuttal) in history, among
    critiques that a rebuttal could have followed; None when history holds no critique."""
    critiques = stops = 0
    for turns in debates:
        said = set(turns)
        for step, round_ in said:
            if step == "critique" and round_ <= rounds:
                critiques += 1
                stops += ("rebuttal", round_) not in said
    return stops / critiques if critiques else None


def with_spread(spends: Mapping[Key, Spend], calls: tuple[float, float], prompt: tuple[float, float],
                completion: tuple[float, float]) -> dict[Key, Spend]:  # fmt: skip
    """`spends`' values with history's spread of single units around their mean as the range."""
    return {
        key: Spend(
            calls=s.calls.around(*calls),
            prompt=s.prompt.around(*prompt),
            completion=s.completion.around(*completion),
            cached=s.cached.around(*prompt),
            busy_s=s.busy_s.around(*calls),
        )
        for key, s in spends.items()
    }


# -- the estimate -----------------------------------------------------------------------------------------------------


@dataclass
class Estimate:
    """What a command would ask and spend. `work`: units to ask ("debates", "comparisons", "claim_checks", ...);
    `stored`: units found stored, not asked again; `spend`: per (role, model); `parallel`: calls at once;
    `history`: where the figures come from, a line each; `notes`: assumptions worth saying."""

    command: str
    work: dict[str, Figure]
    stored: dict[str, int]
    spend: dict[Key, Spend]
    prices: dict[str, Price | None]
    parallel: int
    history: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. an eval's arms: name -> their work

    def by_role(self) -> dict[str, Spend]:
        return self._grouped(lambda key: key[0])

    def by_model(self) -> dict[str, Spend]:
        return self._grouped(lambda key: key[1])

    def _grouped(self, by: Callable[[Key], str]) -> dict[str, Spend]:
        out: dict[str, Spend] = defaultdict(Spend)
        for key, spend in self.spend.items():
            out[by(key)] = out[by(key)] + spend
        return dict(out)

    def total(self) -> Spend:
        return sum(self.spend.values(), Spend())

    def cost(self, keys: Iterable[Key] | None = None) -> Figure | None:
        """Dollars of the calls of `keys` (default all); None when any of their models has no price."""
        total = ZERO
        for key in self.spend if keys is None else keys:
            part = self.spend[key].cost(self.prices.get(key[1]))
            if part is None:
                return None
            total = total + part
        return total

    def role_cost(self, role: str) -> Figure | None:
        return self.cost([k for k in self.spend if k[0] == role])

    def model_cost(self, model: str) -> Figure | None:
        return self.cost([k for k in self.spend if k[1] == model])

    def unpriced(self) -> list[str]:
        return sorted({model for _, model in self.spend if self.prices.get(model) is None})

    def wall_s(self) -> Figure:
        """The calls' seconds spread over `parallel` call slots."""
        return self.total().busy_s.scaled(1 / max(1, self.parallel))

    def cached_share(self) -> float:
        total = self.total()
        return total.cached.value / total.prompt.value if total.prompt.value else 0.0

    def as_json(self) -> dict[str, Any]:
        """{"debates" | "comparisons" | "claim_checks" ..., "calls", "prompt_tokens", "cached_prompt_tokens",
        "completion_tokens", "cost_usd", "wall_s", "by_role": {...}, "by_model": {...}, ...}"""
        return {
            "command": self.command,
            **{name: figure.as_json() for name, figure in self.work.items()},
            "stored": dict(self.stored),
            **_spend_json(self.total(), self.cost()),
            "wall_s": self.wall_s().as_json(1),
            "concurrency": self.parallel,
            "by_role": {role: _spend_json(s, self.role_cost(role)) for role, s in sorted(self.by_role().items())},
            "by_model": {model: _spend_json(s, self.model_cost(model)) for model, s in sorted(self.by_model().items())},
            **({"parts": self.parts} if self.parts else {}),
            "history": list(self.history),
            "notes": list(self.notes),
        }


def _spend_json(spend: Spend, cost: Figure | None) -> dict[str, Any]:
    return {
        "calls": spend.calls.as_json(),
        "prompt_tokens": spend.prompt.as_json(),
        "cached_prompt_tokens": spend.cached.as_json(),
        "completion_tokens": spend.completion.as_json(),
        "cost_usd": None if cost is None else cost.as_json(6),
    }


def bounded(value: Mapping[Key, Spend], lo: Mapping[Key, Spend], hi: Mapping[Key, Spend]) -> dict[Key, Spend]:
    """Spends whose values come from `value`, whose bottoms from `lo` and whose tops from `hi` (three ways a
    command may go: as expected, stopping soonest, spending most)."""
    out = {}
    for key in {*value, *lo, *hi}:
        v, low, high = value.get(key, Spend()), lo.get(key, Spend()), hi.get(key, Spend())
        parts = zip(v._parts(), low._parts(), high._parts(), strict=True)
        out[key] = Spend(*(Figure(a.value, b.lo, c.hi) for a, b, c in parts))
    return out
