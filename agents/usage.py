"""What every LLM call cost: tokens, latency, attempts (HTTP requests), dollars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallRecord:
    role: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int  # HTTP requests sent, transport retries included
    cost_usd: float
    ok: bool
    error: str | None = None
    retries_by_kind: tuple[tuple[str, int], ...] = ()
    served_model: str = ""  # the model the server says answered (`response.model`); defaults to `model`

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
        }

    def usage_row(self, *, batch_id: str | None, debate_id: str | None, role: str | None = None) -> dict[str, object]:
        """The call as the store's `usage` table keeps it (`role` overrides the record's, e.g. "pairwise")."""
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
        }


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
        cost_usd=sum(r.cost_usd for r in records),
        ok=last.ok,
        error=last.error,
        retries_by_kind=tuple(sorted(kinds.items())),
        served_model=last.served_model,
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """What a ledger had counted at one moment; a later snapshot minus an earlier one is what was spent between."""

    calls: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __sub__(self, earlier: Totals) -> Totals:
        return Totals(
            calls=self.calls - earlier.calls,
            requests=self.requests - earlier.requests,
            prompt_tokens=self.prompt_tokens - earlier.prompt_tokens,
            completion_tokens=self.completion_tokens - earlier.completion_tokens,
            cost_usd=self.cost_usd - earlier.cost_usd,
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
    completion_tokens: int = field(default=0, init=False)
    cost_usd: float = field(default=0.0, init=False)

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
        self.completion_tokens += record.completion_tokens
        self.cost_usd += record.cost_usd

    @property
    def calls(self) -> int:
        return len(self.records)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def totals(self) -> Totals:
        """The counts so far: one run's spending is `ledger.totals() - start`, when the client served others before
        it (an eval's arms share one client)."""
        return Totals(self.calls, self.requests, self.prompt_tokens, self.completion_tokens, self.cost_usd)

    def retries_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.records:
            for kind, n in record.retries_by_kind:
                out[kind] = out.get(kind, 0) + n
        return out
