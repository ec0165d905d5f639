"""The batch runner: every (hypothesis, replicate) not yet debated under this protocol is debated,
scored and committed on its own; completed debates are skipped and interrupted ones resumed."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agents.audit import Auditor
from agents.client import LLMClient
from agents.errors import LLMError
from agents.prompts import DEBATE_STEPS, PromptSet
from agents.roles import JudgeSeat, PriorTurn, Roles, TurnFailed, TurnResult
from agents.settings import EMBEDDED_MODEL, ROLES
from agents.usage import CallRecord
from debates.graph import DebateContext, Design, run_debate
from debates.hypotheses import Hypothesis
from debates.protocol import Protocol, debate_id
from debates.settings import DebateSettings
from scoring.aggregate import hypothesis_score
from scoring.composite import PanelScore, ScoreError, composite, panel
from scoring.rubric import Rubric
from store import rankings, repository, scoreboards
from store.claims import debate_locks
from store.engine import StoreError
from store.models import BatchRow, DebateRow, HypothesisVersionRow

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
    scoreboard_id: str | None = None
    busy: bool = False  # skipped because another live process runs it now


@dataclass(frozen=True)
class Progress:
    total: int
    completed: int
    failed: int
    skipped: int
    calls: int
    tokens: int
    cost_usd: float
    requests: int = 0  # HTTP requests sent, re-asks and transport retries included
    step: str = ""  # what is running now, e.g. "h-2600483e critique" or "h-2600483e judge 2/2"


# How a batch's debates are run when not here: given the runner, the (hypothesis, replicate) pairs and the batch id,
# it has them debated elsewhere (debates/queue.py: by workers) and reports each outcome as it lands.
DebateDispatch = Callable[
    ["BatchRunner", Sequence[tuple[Hypothesis, int]], str, Callable[[DebateOutcome], None]], Awaitable[None]
]


@dataclass
class BatchResult:
    """What `run_batch` returns: per-debate outcomes, the ranking, and what it cost."""

    batch_id: str
    protocol: Protocol
    outcomes: list[DebateOutcome]
    boards: list[rankings.Board]  # the scoreboards this batch's hypotheses are scored on, most debates first
    rankings: dict[str, list[rankings.Ranked]]  # scoreboard id -> the batch's hypotheses ranked on it
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    wall_s: float
    budget_exhausted: bool = False
    # the evidence audit of the batch's hypotheses, filled in by the front door: status -> citations, and the
    # bibliography entries they were checked against
    evidence: dict[str, int] | None = None
    bibliography_entries: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def board(self) -> rankings.Board | None:
        """The scoreboard this batch's own debates landed on (else the one with the most debates)."""
        mine = {o.scoreboard_id for o in self.outcomes if o.scoreboard_id}
        return next((b for b in self.boards if b.id in mine), self.boards[0] if self.boards else None)

    @property
    def ranking(self) -> list[rankings.Ranked]:
        """The batch's hypotheses ranked on `board` (never mixed with another scoreboard's scores)."""
        return self.rankings.get(self.board.id, []) if self.board else []

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
    design: Design = "symmetric-closing"  # "single-judge": no debate, the panel scores the stated hypothesis
    auditor: Auditor | None = None  # the evidence audit the judges read (and its penalty), part of the protocol
    dispatch: DebateDispatch | None = None  # None: debate here; else e.g. through the job queue (eval --queue)
    _pending: dict[str | None, list[CallRecord]] = field(default_factory=lambda: defaultdict(list))
    _outcomes: list[DebateOutcome] = field(default_factory=list)
    _step: str = ""

    def __post_init__(self) -> None:
        self.locks = debate_locks(self.sessions.engine)
        self._versions: dict[tuple[str, str], str] = {}
        self._running: set[str] = set()  # the debates this runner runs now: the calls it keeps are theirs
        self.client.ledger.listeners.append(self._on_call)
        self.roles = Roles(self.client, self.prompts, self.rubric)
        llm = self.client.settings
        s = self.settings
        self.seats = tuple(
            JudgeSeat(
                index=k,
                model=llm.judge_model(k),
                persona=s.personas[(k - 1) % len(s.personas)],
                order=s.judge_orders[(k - 1) % len(s.judge_orders)],
            )
            for k in range(1, s.judges + 1)
        )
        for seat in self.seats:
            self.prompts.persona(seat.persona)  # an unknown persona fails here, before anything is stored
        used = {f"persona:{seat.persona}" for seat in self.seats}
        # the debate's own prompts: its steps and the personas its seats use (not the tournament's pairwise judge)
        hashes = {k: v for k, v in self.prompts.hashes.items() if k in DEBATE_STEPS or k in used}
        self.prompt_hashes = hashes
        self.protocol = Protocol(
            rounds=self.settings.rounds,
            judges=self.settings.judges,
            early_stop=self.settings.early_stop,
            rubric_hash=self.rubric.hash,
            prompt_hashes=dict(hashes),
            provider=llm.resolved_provider,
            models={r: llm.model_for(r) for r in ROLES},
            temperatures={r: llm.temperature[r] for r in ROLES},
            seats=tuple({"model": t.model, "persona": t.persona, "order": t.order} for t in self.seats),
            verdict_caps=self.roles.verdict_caps(),
            design=self.design,
            evidence=dict(self.auditor.protocol) if self.auditor is not None else {},
        )

    def detach(self) -> None:
        """Stop following the client's calls (when the client goes on to serve another runner)."""
        if self._on_call in self.client.ledger.listeners:
            self.client.ledger.listeners.remove(self._on_call)

    # -- the batch ---------------------------------------------------------------------------

    def open_batch(self, hypotheses: Sequence[Hypothesis], *, source: str, stored: bool = False) -> str:
        """Store the hypotheses (unless `stored`: they are stored versions, e.g. revisions offered in rebuttals, debated
        as they are without becoming their hypothesis's current content) and a new batch row; return its id."""
        batch_id = "b-" + uuid.uuid4().hex[:8]
        batch = {
            "id": batch_id,
            "source": source,
            "protocol_hash": self.protocol.hash,
            "protocol": self.protocol.as_dict(),
            "provider": self.protocol.provider,
            "models": self.protocol.models,
        }
        with _writes(self.sessions), self.sessions() as session:
            if not stored:
                repository.upsert_hypotheses(session, [hypothesis_record(h) for h in hypotheses])
            session.add(BatchRow(**batch))
            session.commit()  # the hypotheses land together or not at all
        self.know_versions(hypotheses)
        return batch_id

    def know_versions(self, hypotheses: Sequence[Hypothesis]) -> None:
        """Look up the stored version ids of `hypotheses`, which the judges see (e.g. h-2600483e.v2)."""
        with self.sessions() as session:
            self._versions.update(
                {
                    (v.hypothesis_id, v.content_hash): v.id
                    for v in session.scalars(
                        select(HypothesisVersionRow).where(
                            HypothesisVersionRow.hypothesis_id.in_([h.hypothesis_id for h in hypotheses])
                        )
                    )
                }
            )

    async def run(self, hypotheses: Sequence[Hypothesis], *, source: str, stored: bool = False) -> BatchResult:
        """Debate every (hypothesis, replicate). `stored=True`: the hypotheses are stored versions (e.g. revisions
        offered in rebuttals) that are debated as they are, without becoming their hypothesis's current content."""
        started = time.monotonic()
        self._start = self.client.ledger.totals()  # this run's spending is what the ledger counts after this
        batch_id = self.open_batch(hypotheses, source=source, stored=stored)
        self._total = len(hypotheses) * self.settings.replicates
        self._budget_hit = False
        # Debates are admitted apart from call slots (the client's process-wide limit bounds the calls): enough run
        # at once that a free slot always finds a step ready, few enough that memory stays flat.
        waiting = iter([(h, r) for r in range(self.settings.replicates) for h in hypotheses])

        async def debate_in_turn() -> None:
            for h, replicate in waiting:
                self._landed(await self.debate(h, replicate, batch_id))

        in_flight = min(self._total, self.settings.debates_in_flight(self.client.settings.concurrency))
        self._outcomes = []
        status = "completed"
        try:
            if self.dispatch is None:
                with _collector_for_the_batch():
                    await asyncio.gather(*(debate_in_turn() for _ in range(in_flight)))
            else:
                debates = [(h, r) for r in range(self.settings.replicates) for h in hypotheses]
                await self.dispatch(self, debates, batch_id, self._landed)
        except BaseException:
            status = "interrupted"
            raise
        finally:
            self.locks.close()
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
        ids = [h.hypothesis_id for h in hypotheses]
        with self.sessions() as session:
            boards = rankings.scoreboards(session, ids)
            per_board = {b.id: rankings.ranking(session, b.id, ids) for b in boards}
        spent = self.client.ledger.totals() - self._start
        return BatchResult(
            batch_id=batch_id,
            protocol=self.protocol,
            outcomes=list(self._outcomes),
            boards=boards,
            rankings=per_board,
            calls=spent.calls,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            cost_usd=spent.cost_usd,
            wall_s=time.monotonic() - started,
            budget_exhausted=self._budget_hit,
        )

    # -- one debate --------------------------------------------------------------------------

    async def debate(
        self, hypothesis: Hypothesis, replicate: int, batch_id: str, *, auditor: Auditor | None = None
    ) -> DebateOutcome:
        """Debate (or resume) one (hypothesis, replicate) under this runner's protocol, holding its lock
        (store/claims.py) while it runs; a debate another process runs now is skipped as "busy". `auditor`: the
        evidence audit its judges read, when not the runner's own (a queue worker audits per debate)."""
        d_id = debate_id(hypothesis.content_hash, self.protocol.hash, replicate)
        with _writes(self.sessions):
            try:
                return await self._debate_claimed(hypothesis, replicate, batch_id, auditor or self.auditor)
            except (repository.NotRunning, IntegrityError) as exc:
                # finished elsewhere meanwhile: never an error that ends the batch
                reason = str(exc) if isinstance(exc, repository.NotRunning) else "stored elsewhere"
                return DebateOutcome(d_id, hypothesis.hypothesis_id, replicate, "skipped", reason=reason)
            finally:
                self.locks.release(d_id)
                self._running.discard(d_id)
                self._pending.pop(d_id, None)

    async def _debate_claimed(
        self, hypothesis: Hypothesis, replicate: int, batch_id: str, auditor: Auditor | None
    ) -> DebateOutcome:
        h_id = hypothesis.hypothesis_id
        d_id = debate_id(hypothesis.content_hash, self.protocol.hash, replicate)
        if self._over_budget():
            self._budget_hit = True
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="budget exhausted")
        with self.sessions() as session:
            claim = repository.claim_debate(session, self.debate_row(d_id, hypothesis, replicate, batch_id), self.locks)
        if claim.status == "completed":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="already completed")
        if claim.status == "busy":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="running in another process", busy=True)
        transcript = [PriorTurn(t.role, t.step, t.round, t.text, dict(t.payload)) for t in claim.turns]
        _current_debate.set(d_id)
        self._running.add(d_id)
        next_seq = len(claim.turns)
        seq_lock = asyncio.Lock()

        async def record(result: TurnResult) -> None:
            nonlocal next_seq
            async with seq_lock:
                seq = next_seq
                next_seq += 1
                self._write_turn(d_id, batch_id, seq, result)

        version_id = self._versions.get((h_id, hypothesis.content_hash), f"{h_id} (as stated below)")
        context = DebateContext(
            roles=self.roles,
            hypothesis=hypothesis,
            record=record,
            # a retried failure draws afresh; an interrupted debate resumes with the draws it started with
            draw_key=d_id if claim.attempt == 1 else f"{d_id}/{claim.attempt}",
            version_id=version_id,
            seats=self.seats,
            announce=lambda step: self._on_step(f"{h_id} {step}"),
            auditor=auditor,
        )
        s = self.settings
        try:
            final = await run_debate(
                context,
                rounds=s.rounds,
                judges=s.judges,
                early_stop=s.early_stop,
                transcript=transcript,
                design=self.design,
            )
        except (TurnFailed, LLMError, ScoreError) as exc:
            step = exc.step if isinstance(exc, TurnFailed) else None
            reason = exc.reason if isinstance(exc, TurnFailed) else f"{type(exc).__name__}: {exc}"
            with self.sessions() as session:
                repository.fail_debate_commit(session, d_id, reason, step, self._usage_rows(d_id, batch_id))
            return DebateOutcome(d_id, h_id, replicate, "failed", reason=reason, resumed=bool(transcript))
        verdicts = [t for t in final if t.step == "verdict"]
        composites = [composite(v.payload["scores"], self.rubric) for v in verdicts]
        score = panel(composites)
        revisions = [t.payload.get("revised_claim") for t in final if t.step == "rebuttal"]
        revised = next((r for r in reversed(revisions) if r), None)
        critiques = [t for t in final if t.step == "critique"]
        served = tuple(sorted({str(v.payload.get("model") or self.protocol.models["judge"]) for v in verdicts}))
        board = scoreboards.Board(
            rubric_hash=self.rubric.hash,
            protocol_hash=self.protocol.hash,
            judge_models=served,
            demo=EMBEDDED_MODEL in served or self.protocol.provider == "embedded",
            protocol=self.protocol.as_dict(),
        )
        with self.sessions() as session:
            board_id = repository.complete_debate_commit(
                session,
                d_id,
                mean=score.mean,
                spread=score.spread,
                n=score.n,
                rounds_run=len(critiques),
                early_stopped=len(critiques) < s.rounds
                or (len(critiques) > 0 and critiques[-1].payload.get("concede")),
                revised_statement=revised,
                board=board,
                aggregate=hypothesis_score,
                revision=revision_record(hypothesis, revised),
                usage=self._usage_rows(d_id, batch_id),
            )
        return DebateOutcome(
            d_id, h_id, replicate, "completed", score=score, resumed=bool(transcript), scoreboard_id=board_id
        )

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
            "model": record.served_model,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "latency_s": record.latency_s,
            "cost_usd": record.cost_usd,
            "attempts": record.attempts,
            "asks": result.asks,
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
                "reasoning": result.payload.get("reasoning"),
                "persona": result.payload.get("persona"),
                "material_order": result.payload.get("order"),
                "composite": composite(scores, self.rubric),
                "model": record.served_model,
                "rubric_hash": self.rubric.hash,
            }
        repository.add_turn(self.sessions.engine, turn, verdict, self._usage_rows(d_id, batch_id))

    def debate_row(
        self, d_id: str, hypothesis: Hypothesis, replicate: int, batch_id: str, status: str = "running"
    ) -> DebateRow:
        return DebateRow(
            id=d_id,
            hypothesis_id=hypothesis.hypothesis_id,
            hypothesis_hash=hypothesis.content_hash,
            protocol_hash=self.protocol.hash,
            replicate=replicate,
            batch_id=batch_id,
            status=status,
            attempts=1,
            protocol=self.protocol.as_dict(),
            rubric_hash=self.rubric.hash,
            prompt_hashes=dict(self.prompt_hashes),
            models=self.protocol.models,
        )

    # -- accounting and progress ---------------------------------------------------------------

    def _landed(self, outcome: DebateOutcome) -> None:
        self._outcomes.append(outcome)
        self._report()

    def _on_call(self, record: CallRecord) -> None:
        debate = _current_debate.get()
        if debate in self._running:  # not a call of another runner's debate, a comparison or an evidence check
            self._pending[debate].append(record)
        if hasattr(self, "_total"):
            self._report()

    def _usage_rows(self, d_id: str, batch_id: str | None) -> list[dict[str, object]]:
        return [r.usage_row(batch_id=batch_id, debate_id=d_id) for r in self._pending.pop(d_id, [])]

    def _over_budget(self) -> bool:
        ledger = self.client.ledger  # budgets cap the whole command's spending (an eval's arms together)
        if self.budget_tokens is not None and ledger.total_tokens >= self.budget_tokens:
            return True
        return self.budget_usd is not None and ledger.cost_usd >= self.budget_usd

    def _report(self) -> None:
        if self.progress is None:
            return
        spent = self.client.ledger.totals() - self._start
        landed = Counter(o.status for o in self._outcomes)  # one pass: this runs on every call and step
        self.progress(
            Progress(
                total=self._total,
                completed=landed["completed"],
                failed=landed["failed"],
                skipped=landed["skipped"],
                calls=spent.calls,
                tokens=spent.tokens,
                cost_usd=spent.cost_usd,
                requests=spent.requests,
                step=self._step,
            )
        )

    def _on_step(self, step: str) -> None:
        self._step = step
        if hasattr(self, "_total"):
            self._report()


@contextlib.contextmanager
def _collector_for_the_batch() -> Iterator[None]:
    """While debates run here, the garbage collector leaves alone the objects alive before (modules, settings, the
    caller's), which its full collections would otherwise re-scan every time, and collects the young generation ten
    times less often (every call allocates thousands of short-lived objects): together they took a seventh of the
    engine's CPU per call (bench/engine_overhead.py). Afterwards everything is as before. Objects frozen already (a
    server before it forks) stay frozen: then only the threshold changes."""
    young, *older = gc.get_threshold()
    frozen_here = gc.get_freeze_count() == 0
    if frozen_here:
        gc.freeze()
    gc.set_threshold(young * 10, *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)
        if frozen_here:
            gc.unfreeze()


@contextlib.contextmanager
def _writes(sessions: sessionmaker[Session]) -> Iterator[None]:
    """A database that cannot be written (read-only file, full disk, lost server) ends the batch with
    one StoreError; what was committed before stays committed."""
    try:
        yield
    except OperationalError as exc:
        url = sessions.engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot write to the database {url}: {exc.orig}") from None


def revision_record(h: Hypothesis, revised: str | None) -> repository.HypothesisRecord | None:
    """A revised statement offered in a rebuttal, as a child version: the parent's content with the revised
    statement as its mechanism. None when there is none, or when it is too short to be a hypothesis."""
    if not revised or len(revised.strip()) < 10 or revised.strip() == h.mechanism:
        return None
    return hypothesis_record(h.model_copy(update={"mechanism": revised.strip(), "id": h.hypothesis_id}))


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
