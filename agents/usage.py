"""What every LLM call cost: tokens (cached prompt tokens among them), latency, attempts (HTTP requests), dollars.

A cost is `float | None`: None is unknown (the model has no price in `llm.prices`), never $0. Sums of costs go through
`total_cost`, so one unknown call makes the total unknown, and every printed cost through `usd`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallRecord:
    role: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int  # HTTP requests sent, transport retries included
    cost_usd: float | None  # None: unknown (no price for the model)
    ok: bool
    error: str | None = None
    retries_by_kind: tuple[tuple[str, int], ...] = ()
    served_model: str = ""  # the model the server says answered (`response.model`); defaults to `model`
    cached_prompt_tokens: int = 0  # prompt tokens the server reported it had cached (usage.prompt_tokens_details)

    def __post_init__(self) -> None:
        if not self.served_model:
            object.__setattr__(self, "served_model", self.model)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def answer_columns(self) -> dict[str, object]:
        """What an answer stored with its cost keeps of its call(s): the served model, tokens, latency, dollars and
        HTTP requests (the store's comparisons and claim checks)."""
        return {
            "model": self.served_model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": self.latency_s,
            "cost_usd": self.cost_usd,
            "attempts": self.attempts,
            "cached_prompt_tokens": self.cached_prompt_tokens,
        }

    def usage_row(
        self, *, batch_id: str | None, debate_id: str | None, role: str | None = None, step: str | None = None
    ) -> dict[str, object]:
        """The call as the store's `usage` table keeps it (`role` overrides the record's, e.g. "pairwise"), booked
        to the command running now (`running_command`)."""
        return {
            "batch_id": batch_id,
            "debate_id": debate_id,
            "role": role or self.role,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": self.latency_s,
            "attempts": self.attempts,
            "cost_usd": self.cost_usd,
            "ok": self.ok,
            "error": self.error,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "command": running_command.get(),
            "step": step,
        }


def total_cost(costs: Iterable[float | None]) -> float | None:
    """Dollars of several calls together; None (unknown) when any of them had no price."""
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total


def usd(cost: float | None, digits: int = 4) -> str:
    """A cost as printed everywhere: `$0.0123`, or `—` when it is unknown."""
    return "—" if cost is None else f"${cost:.{digits}f}"


def combine(records: list[CallRecord]) -> CallRecord:
    """One record for several calls made for one answer (re-asks): sums, with the last call's models and role."""
    if len(records) == 1:
        return records[0]
    kinds: dict[str, int] = {}
    for record in records:
        for kind, n in record.retries_by_kind:
            kinds[kind] = kinds.get(kind, 0) + n
    last = records[-1]
    return CallRecord(
        role=last.role,
        model=last.model,
        prompt_tokens=sum(r.prompt_tokens for r in records),
        completion_tokens=sum(r.completion_tokens for r in records),
        latency_s=sum(r.latency_s for r in records),
        attempts=sum(r.attempts for r in records),
        cost_usd=total_cost(r.cost_usd for r in records),
        ok=last.ok,
        error=last.error,
        retries_by_kind=tuple(sorted(kinds.items())),
        served_model=last.served_model,
        cached_prompt_tokens=sum(r.cached_prompt_tokens for r in records),
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """What a ledger had counted at one moment; a later snapshot minus an earlier one is what was spent between."""

    calls: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    priced_usd: float = 0.0  # the dollars of the calls whose model has a price
    unpriced_calls: int = 0  # calls to a model without a price
    cached_prompt_tokens: int = 0

    @property
    def cost_usd(self) -> float | None:
        """The dollars spent; None (unknown) when any call's model had no price."""
        return None if self.unpriced_calls else self.priced_usd

    def run_columns(self) -> dict[str, int | float | None]:
        """What a run's result reports of its spending: calls, prompt (and cached prompt) and completion tokens,
        dollars."""
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "cached_prompt_tokens": self.cached_prompt_tokens,
        }

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __sub__(self, earlier: Totals) -> Totals:
        return Totals(
            calls=self.calls - earlier.calls,
            requests=self.requests - earlier.requests,
            prompt_tokens=self.prompt_tokens - earlier.prompt_tokens,
            completion_tokens=self.completion_tokens - earlier.completion_tokens,
            priced_usd=self.priced_usd - earlier.priced_usd,
            unpriced_calls=self.unpriced_calls - earlier.unpriced_calls,
            cached_prompt_tokens=self.cached_prompt_tokens - earlier.cached_prompt_tokens,
        )


@dataclass
class Ledger:
    """Collects the records of one process (or one batch); listeners see each record as it lands.

    The totals are kept as records land, so reading them (progress, budgets: several times per call) costs the same
    however many calls were made."""

    records: list[CallRecord] = field(default_factory=list)
    listeners: list[Callable[[CallRecord], None]] = field(default_factory=list)
    requests: int = field(default=0, init=False)  # HTTP requests sent: every ask, re-ask and transport retry
    prompt_tokens: int = field(default=0, init=False)
    cached_prompt_tokens: int = field(default=0, init=False)
    completion_tokens: int = field(default=0, init=False)
    priced_usd: float = field(default=0.0, init=False)  # the dollars of the calls to models with a price
    unpriced: dict[str, int] = field(default_factory=dict, init=False)  # model without a price -> its calls

    def __post_init__(self) -> None:
        for record in self.records:
            self._count(record)

    def add(self, record: CallRecord) -> None:
        self.records.append(record)
        self._count(record)
        for listener in self.listeners:
            listener(record)

    def _count(self, record: CallRecord) -> None:
        self.requests += record.attempts
        self.prompt_tokens += record.prompt_tokens
        self.cached_prompt_tokens += record.cached_prompt_tokens
        self.completion_tokens += record.completion_tokens
        if record.cost_usd is None:
            self.unpriced[record.model] = self.unpriced.get(record.model, 0) + 1
        else:
            self.priced_usd += record.cost_usd

    @property
    def calls(self) -> int:
        return len(self.records)

    @property
    def cost_usd(self) -> float | None:
        """The dollars spent; None (unknown) once a call went to a model without a price."""
        return None if self.unpriced else self.priced_usd

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def totals(self) -> Totals:
        """The counts so far: one run's spending is `ledger.totals() - start`, when the client served others before
        it (an eval's arms share one client)."""
        return Totals(
            calls=self.calls,
            requests=self.requests,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            priced_usd=self.priced_usd,
            unpriced_calls=sum(self.unpriced.values()),
            cached_prompt_tokens=self.cached_prompt_tokens,
        )

    def retries_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.records:
            for kind, n in record.retries_by_kind:
                out[kind] = out.get(kind, 0) + n
        return out


@dataclass(kw_only=True)
class RunCost:
    """What a run (a batch, a tournament) spent, how long it took, and whether its budget stopped it: the fields its
    result shares with every run's (`Account.spent().run_columns()` fills the first four and the cached tokens)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: unknown (a model without a price)
    wall_s: float
    budget_exhausted: bool = False
    cached_prompt_tokens: int = 0  # of the prompt tokens, those the provider served from its cache

    @property
    def cached_share(self) -> float | None:
        """The share of prompt tokens the provider reported as cached; None without prompt tokens."""
        return self.cached_prompt_tokens / self.prompt_tokens if self.prompt_tokens else None


# the command whose calls are being made (run, eval, tournament, evidence, generate, dedup, worker): every usage row
# is booked to it, so `hypodebate usage --by command` can say what each command spent
running_command: ContextVar[str | None] = ContextVar("running_command", default=None)

# the piece of work (a debate, a comparison, a claim check) the running task asks calls for: each call is booked to
# it (asyncio tasks copy the context, so concurrent tasks each book to their own)
working_on: ContextVar[str | None] = ContextVar("working_on", default=None)


@dataclass
class Account:
    """One runner's accounting on a client's ledger, which other runners may share (an eval's arms, a worker's jobs).

    - its spending: what the ledger counted since `start` (`spent`);
    - the calls of each piece of work it has `open` (a debate, a comparison, a claim check), booked by `working_on`:
      a call of work it did not open (another runner's) is not kept; `take` hands them over for the store;
    - its budget: `over_budget` once the whole ledger (the command's spending, not this runner's alone) has reached
      a budget of tokens or dollars; a runner starts no new work past it.
    `on_call` runs after every call on the ledger (e.g. to report progress), once attached."""

    ledger: Ledger
    on_call: Callable[[], None] | None = None
    _start: Totals = field(default_factory=Totals, init=False)
    _calls: dict[str, list[CallRecord]] = field(default_factory=dict, init=False)

    def attach(self) -> None:
        """Follow the ledger's calls."""
        self.ledger.listeners.append(self._book)

    def detach(self) -> None:
        """Stop following the ledger's calls (when the client goes on to serve another runner)."""
        if self._book in self.ledger.listeners:
            self.ledger.listeners.remove(self._book)

    def start(self) -> None:
        """From now on, `spent` is what the ledger counts after this."""
        self._start = self.ledger.totals()

    def spent(self) -> Totals:
        return self.ledger.totals() - self._start

    def over_budget(self, *, tokens: int | None = None, usd: float | None = None) -> bool:
        """Whether the ledger has reached `tokens` tokens or `usd` dollars (None: no such budget). Dollars count the
        priced calls only: a dollar budget is refused up front when a model it would pay for has no price."""
        if tokens is not None and self.ledger.total_tokens >= tokens:
            return True
        return usd is not None and self.ledger.priced_usd >= usd

    def open(self, work: str) -> None:
        """Book the calls this task (and the tasks it starts) makes from now on to `work`."""
        working_on.set(work)
        self._calls.setdefault(work, [])

    def take(self, work: str) -> list[CallRecord]:
        """The calls booked to `work` since it was opened or last taken; it stays open."""
        if work not in self._calls:
            return []
        taken, self._calls[work] = self._calls[work], []
        return taken

    def close(self, work: str) -> list[CallRecord]:
        """The calls booked to `work` not taken yet; later calls are no longer booked to it."""
        return self._calls.pop(work, [])

    def _book(self, record: CallRecord) -> None:
        calls = self._calls.get(working_on.get() or "")
        if calls is not None:
            calls.append(record)
        if self.on_call is not None:
            self.on_call()
