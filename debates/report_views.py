"""What the transcript report shows: frozen views of hypotheses, debates, rounds, turns and verdicts.

`debates.report_data` builds them from the store; `debates.report` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Scope = Literal["batch", "all"]


@dataclass(frozen=True, slots=True)
class TurnView:
    seq: int
    round: int
    role: str
    step: str
    text: str
    payload: dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class VerdictView:
    judge: int
    scores: dict[str, Any]
    rationales: dict[str, Any]
    summary: str
    composite: float
    model: str


@dataclass(frozen=True, slots=True)
class PointView:
    """One critic point and what the rebuttal of the same round said about it."""

    index: int
    point: str
    severity: str
    answer: str | None  # None: the rebuttal did not answer it (or there was no rebuttal)
    resolved: bool | None


@dataclass(frozen=True, slots=True)
class RoundView:
    number: int
    critique: TurnView | None
    rebuttal: TurnView | None
    points: tuple[PointView, ...]
    unmatched: tuple[str, ...]  # answers whose point number names no point of the critique
    revised_claim: str


@dataclass(frozen=True, slots=True)
class DebateView:
    id: str
    hypothesis_id: str
    hypothesis_title: str
    replicate: int
    batch_id: str | None
    protocol_hash: str
    status: str
    failure_reason: str | None
    stopped_at: str | None  # where a failed or unfinished debate stopped, in words
    rounds_run: int
    early_stopped: bool
    models: dict[str, Any]
    finished_at: datetime | None
    opening: TurnView | None
    rounds: tuple[RoundView, ...]
    verdicts: tuple[VerdictView, ...]
    verdict_turns: tuple[TurnView, ...]
    mean: float | None
    spread: float | None
    n: int
    tokens: int
    cost_usd: float

    def verdict_turn(self, judge: int) -> TurnView | None:
        return next((t for t in self.verdict_turns if t.payload.get("judge") == judge), None)

    @property
    def opening_claim(self) -> str:
        return str(self.opening.payload.get("claim", "")) if self.opening else ""


@dataclass(frozen=True, slots=True)
class EvidenceView:
    claim: str
    citation: str | None
    stance: str


@dataclass(frozen=True, slots=True)
class DimensionView:
    name: str
    label: str
    weight: float | None  # None when the rubric that scored it is not known here
    mean: float  # on the rubric's scale, 1..scale
    scale: int
    fraction: float  # the mean mapped onto [0, 1]


@dataclass(frozen=True, slots=True)
class HypothesisView:
    rank: int
    id: str
    title: str
    targets: tuple[str, ...]
    target_label: str
    mechanism: str
    diseases: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]
    score: float | None  # mean of every verdict composite of its completed debates in scope
    spread: float | None
    n: int
    debates: tuple[DebateView, ...]
    dimensions: tuple[DimensionView, ...]
    summary: str

    @property
    def completed(self) -> tuple[DebateView, ...]:
        return tuple(d for d in self.debates if d.status == "completed")


@dataclass(frozen=True, slots=True)
class UsageTotals:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class BatchView:
    id: str
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    protocol_hash: str
    rounds: Any
    judges: Any
    early_stop: Any
    rubric_hash: str
    provider: str
    models: dict[str, Any]
    completed: int
    failed: int
    skipped: int
    wall_s: float | None
    usage: UsageTotals


@dataclass(frozen=True, slots=True)
class ReportData:
    generated_at: datetime
    scope: Scope
    batch: BatchView
    batches_total: int
    hypothesis_filter: str | None
    hypotheses: tuple[HypothesisView, ...]
    failed: tuple[DebateView, ...]
    debates_total: int
    usage: UsageTotals  # every call of the debates shown
    rubric_known: bool  # False when some verdict was scored under a rubric whose weights are not known here
    demo_warning: str | None  # set when any debate shown was argued or judged by the embedded demo model
