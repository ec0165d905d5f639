"""The batch runner: every (hypothesis, replicate) not yet debated under this protocol is debated,
scored and committed on its own; completed debates are skipped and interrupted ones resumed."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agents.client import LLMClient
from agents.errors import LLMError
from agents.prompts import PromptSet
from agents.roles import PriorTurn, Roles, TurnFailed, TurnResult
from agents.settings import ROLES
from agents.usage import CallRecord
from debates.graph import DebateContext, run_debate
from debates.hypotheses import Hypothesis
from debates.protocol import Protocol, debate_id
from debates.settings import DebateSettings
from scoring.composite import PanelScore, ScoreError, composite, panel
from scoring.rubric import Rubric
from store import repository
from store.engine import StoreError
from store.leases import new_owner
from store.models import BatchRow, DebateRow

Status = Literal["completed", "failed", "skipped"]
_current_debate: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_debate", default=None)


@dataclass(frozen=True)
class DebateOutcome:
    debate_id: str
    hypothesis_id: str
    replicate: int
    status: Status
    score: PanelScore | None = None
    reason: str | None = None
    resumed: bool = False


@dataclass(frozen=True)
class Progress:
    total: int
    completed: int
    failed: int
    skipped: int
    calls: int
    tokens: int
    cost_usd: float


@dataclass
class BatchResult:
    """What `run_batch` returns: per-debate outcomes, the ranking, and what it cost."""

    batch_id: str
    protocol: Protocol
    outcomes: list[DebateOutcome]
    ranking: list[repository.Ranked]
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    wall_s: float
    budget_exhausted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


@dataclass
class BatchRunner:
    client: LLMClient
    sessions: sessionmaker[Session]
    settings: DebateSettings
    rubric: Rubric
    prompts: PromptSet
    progress: Callable[[Progress], None] | None = None
    budget_tokens: int | None = None
    budget_usd: float | None = None
    _pending: dict[str | None, list[CallRecord]] = field(default_factory=lambda: defaultdict(list))
    _outcomes: list[DebateOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.owner = new_owner()
        self.client.ledger.listeners.append(self._on_call)
        self.roles = Roles(self.client, self.prompts, self.rubric, self.settings.turn_retries)
        llm = self.client.settings
        self.protocol = Protocol(
            rounds=self.settings.rounds,
            judges=self.settings.judges,
            early_stop=self.settings.early_stop,
            rubric_hash=self.rubric.hash,
            prompt_hashes=dict(self.prompts.hashes),
            provider=llm.resolved_provider,
            models={r: llm.model_for(r) for r in ROLES},
            temperatures={r: llm.temperature[r] for r in ROLES},
        )

    # -- the batch ---------------------------------------------------------------------------

    async def run(self, hypotheses: Sequence[Hypothesis], *, source: str) -> BatchResult:
        started = time.monotonic()
        ledger = self.client.ledger
        calls0, prompt0, completion0, cost0 = (
            ledger.calls,
            ledger.prompt_tokens,
            ledger.completion_tokens,
            ledger.cost_usd,
        )
        batch_id = "b-" + uuid.uuid4().hex[:8]
        batch = {
            "id": batch_id,
            "source": source,
            "protocol_hash": self.protocol.hash,
            "protocol": self.protocol.as_dict(),
            "provider": self.protocol.provider,
            "models": self.protocol.models,
        }
        with _writes(self.sessions):
            for attempt in range(3):  # a concurrent run may insert the same hypotheses first: look again
                with self.sessions() as session:
                    try:
                        repository.upsert_hypotheses(session, [hypothesis_record(h) for h in hypotheses])
                        session.add(BatchRow(**batch))
                        session.commit()  # the hypotheses land together or not at all
                        break
                    except IntegrityError:
                        session.rollback()
                        if attempt == 2:
                            raise
        self._total = len(hypotheses) * self.settings.replicates
        self._budget_hit = False
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def bounded(h: Hypothesis, replicate: int) -> None:
            async with slots:
                self._outcomes.append(await self._debate(h, replicate, batch_id))
                self._report()

        self._outcomes = []
        status = "completed"
        try:
            await asyncio.gather(*(bounded(h, r) for r in range(self.settings.replicates) for h in hypotheses))
        except BaseException:
            status = "interrupted"
            raise
        finally:
            try:
                with self.sessions() as session:
                    repository.finish_batch_commit(
                        session,
                        batch_id,
                        completed=sum(o.status == "completed" for o in self._outcomes),
                        failed=sum(o.status == "failed" for o in self._outcomes),
                        skipped=sum(o.status == "skipped" for o in self._outcomes),
                        wall_s=time.monotonic() - started,
                        status=status,
                    )
            except OperationalError:
                if status == "completed":
                    raise
                # the database already failed (the error being raised says why); the batch row stays "running"
        with self.sessions() as session:
            ranked = repository.ranking(session, [h.hypothesis_id for h in hypotheses])
        return BatchResult(
            batch_id=batch_id,
            protocol=self.protocol,
            outcomes=list(self._outcomes),
            ranking=ranked,
            calls=ledger.calls - calls0,
            prompt_tokens=ledger.prompt_tokens - prompt0,
            completion_tokens=ledger.completion_tokens - completion0,
            cost_usd=ledger.cost_usd - cost0,
            wall_s=time.monotonic() - started,
            budget_exhausted=self._budget_hit,
        )

    # -- one debate --------------------------------------------------------------------------

    async def _debate(self, hypothesis: Hypothesis, replicate: int, batch_id: str) -> DebateOutcome:
        with _writes(self.sessions):
            try:
                return await self._debate_leased(hypothesis, replicate, batch_id)
            except repository.LeaseLost as exc:
                d_id = debate_id(hypothesis.content_hash, self.protocol.hash, replicate)
                return DebateOutcome(d_id, hypothesis.hypothesis_id, replicate, "skipped", reason=str(exc))

    async def _debate_leased(self, hypothesis: Hypothesis, replicate: int, batch_id: str) -> DebateOutcome:
        h_id = hypothesis.hypothesis_id
        d_id = debate_id(hypothesis.content_hash, self.protocol.hash, replicate)
        if self._over_budget():
            self._budget_hit = True
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="budget exhausted")
        with self.sessions() as session:
            claim = repository.claim_debate(
                session,
                self._debate_row(d_id, hypothesis, replicate, batch_id),
                owner=self.owner,
                lease_s=self.settings.lease_s,
            )
        if claim.status == "completed":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="already completed")
        if claim.status == "busy":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason=f"running in {claim.holder}")
        transcript = [PriorTurn(t.role, t.step, t.round, t.text, dict(t.payload)) for t in claim.turns]
        _current_debate.set(d_id)
        next_seq = len(claim.turns)
        seq_lock = asyncio.Lock()

        async def record(result: TurnResult) -> None:
            nonlocal next_seq
            async with seq_lock:
                seq = next_seq
                next_seq += 1
                self._write_turn(d_id, batch_id, seq, result)

        context = DebateContext(roles=self.roles, hypothesis=hypothesis, record=record)
        s = self.settings
        try:
            final = await run_debate(
                context, rounds=s.rounds, judges=s.judges, early_stop=s.early_stop, transcript=transcript
            )
        except (TurnFailed, LLMError, ScoreError) as exc:
            step = exc.step if isinstance(exc, TurnFailed) else None
            reason = exc.reason if isinstance(exc, TurnFailed) else f"{type(exc).__name__}: {exc}"
            with self.sessions() as session:
                repository.fail_debate_commit(
                    session, d_id, reason, step, self._usage_rows(d_id, batch_id), owner=self.owner
                )
            return DebateOutcome(d_id, h_id, replicate, "failed", reason=reason, resumed=bool(transcript))
        verdicts = [t for t in final if t.step == "verdict"]
        composites = [composite(v.payload["scores"], self.rubric) for v in verdicts]
        score = panel(composites)
        revisions = [t.payload.get("revised_claim") for t in final if t.step == "rebuttal"]
        critiques = [t for t in final if t.step == "critique"]
        with self.sessions() as session:
            repository.complete_debate_commit(
                session,
                d_id,
                mean=score.mean,
                spread=score.spread,
                n=score.n,
                rounds_run=len(critiques),
                early_stopped=len(critiques) < s.rounds
                or (len(critiques) > 0 and critiques[-1].payload.get("concede")),
                revised_statement=next((r for r in reversed(revisions) if r), None),
                judge_models=sorted({v.payload.get("model", self.protocol.models["judge"]) for v in verdicts}),
                usage=self._usage_rows(d_id, batch_id),
                owner=self.owner,
            )
        return DebateOutcome(d_id, h_id, replicate, "completed", score=score, resumed=bool(transcript))

    def _write_turn(self, d_id: str, batch_id: str, seq: int, result: TurnResult) -> None:
        record = result.record
        turn = {
            "debate_id": d_id,
            "seq": seq,
            "round": result.round,
            "role": result.role,
            "step": result.step,
            "text": result.text,
            "payload": result.payload,
            "model": record.model,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "latency_s": record.latency_s,
            "cost_usd": record.cost_usd,
            "attempts": record.attempts,
            "prompt_hash": result.prompt_hash,
        }
        verdict = None
        if result.step == "verdict":
            scores = result.payload["scores"]
            verdict = {
                "debate_id": d_id,
                "judge": result.payload["judge"],
                "scores": scores,
                "rationales": result.payload["rationales"],
                "summary": result.payload["summary"],
                "composite": composite(scores, self.rubric),
                "model": record.model,
                "rubric_hash": self.rubric.hash,
            }
        repository.add_turn(
            self.sessions.kw["bind"],
            turn,
            verdict,
            self._usage_rows(d_id, batch_id),
            owner=self.owner,
            lease_s=self.settings.lease_s,
        )

    def _debate_row(self, d_id: str, hypothesis: Hypothesis, replicate: int, batch_id: str) -> DebateRow:
        return DebateRow(
            id=d_id,
            hypothesis_id=hypothesis.hypothesis_id,
            hypothesis_hash=hypothesis.content_hash,
            protocol_hash=self.protocol.hash,
            replicate=replicate,
            batch_id=batch_id,
            status="running",
            attempts=1,
            protocol=self.protocol.as_dict(),
            rubric_hash=self.rubric.hash,
            prompt_hashes=dict(self.prompts.hashes),
            models=self.protocol.models,
        )

    # -- accounting and progress ---------------------------------------------------------------

    def _on_call(self, record: CallRecord) -> None:
        self._pending[_current_debate.get()].append(record)
        if hasattr(self, "_total"):
            self._report()

    def _usage_rows(self, d_id: str, batch_id: str | None) -> list[dict[str, object]]:
        return [
            {
                "batch_id": batch_id,
                "debate_id": d_id,
                "role": r.role,
                "model": r.model,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "latency_s": r.latency_s,
                "attempts": r.attempts,
                "cost_usd": r.cost_usd,
                "ok": r.ok,
                "error": r.error,
            }
            for r in self._pending.pop(d_id, [])
        ]

    def _over_budget(self) -> bool:
        ledger = self.client.ledger
        if self.budget_tokens is not None and ledger.total_tokens >= self.budget_tokens:
            return True
        return self.budget_usd is not None and ledger.cost_usd >= self.budget_usd

    def _report(self) -> None:
        if self.progress is None:
            return
        ledger = self.client.ledger
        self.progress(
            Progress(
                total=self._total,
                completed=sum(o.status == "completed" for o in self._outcomes),
                failed=sum(o.status == "failed" for o in self._outcomes),
                skipped=sum(o.status == "skipped" for o in self._outcomes),
                calls=ledger.calls,
                tokens=ledger.total_tokens,
                cost_usd=ledger.cost_usd,
            )
        )


@contextlib.contextmanager
def _writes(sessions: sessionmaker[Session]) -> Iterator[None]:
    """A database that cannot be written (read-only file, full disk, lost server) ends the batch with
    one StoreError; what was committed before stays committed."""
    try:
        yield
    except OperationalError as exc:
        url = sessions.kw["bind"].url.render_as_string(hide_password=True)
        raise StoreError(f"cannot write to the database {url}: {exc.orig}") from None


def hypothesis_record(h: Hypothesis) -> repository.HypothesisRecord:
    return repository.HypothesisRecord(
        id=h.hypothesis_id,
        content_hash=h.content_hash,
        title=h.title,
        targets=list(h.targets),
        target_label=h.label,
        mechanism=h.mechanism,
        diseases=list(h.diseases),
        pages=list(h.pages),
        evidence=[e.model_dump(mode="json") for e in h.evidence],
    )
