"""The batch runner: every (hypothesis, replicate) not yet debated under this protocol is debated,
scored and committed on its own; completed debates are skipped and interrupted ones resumed.

The runner holds the parts together; each part reads alone: the protocol and the panel's seats
(debates/protocol.py), which debates run and how many at once (debates/schedule.py), what a debate's turns and
end become in the store (debates/rows.py), what a finished debate scored (debates/panel.py), and what it cost
against the budget (agents/usage.py: Account)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agents.audit import Auditor
from agents.client import LLMClient
from agents.errors import LLMError
from agents.prompts import PromptSet
from agents.roles import PriorTurn, Roles, TurnFailed
from agents.usage import Account, RunCost
from debates import schedule
from debates.hypotheses import Hypothesis
from debates.panel import Tally, score_debate
from debates.protocol import Protocol, debate_id, debate_protocol, judge_seats
from debates.rows import DebateRows, TurnLog, writes
from debates.settings import DebateSettings
from scoring.composite import PanelScore, ScoreError
from scoring.rubric import Rubric
from store import rankings, repository
from store.claims import debate_locks
from store.models import DebateRow, HypothesisVersionRow

if TYPE_CHECKING:  # the graph (langgraph) is imported when a debate runs: a re-run of a finished batch needs none
    from debates.graph import DebateContext, Design

__all__ = ["BatchResult", "BatchRunner", "DebateDispatch", "DebateOutcome", "Progress"]

Status = Literal["completed", "failed", "skipped"]


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
    cost_usd: float | None  # None: unknown (a model without a price in llm.prices)
    requests: int = 0  # HTTP requests sent, re-asks and transport retries included
    step: str = ""  # what is running now, e.g. "h-2600483e critique" or "h-2600483e judge 2/2"


# How a batch's debates are run when not here: given the runner, the (hypothesis, replicate) pairs and the batch id,
# it has them debated elsewhere (debates/queue.py: by workers) and reports each outcome as it lands.
DebateDispatch = Callable[
    ["BatchRunner", Sequence[tuple[Hypothesis, int]], str, Callable[[DebateOutcome], None]], Awaitable[None]
]


@dataclass
class BatchResult(RunCost):
    """What `run_batch` returns: per-debate outcomes, the ranking, and what it cost."""

    batch_id: str
    protocol: Protocol
    outcomes: list[DebateOutcome]
    boards: list[rankings.Board]  # the scoreboards this batch's hypotheses are scored on, most debates first
    rankings: dict[str, list[rankings.Ranked]]  # scoreboard id -> the batch's hypotheses ranked on it
    # the evidence audit of the batch's hypotheses, filled in by the front door: status -> citations, and the
    # bibliography entries they were checked against
    evidence: dict[str, int] | None = None
    bibliography_entries: int = 0
    audited: int = 0  # hypotheses audited again (their audit's inputs changed); the others kept their stored audit

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
    """Debates a batch's hypotheses under one protocol, built from the settings when the runner is built. Everything
    it depends on is given then, by keyword, including how debates are dispatched (`dispatch`: None debates here)."""

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
    _outcomes: list[DebateOutcome] = field(default_factory=list, init=False)
    _step: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.locks = debate_locks(self.sessions.engine)
        self._versions: dict[tuple[str, str], str] = {}
        # budgets cap the whole command's spending (an eval's arms together); the calls kept are this runner's debates'
        self.account = Account(self.client.ledger, on_call=self._on_call)
        self.account.attach()
        self.roles = Roles(self.client, self.prompts, self.rubric)
        self.seats = judge_seats(self.client.settings, self.settings, self.prompts)
        self.protocol = debate_protocol(
            self.client.settings,
            self.settings,
            rubric_hash=self.rubric.hash,
            prompts=self.prompts,
            seats=self.seats,
            verdict_caps=self.roles.verdict_caps(),
            design=self.design,
            evidence=self.auditor.protocol if self.auditor is not None else {},
        )
        self.rows = DebateRows(self.sessions, self.protocol)

    def detach(self) -> None:
        """Stop following the client's calls (when the client goes on to serve another runner)."""
        self.account.detach()

    # -- the batch ---------------------------------------------------------------------------

    def open_batch(
        self,
        hypotheses: Sequence[Hypothesis],
        *,
        source: str,
        stored: bool = False,
        hashes: Sequence[str] | None = None,
    ) -> str:
        """Store the hypotheses (unless `stored`: they are stored versions, e.g. revisions offered in rebuttals, debated
        as they are without becoming their hypothesis's current content) and a new batch row; return its id.
        `hashes`: their content hashes, in their order, when the caller has them."""
        batch_id = "b-" + uuid.uuid4().hex[:8]
        self.rows.open_batch(batch_id, hypotheses, source=source, stored=stored, hashes=hashes)
        self.know_versions(hypotheses)
        return batch_id

    def know_versions(self, hypotheses: Sequence[Hypothesis]) -> None:
        """Look up the stored version ids of `hypotheses`, which the judges see (e.g. h-2600483e.v2)."""
        v = HypothesisVersionRow
        with self.sessions() as session:
            for chunk in repository.chunks(sorted({h.hypothesis_id for h in hypotheses})):
                query = select(v.hypothesis_id, v.content_hash, v.id).where(v.hypothesis_id.in_(chunk))
                self._versions.update(((h_id, c_hash), v_id) for h_id, c_hash, v_id in session.execute(query))

    async def run(self, hypotheses: Sequence[Hypothesis], *, source: str, stored: bool = False) -> BatchResult:
        """Debate every (hypothesis, replicate). `stored=True`: the hypotheses are stored versions (e.g. revisions
        offered in rebuttals) that are debated as they are, without becoming their hypothesis's current content."""
        started = time.monotonic()
        self.account.start()  # this run's spending is what the ledger counts after this
        # each hypothesis hashed once (about 25 µs): storing it and finding its finished debates both read the hash
        hashes = [h.content_hash for h in hypotheses]
        batch_id = self.open_batch(hypotheses, source=source, stored=stored, hashes=hashes)
        debates = schedule.batch_debates(hypotheses, self.settings.replicates)
        self._total = len(debates)
        self._budget_hit = False
        self._outcomes = []
        status = "completed"
        try:
            if self.dispatch is None:
                debates = self._skip_completed(debates, {id(h): c for h, c in zip(hypotheses, hashes, strict=True)})
                in_flight = min(len(debates), self.settings.debates_in_flight(self.client.settings.concurrency))
                await schedule.debate_here(debates, lambda h, r: self.debate(h, r, batch_id), self._landed, in_flight)
            else:
                await self.dispatch(self, debates, batch_id, self._landed)
        except BaseException:
            status = "interrupted"
            raise
        finally:
            self.locks.close()
            statuses = [o.status for o in self._outcomes]
            self.rows.finish_batch(batch_id, statuses, time.monotonic() - started, status)
        return self._result(batch_id, [h.hypothesis_id for h in hypotheses], started)

    def _skip_completed(
        self, debates: list[tuple[Hypothesis, int]], hashes: Mapping[int, str]
    ) -> list[tuple[Hypothesis, int]]:
        """The debates left to run here: those completed already (found in one query, not claimed one by one) land
        at once as skipped, "already completed", as a claim would have found them. `hashes`: each hypothesis's
        content hash, by the identity (`id`) of the hypothesis object."""
        protocol = self.protocol.hash  # a property that hashes the protocol: once, not once per debate
        ids = [debate_id(hashes[id(h)], protocol, r) for h, r in debates]
        done = self.rows.completed(ids)
        if not done:
            return debates
        self._outcomes.extend(
            DebateOutcome(d_id, h.hypothesis_id, r, "skipped", reason="already completed")
            for d_id, (h, r) in zip(ids, debates, strict=True)
            if d_id in done
        )
        self._report()
        return [pair for d_id, pair in zip(ids, debates, strict=True) if d_id not in done]

    def _result(self, batch_id: str, ids: list[str], started: float) -> BatchResult:
        with self.sessions() as session:
            boards = rankings.scoreboards(session, ids)
            per_board = {b.id: rankings.with_ranks(rankings.ranking(session, b.id, ids)) for b in boards}
        return BatchResult(
            batch_id=batch_id,
            protocol=self.protocol,
            outcomes=list(self._outcomes),
            boards=boards,
            rankings=per_board,
            **self.account.spent().run_columns(),
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
        with writes(self.sessions):
            try:
                return await self._debate_claimed(hypothesis, replicate, batch_id, auditor or self.auditor)
            except (repository.NotRunning, IntegrityError) as exc:
                # finished elsewhere meanwhile: never an error that ends the batch
                reason = str(exc) if isinstance(exc, repository.NotRunning) else "stored elsewhere"
                return DebateOutcome(d_id, hypothesis.hypothesis_id, replicate, "skipped", reason=reason)
            finally:
                self.locks.release(d_id)
                self.account.close(d_id)

    async def _debate_claimed(
        self, hypothesis: Hypothesis, replicate: int, batch_id: str, auditor: Auditor | None
    ) -> DebateOutcome:
        h_id = hypothesis.hypothesis_id
        d_id = debate_id(hypothesis.content_hash, self.protocol.hash, replicate)
        if self.account.over_budget(tokens=self.budget_tokens, usd=self.budget_usd):
            self._budget_hit = True
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="budget exhausted")
        claim = self.rows.claim(self.debate_row(d_id, hypothesis, replicate, batch_id), self.locks)
        if claim.status == "completed":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="already completed")
        if claim.status == "busy":
            return DebateOutcome(d_id, h_id, replicate, "skipped", reason="running in another process", busy=True)
        from debates.graph import run_debate

        transcript = [PriorTurn(t.role, t.step, t.round, t.text, dict(t.payload)) for t in claim.turns]
        self.account.open(d_id)  # the calls from here on are this debate's
        tally = Tally(self.rubric)
        log = TurnLog(self.rows, d_id, len(claim.turns), tally, lambda step: self._usage_rows(d_id, batch_id, step))
        context = self._context(hypothesis, claim, log, auditor)
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
            self.rows.fail(d_id, reason, step, self._usage_rows(d_id, batch_id, step))
            return DebateOutcome(d_id, h_id, replicate, "failed", reason=reason, resumed=bool(transcript))
        scored = score_debate(final, tally, self.protocol)
        board_id = self.rows.complete(d_id, hypothesis, scored, self._usage_rows(d_id, batch_id))
        return DebateOutcome(
            d_id, h_id, replicate, "completed", score=scored.score, resumed=bool(transcript), scoreboard_id=board_id
        )

    def _context(
        self, hypothesis: Hypothesis, claim: repository.Claim, log: TurnLog, auditor: Auditor | None
    ) -> DebateContext:
        """What the debate's graph nodes are given: the roles, the hypothesis, where turns go, the seats."""
        from debates.graph import DebateContext

        h_id, d_id = hypothesis.hypothesis_id, claim.debate_id
        return DebateContext(
            roles=self.roles,
            hypothesis=hypothesis,
            record=log.record,
            # a retried failure draws afresh; an interrupted debate resumes with the draws it started with
            draw_key=d_id if claim.attempt == 1 else f"{d_id}/{claim.attempt}",
            version_id=self._versions.get((h_id, hypothesis.content_hash), f"{h_id} (as stated below)"),
            seats=self.seats,
            announce=lambda step: self._on_step(f"{h_id} {step}"),
            auditor=auditor,
        )

    def debate_row(
        self, d_id: str, hypothesis: Hypothesis, replicate: int, batch_id: str, status: str = "running"
    ) -> DebateRow:
        """The debate's row as it is claimed (or queued, `status="queued"`)."""
        return self.rows.debate_row(d_id, hypothesis, replicate, batch_id, status)

    # -- accounting and progress ---------------------------------------------------------------

    def _landed(self, outcome: DebateOutcome) -> None:
        self._outcomes.append(outcome)
        self._report()

    def _on_call(self) -> None:
        if hasattr(self, "_total"):
            self._report()

    def _usage_rows(self, d_id: str, batch_id: str | None, step: str | None = None) -> list[dict[str, object]]:
        return [r.usage_row(batch_id=batch_id, debate_id=d_id, step=step) for r in self.account.take(d_id)]

    def _report(self) -> None:
        if self.progress is None:
            return
        spent = self.account.spent()
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
