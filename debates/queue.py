"""Debates on many machines: a procrastinate job queue in the PostgreSQL store.

`enqueue` stores a batch and defers one job per debate (queueing lock and job lock = the debate id, so enqueueing
twice adds nothing and two jobs of one debate never run at once); `hypodebate worker` runs `debate_job` on any
number of machines. A tournament's comparisons (`queued_comparisons`) and an eval's debates (`queued_debates`) are
jobs the same way, awaited by the process that queued them.

A worker sends heartbeats; a periodic job (`recover_stalled`) hands the jobs of a worker whose heartbeats stopped
(`kill -9`, a lost machine) back to the queue, and the next worker resumes the debate from its stored turns. A
worker asked to stop (SIGTERM, Ctrl-C) finishes its jobs within `queue.grace_s`; the ones still running then are
aborted and retried elsewhere, resuming where they stopped. The runner's own debate lock (store/claims.py)
guarantees that a retried job never runs beside a live original.

Tasks live here, in an importable module: procrastinate finds a job's task by its name in `import_paths`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from agents.audit import Auditor
from debates.hypotheses import Hypothesis
from debates.inputs import stored_versions
from debates.jobs import Busy, CompareJob, DebateJob, Runners, checked, retry_strategy
from debates.labelled import LabelledSubject
from debates.protocol import debate_id
from debates.queue_tables import DEBATE_TASK, has_queue
from debates.runner import BatchRunner, DebateDispatch, DebateOutcome
from debates.settings import QueueSettings
from debates.tournament import Dispatch, TournamentRunner
from debates.tournament_result import Compared
from safeio.errors import QueueError
from scoring.composite import PanelScore
from scoring.ratings import Comparison
from store import repository
from store import tournaments as tournament_store
from store.models import ComparisonRow, DebateRow, HypothesisVersionRow, ScoreRow

DEBATES = "debates"
MAINTENANCE = "maintenance"  # the stalled-job recovery every worker also serves
SCHEMA_LOCK = 4242002  # advisory lock: one process installs procrastinate's tables
KEEP_RUNNERS = 8  # idle runners a worker keeps (a batch needs one, an eval one per arm)
logger = logging.getLogger("hypodebate.queue")


class WorkerMismatch(QueueError):
    """This worker's configuration gives another protocol than the batch's: its scores would land on another
    scoreboard, so it refuses the job (never retried; a worker started with the batch's config.yaml takes it)."""


app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["debates.queue"])


def conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (postgresql+psycopg://...) as psycopg's connection string."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"the queue needs a PostgreSQL database, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def open_queue(url: str) -> AsyncIterator[procrastinate.App]:
    """The app with its tasks, connected to the database `url` while the block runs."""
    with app.replace_connector(procrastinate.PsycopgConnector(conninfo=conninfo(url))) as queue:
        async with queue.open_async():
            yield queue


def install_schema(engine: Engine) -> bool:
    """Create procrastinate's tables in the store's database unless they are there; True when created."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if has_queue(connection):
            return False
        connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    return True


@dataclass(frozen=True)
class Enqueued:
    batch_id: str
    queued: int  # jobs deferred now
    already_queued: int  # a job for the debate was waiting already (e.g. from an earlier batch)
    completed: int  # debated before: nothing to do
    debate_ids: tuple[str, ...]


async def enqueue(
    queue: procrastinate.App,
    runner: BatchRunner,
    hypotheses: Sequence[Hypothesis],
    *,
    source: str,
    options: Mapping[str, Any],
    stored: bool = False,
) -> Enqueued:
    """Store the hypotheses and a batch, its debates as queued rows, and defer one job per debate not yet done.

    `options` are the command's overrides of the worker's configuration (rounds, judges): a worker builds its
    runner from its own config.yaml and these, and refuses the job if the protocol differs from the batch's."""
    batch_id = runner.open_batch(hypotheses, source=source, stored=stored)
    debates = [(h, r) for r in range(runner.settings.replicates) for h in hypotheses]
    queued, already, done = await _defer(runner, debates, batch_id, options)
    with runner.sessions() as session:
        repository.set_batch_status(session, batch_id, "queued" if len(done) < len(debates) else "completed")
        session.commit()
    ids = tuple(debate_id(h.content_hash, runner.protocol.hash, r) for h, r in debates)
    return Enqueued(batch_id, queued, already, len(done), ids)


async def _defer(
    runner: BatchRunner, debates: Sequence[tuple[Hypothesis, int]], batch_id: str, options: Mapping[str, Any]
) -> tuple[int, int, set[str]]:
    """Queued rows and one job each for the debates not completed yet: (deferred now, waiting already, completed)."""
    wanted = {debate_id(h.content_hash, runner.protocol.hash, r): (h, r) for h, r in debates}
    with runner.sessions() as session:
        done: set[str] = set()
        for chunk in repository.chunks(list(wanted)):
            query = select(DebateRow.id).where(DebateRow.id.in_(chunk), DebateRow.status == "completed")
            done.update(session.scalars(query))
        rows = [
            _row_values(runner.debate_row(d, h, r, batch_id, status="queued"))
            for d, (h, r) in wanted.items()
            if d not in done
        ]
        for chunk in repository.chunks(rows):
            session.execute(repository.insert_ignoring(session, DebateRow, chunk, ["id"]))
        repository.requeue_failed(session, [d for d in wanted if d not in done])
        session.commit()
    queued = already = 0
    for d in wanted:
        if d in done:
            continue
        try:
            await debate_job.configure(queueing_lock=d, lock=d).defer_async(
                debate_id=d, batch_id=batch_id, options=dict(options)
            )
            queued += 1
        except AlreadyEnqueued:
            already += 1
    return queued, already, done


def queued_debates(queue: procrastinate.App, options: Mapping[str, Any], poll_s: float = 0.5) -> DebateDispatch:
    """A batch's debates as jobs (`eval --queue`): deferred, then awaited by watching their rows in the store, or
    their jobs for a failure that left no row behind (e.g. a worker whose configuration differs)."""

    async def dispatch(
        runner: BatchRunner,
        debates: Sequence[tuple[Hypothesis, int]],
        batch_id: str,
        landed: Callable[[DebateOutcome], None],
    ) -> None:
        await _defer(runner, debates, batch_id, options)
        wanted = {debate_id(h.content_hash, runner.protocol.hash, r): (h, r) for h, r in debates}
        outcomes: dict[str, DebateOutcome] = {}
        while len(outcomes) < len(wanted):
            with runner.sessions() as session:
                for chunk in repository.chunks([d for d in wanted if d not in outcomes]):
                    for row, score in session.execute(
                        select(DebateRow, ScoreRow)
                        .outerjoin(ScoreRow, ScoreRow.debate_id == DebateRow.id)
                        .where(DebateRow.id.in_(chunk), DebateRow.status.in_(("completed", "failed")))
                    ).all():
                        panel = PanelScore(score.mean, score.spread, score.n) if score is not None else None
                        board = score.scoreboard_id if score is not None else None
                        outcomes[row.id] = DebateOutcome(
                            row.id,
                            row.hypothesis_id,
                            row.replicate,
                            row.status,
                            panel,
                            row.failure_reason,
                            scoreboard_id=board,
                        )
                        landed(outcomes[row.id])
            ended = await _locks_of(queue, ("failed", "cancelled", "aborted"))
            active = await _locks_of(queue, ("todo", "doing"))
            for d in [d for d in wanted if d not in outcomes and d in ended and d not in active]:
                h, r = wanted[d]
                reason = "its job ended without a result (the worker's log says why)"
                outcomes[d] = DebateOutcome(d, h.hypothesis_id, r, "failed", reason=reason)
                landed(outcomes[d])
            if len(outcomes) < len(wanted):
                await asyncio.sleep(poll_s)

    return dispatch


async def _locks_of(queue: procrastinate.App, statuses: Sequence[str]) -> set[str]:
    """The debate ids (job locks) of the queue's debate jobs in `statuses`."""
    found: set[str] = set()
    for status in statuses:
        jobs = await queue.job_manager.list_jobs_async(task=debate_job.name, status=status)
        found.update(j.lock for j in jobs if j.lock)
    return found


def _row_values(row: DebateRow) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in DebateRow.__table__.columns if getattr(row, c.key) is not None}


def _release_runner(runner: BatchRunner) -> None:
    runner.detach()
    runner.locks.close()


@dataclass
class QueueWorker:
    """What one worker process needs to run debate jobs: the store, and the front door's factories for a runner
    (from the worker's config.yaml and a job's options) and for the evidence audit its judges read."""

    sessions: sessionmaker[Session]
    runner_for: Callable[[Mapping[str, Any]], Awaitable[BatchRunner]]
    auditor_for: Callable[[BatchRunner, Hypothesis], Awaitable[Auditor | None]]
    tournament_for: Callable[[Mapping[str, Any]], TournamentRunner]
    settings: QueueSettings = field(default_factory=QueueSettings)
    keep: int = KEEP_RUNNERS

    def __post_init__(self) -> None:
        async def tournament(options: dict[str, Any]) -> TournamentRunner:
            return self.tournament_for(options)

        self.runners: Runners[BatchRunner] = Runners(self.runner_for, _release_runner, self.keep)
        self.tournaments: Runners[TournamentRunner] = Runners(tournament, TournamentRunner.detach, self.keep)

    def close(self) -> None:
        self.runners.close()
        self.tournaments.close()

    async def compare(self, job: CompareJob) -> Compared:
        """Judge k's comparison of two stored versions for a tournament whose protocol hash is `job.protocol_hash`."""
        async with self.tournaments.use(job.options.given()) as runner:
            if runner.protocol.hash != job.protocol_hash:
                raise WorkerMismatch(
                    f"{job.what}: this worker's configuration gives another tournament protocol (judge models, "
                    "temperature, prompt or rubric); start it with the tournament's config.yaml"
                )
            with self.sessions() as session:
                a, b = (tournament_store.stored_version(session, *pair) for pair in (job.first, job.second))
                if a is None or b is None:
                    raise LookupError(f"{job.what}: a version is not in the database")
                digests = runner.digests_of(session, [a, b])
            return await runner.compare(a, b, job.judge, (digests[a.id], digests[b.id]))

    async def debate(self, job: DebateJob) -> DebateOutcome:
        d_id, batch_id = job.debate_id, job.batch_id
        with self.sessions() as session:
            row = session.get(DebateRow, d_id)
            if row is None:
                raise LookupError(f"debate {d_id} is not in the database (was it enqueued against another one?)")
            version = session.scalars(
                select(HypothesisVersionRow.id).where(
                    HypothesisVersionRow.hypothesis_id == row.hypothesis_id,
                    HypothesisVersionRow.content_hash == row.hypothesis_hash,
                )
            ).one()
            hypothesis = _subject(session, version, labelled=job.options.subject == "labelled")
            protocol, protocol_hash, replicate = dict(row.protocol), row.protocol_hash, row.replicate
        async with self.runners.use(job.options.given()) as runner:
            if runner.protocol.hash != protocol_hash:
                mine = runner.protocol.as_dict()
                differs = sorted(k for k in protocol.keys() | mine.keys() if protocol.get(k) != mine.get(k))
                raise WorkerMismatch(
                    f"debate {d_id}: this worker's configuration differs from the batch's in {', '.join(differs)}; "
                    "start the worker with the batch's config.yaml"
                )
            runner.know_versions([hypothesis])
            auditor = await self.auditor_for(runner, hypothesis)
            outcome = await runner.debate(hypothesis, replicate, batch_id, auditor=auditor)
        if outcome.busy:
            raise Busy(f"debate {d_id} is running in another process")
        said = f"score {outcome.score.mean:.2f}" if outcome.score else outcome.reason
        logger.info(
            "debate %s of %s (replicate %d): %s, %s", d_id, hypothesis.hypothesis_id, replicate, outcome.status, said
        )
        with self.sessions() as session:
            repository.tally_batch_commit(session, batch_id)
        return outcome


def _subject(session: Session, version_id: str, *, labelled: bool) -> Hypothesis:
    """A stored version as what is debated: a hypothesis, or an eval row (which may name no target or mechanism)."""
    if not labelled:
        return stored_versions(session, [version_id])[0]
    row = session.get_one(HypothesisVersionRow, version_id)
    subject = LabelledSubject.model_validate({"id": row.hypothesis_id, **(row.content or {})})
    if subject.content_hash != row.content_hash:
        raise LookupError(f"{version_id}: its stored content does not match its hash")
    return subject


def worker_of(context: procrastinate.JobContext) -> QueueWorker:
    worker = context.additional_context.get("hypodebate")
    if not isinstance(worker, QueueWorker):
        raise RuntimeError("run debate jobs with `hypodebate worker`: it gives them the store and the model")
    return worker


@app.task(name=DEBATE_TASK, queue=DEBATES, pass_context=True, retry=retry_strategy(QueueSettings()))
async def debate_job(context: procrastinate.JobContext, **arguments: Any) -> str:
    """Run (or resume) one debate (`DebateJob`); its outcome is stored by the runner, its status returned."""
    outcome = await worker_of(context).debate(checked(DebateJob, "debate", arguments))
    return outcome.status


class ComparisonFailed(QueueError):
    """The judge gave no usable answer (its calls are stored); a rerun of the tournament asks afresh."""


@app.task(name="hypodebate.compare", queue=DEBATES, pass_context=True, retry=retry_strategy(QueueSettings()))
async def compare_job(context: procrastinate.JobContext, **arguments: Any) -> str:
    """One pairwise comparison of a tournament (`tournament --queue`, `CompareJob`), stored by the worker."""
    found = await worker_of(context).compare(checked(CompareJob, "compare", arguments))
    if found.comparison is None:
        raise ComparisonFailed(f"{found.id}: {found.reason}")
    return found.id


def queued_comparisons(queue: procrastinate.App, options: Mapping[str, Any], poll_s: float = 0.5) -> Dispatch:
    """A tournament's comparisons as jobs (queueing lock = the comparison id): each is deferred, then awaited by
    watching the store for its row, or the job for its failure."""

    async def dispatch(
        runner: TournamentRunner,
        first: tournament_store.StoredHypothesis,
        second: tournament_store.StoredHypothesis,
        k: int,
        _digests: tuple[Any, ...],
    ) -> Compared:
        cid = tournament_store.comparison_id(first.content_hash, second.content_hash, runner.protocol.hash, k)
        try:
            job_id = await compare_job.configure(queueing_lock=cid, lock=cid).defer_async(
                first=[first.id, first.content_hash],
                second=[second.id, second.content_hash],
                judge=k,
                options=dict(options),
                protocol_hash=runner.protocol.hash,
            )
        except AlreadyEnqueued:  # queued by an earlier, interrupted tournament
            waiting = await queue.job_manager.list_jobs_async(queueing_lock=cid)
            job_id = next((j.id for j in waiting if j.id is not None), None)
        while True:
            with runner.sessions() as session:
                row = session.get(ComparisonRow, cid)
                if row is not None:
                    return Compared(cid, Comparison(row.first_id, row.second_id, row.preferred, row.judge), row.model)
            jobs = await queue.job_manager.list_jobs_async(id=job_id) if job_id is not None else []
            if jobs and jobs[0].status in ("failed", "cancelled", "aborted"):
                return Compared(cid, None, None, f"its job ended {jobs[0].status} (the worker's log says why)")
            await asyncio.sleep(poll_s)

    return dispatch


@app.task(name="hypodebate.recover_stalled", queue=MAINTENANCE, pass_context=True, queueing_lock="recover-stalled")
async def recover_stalled(context: procrastinate.JobContext, timestamp: int) -> int:
    """Hand the jobs of workers whose heartbeats stopped back to the queue; returns how many."""
    retried = await retry_stalled(context.app, worker_of(context).settings.stalled_s)
    if retried:
        logger.info("stalled jobs handed back to the queue: %s", ", ".join(map(str, retried)))
    return len(retried)


async def retry_stalled(queue: procrastinate.App, stalled_s: float) -> list[int]:
    """Retry every job still `doing` on a worker silent for `stalled_s` seconds (`kill -9`, a lost machine)."""
    retried = []
    for job in await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_s):
        try:
            await queue.job_manager.retry_job(job)
        except Exception:  # noqa: S112 - another worker retried it first; the next sweep sees the rest
            continue
        if job.id is not None:
            retried.append(job.id)
    return retried


def prepare(settings: QueueSettings) -> None:
    """Before a worker starts: its retry policy, and `recover_stalled` every `recover_every_s` seconds."""
    for task in (debate_job, compare_job):
        task.retry_strategy = retry_strategy(settings)
    if not any(t.task.name == recover_stalled.name for t in app.periodic_registry.periodic_tasks.values()):
        app.periodic(cron=f"* * * * * */{settings.recover_every_s}", periodic_id="recover-stalled")(recover_stalled)
