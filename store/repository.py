"""The writes and reads other parts need. Every function takes a Session; callers own transactions
unless the name says otherwise (`*_commit`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import models
from store.claims import DebateLocks
from store.engine import StoreError
from store.scoreboards import Board

if TYPE_CHECKING:
    from scoring.aggregate import BoardVerdict, HypothesisScore

    BoardAggregate = Callable[[Sequence[BoardVerdict]], Mapping[tuple[str, str], HypothesisScore]]


@dataclass(frozen=True)
class HypothesisRecord:
    """What the store needs of a hypothesis (built by the caller from its validated input): its identity and pages,
    then what is debated (the content hash covers those fields)."""

    id: str
    content_hash: str
    pages: list[str]
    title: str
    targets: list[str]
    target_label: str
    mechanism: str
    diseases: list[str]
    evidence: list[dict[str, Any]]

    def content(self) -> dict[str, Any]:
        """What a version keeps: everything that is debated (the content hash covers it)."""
        return {**self._debated(), "evidence": [dict(e) for e in self.evidence]}

    def columns(self) -> dict[str, Any]:
        """The hypothesis row's columns that follow its current version (evidence aside: it has its own rows)."""
        return {"content_hash": self.content_hash, "pages": list(self.pages), **self._debated()}

    def _debated(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "targets": list(self.targets),
            "target_label": self.target_label,
            "mechanism": self.mechanism,
            "diseases": list(self.diseases),
        }


def chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """`items` in slices small enough for one statement's bound parameters."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def insert_ignoring(session: Session, model: type[Any], rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> Any:
    """`INSERT … ON CONFLICT (keys) DO NOTHING` on PostgreSQL and SQLite: a row another worker inserted first is
    left as it is. The statement is returned unexecuted so callers can add `.returning(...)`."""
    dialect = session.get_bind().dialect.name  # each dialect's insert imported here: SQLite never loads PostgreSQL's
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=list(keys))
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=list(keys))
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {dialect}")


def upsert_hypotheses(session: Session, records: Sequence[HypothesisRecord]) -> tuple[int, int]:
    """Insert new hypotheses, update changed ones (evidence replaced). Returns (inserted, updated).

    New content under an existing id becomes a new version (content seen before makes its old version
    current again); only the current version's scores are shown in rankings.

    Safe against concurrent workers importing the same batch: new ids go in with `ON CONFLICT DO NOTHING`
    (whoever inserts an id first wins, the others see it as existing), then every row is locked in id order
    (`SELECT … FOR UPDATE` on PostgreSQL; SQLite serialises writers itself) before its versions are read,
    so two workers never number a version twice.
    """
    records = _changed(session, records)
    if not records:
        return 0, 0
    ids = sorted({r.id for r in records})
    inserted = _insert_new(session, records)
    rows = _locked(session, ids)
    versions = _Versions.read(session, ids)
    updated = 0
    for record in records:
        row = rows[record.id]
        new = record.id in inserted and not versions.has(record.id)
        if not new:
            if row.content_hash == record.content_hash and row.pages == record.pages:
                continue
            updated += 1
            row.evidence.clear()
            session.flush()
        version = versions.for_content(session, record, parent=None if new else f"{record.id}.v{row.version}")
        _follow(row, record, version.version)
        if not new:
            session.flush()
            _mark_current(session, record)
    return len(inserted), updated


def _changed(session: Session, records: Sequence[HypothesisRecord]) -> list[HypothesisRecord]:
    """The records whose id is new or whose content or pages differ from the stored row: the others would be left
    as they are, so they are neither inserted nor locked (a re-run of a stored batch reads one column set per 500)."""
    stored: dict[str, tuple[str, list[str]]] = {}
    for chunk in chunks(sorted({r.id for r in records})):
        query = select(models.HypothesisRow.id, models.HypothesisRow.content_hash, models.HypothesisRow.pages)
        stored.update((i, (h, p)) for i, h, p in session.execute(query.where(models.HypothesisRow.id.in_(chunk))))
    return [r for r in records if stored.get(r.id) != (r.content_hash, r.pages)]


def _insert_new(session: Session, records: Sequence[HypothesisRecord]) -> set[str]:
    """Insert the ids no row holds yet, as version 1 (`ON CONFLICT DO NOTHING`); returns the ids inserted here."""
    fresh = [
        {"id": r.id, "version": 1, **r.columns(), "created_at": models.utcnow(), "updated_at": models.utcnow()}
        for r in {r.id: r for r in records}.values()
    ]
    return set(
        session.scalars(
            insert_ignoring(session, models.HypothesisRow, fresh, ["id"]).returning(models.HypothesisRow.id)
        )
    )


def _locked(session: Session, ids: Sequence[str]) -> dict[str, models.HypothesisRow]:
    """The hypothesis rows of `ids`, locked in id order (`SELECT … FOR UPDATE`) and read afresh."""
    query = (
        select(models.HypothesisRow)
        .where(models.HypothesisRow.id.in_(ids))
        .order_by(models.HypothesisRow.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in session.scalars(query)}


@dataclass
class _Versions:
    """The stored versions of some hypotheses by (id, content hash), and each one's highest version number."""

    by_content: dict[tuple[str, str], models.HypothesisVersionRow]
    top: dict[str, int]

    @classmethod
    def read(cls, session: Session, ids: Sequence[str]) -> _Versions:
        """Every stored version of the hypotheses `ids` (after their rows are locked: the numbers are final)."""
        query = select(models.HypothesisVersionRow).where(models.HypothesisVersionRow.hypothesis_id.in_(ids))
        by_content = {(v.hypothesis_id, v.content_hash): v for v in session.scalars(query)}
        top: dict[str, int] = {}
        for v in by_content.values():
            top[v.hypothesis_id] = max(top.get(v.hypothesis_id, 0), v.version)
        return cls(by_content, top)

    def has(self, hypothesis_id: str) -> bool:
        """The hypothesis has a stored version."""
        return hypothesis_id in self.top

    def for_content(
        self, session: Session, record: HypothesisRecord, parent: str | None
    ) -> models.HypothesisVersionRow:
        """The version holding the record's content: the stored one, or a new one numbered after the highest."""
        found = self.by_content.get((record.id, record.content_hash))
        if found is not None:
            return found
        number = self.top.get(record.id, 0) + 1
        version = _version_row(record.id, number, record, "input", parent)
        session.add(version)
        self.by_content[(record.id, record.content_hash)] = version
        self.top[record.id] = number
        return version


def _follow(row: models.HypothesisRow, record: HypothesisRecord, version: int) -> None:
    """The hypothesis row takes the record's content as its current version, with the record's evidence."""
    row.version = version
    for column, value in record.columns().items():
        setattr(row, column, value)
    row.evidence = [
        models.EvidenceRow(position=i, claim=e["claim"], citation=e.get("citation"), stance=e.get("stance", "for"))
        for i, e in enumerate(record.evidence)
    ]


def _mark_current(session: Session, record: HypothesisRecord) -> None:
    """Only the scores of the record's content are current now (an earlier content's come back when it does)."""
    session.execute(
        update(models.HypothesisScoreRow)
        .where(models.HypothesisScoreRow.hypothesis_id == record.id)
        .values(current=models.HypothesisScoreRow.content_hash == record.content_hash, updated_at=models.utcnow())
        .execution_options(synchronize_session=False)
    )


def versions_of(session: Session, hypothesis_id: str) -> list[models.HypothesisVersionRow]:
    return list(
        session.scalars(
            select(models.HypothesisVersionRow)
            .where(models.HypothesisVersionRow.hypothesis_id == hypothesis_id)
            .order_by(models.HypothesisVersionRow.version)
        )
    )


def completed_debates(session: Session, debate_ids: Sequence[str]) -> set[str]:
    """Those of `debate_ids` that are completed: one query per 500 ids, however many debates a batch has."""
    found: set[str] = set()
    for chunk in chunks(list(debate_ids)):
        query = select(models.DebateRow.id).where(
            models.DebateRow.id.in_(chunk), models.DebateRow.status == "completed"
        )
        found.update(session.scalars(query))
    return found


@dataclass(frozen=True)
class Claim:
    debate_id: str
    status: str  # "new", "resume", "completed" or "busy" (another live process runs it now)
    turns: list[models.TurnRow]
    attempt: int = 1  # a failed debate run again is attempt 2, 3, ...


class NotRunning(StoreError):
    """The debate is no longer running: it was finished elsewhere (never while we held its lock)."""


def claim_debate(session: Session, row: models.DebateRow, locks: DebateLocks) -> Claim:
    """Take the debate `row` describes, holding its lock (store/claims.py) for "new" and "resume": completed
    ones are skipped, ones another live process runs are left alone, queued and interrupted ones resumed,
    failed ones reset and retried. Commits."""
    if not locks.acquire(row.id):
        return Claim(row.id, "busy", [])
    try:
        existing = session.get(models.DebateRow, row.id)
        if existing is None:
            session.add(row)
            try:
                session.commit()
                return Claim(row.id, "new", [])
            except IntegrityError:  # enqueued meanwhile (workers/): take that row
                session.rollback()
                existing = session.get_one(models.DebateRow, row.id, populate_existing=True)
        if existing.status == "completed":
            session.rollback()
            locks.release(row.id)
            return Claim(existing.id, "completed", [])
        existing.batch_id = row.batch_id
        if existing.status == "failed":
            session.execute(delete(models.TurnRow).where(models.TurnRow.debate_id == existing.id))
            session.execute(delete(models.VerdictRow).where(models.VerdictRow.debate_id == existing.id))
            existing.failure_reason = None
            existing.failed_step = None
            existing.attempts += 1
        if existing.status != "running":  # failed or queued: it starts now
            existing.status = "running"
            existing.started_at = models.utcnow()
            session.commit()
            return Claim(existing.id, "new", [], attempt=existing.attempts)
        turns = list(
            session.scalars(
                select(models.TurnRow).where(models.TurnRow.debate_id == existing.id).order_by(models.TurnRow.seq)
            )
        )
        session.commit()
        return Claim(existing.id, "resume", turns, attempt=existing.attempts)
    except BaseException:
        session.rollback()
        locks.release(row.id)
        raise


def add_turn(
    engine: Engine, turn: dict[str, Any], verdict: dict[str, Any] | None, usage: Sequence[dict[str, Any]]
) -> None:
    """One transaction per turn: the turn, its verdict (for judges) and the calls that produced it.

    SQLAlchemy Core on a plain connection, not the ORM: this runs once per LLM turn, on the hot path.
    """
    with engine.begin() as connection:
        connection.execute(models.TurnRow.__table__.insert(), [turn])
        if verdict is not None:
            connection.execute(models.VerdictRow.__table__.insert(), [verdict])
        if usage:
            connection.execute(models.UsageRow.__table__.insert(), list(usage))


def add_usage(session: Session, usage: Sequence[dict[str, Any]]) -> None:
    if usage:
        session.execute(insert(models.UsageRow), list(usage))


def ensure_scoreboard(session: Session, board: Board) -> str:
    """The scoreboard's id, inserting its row if this is its first score (concurrent inserts are harmless)."""
    values = {
        "id": board.id,
        "rubric_hash": board.rubric_hash,
        "protocol_hash": board.protocol_hash,
        "judge_models": sorted(set(board.judge_models)),
        "demo": board.demo,
        "legacy": False,
        "protocol": dict(board.protocol),
        "created_at": models.utcnow(),
    }
    session.execute(insert_ignoring(session, models.ScoreboardRow, [values], ["id"]))
    return board.id


def _finish(session: Session, debate_id: str, **values: Any) -> models.DebateRow:
    """Move a running debate to its final state, or raise NotRunning: a conditional update, so a debate is
    finished once."""
    moved = session.execute(
        update(models.DebateRow)
        .where(models.DebateRow.id == debate_id, models.DebateRow.status == "running")
        .values(finished_at=models.utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        session.rollback()
        raise NotRunning(f"{debate_id}: finished elsewhere")
    return session.get_one(models.DebateRow, debate_id, populate_existing=True)


def complete_debate_commit(
    session: Session,
    debate_id: str,
    *,
    mean: float,
    spread: float,
    n: int,
    rounds_run: int,
    early_stopped: bool,
    revised_statement: str | None,
    board: Board,
    aggregate: BoardAggregate,
    revision: HypothesisRecord | None = None,
    usage: Sequence[dict[str, Any]] = (),
) -> str:
    """Mark the debate completed, store its panel score on its scoreboard, keep a revision offered in the
    rebuttal as a child version, and refresh the version's score on that scoreboard, atomically.

    Returns the scoreboard id. Raises NotRunning (having written nothing) when the debate was finished
    elsewhere; a duplicate score row is the same outcome, never an error."""
    debate = _finish(
        session,
        debate_id,
        status="completed",
        rounds_run=rounds_run,
        early_stopped=early_stopped,
        revised_statement=revised_statement,
    )
    board_id = ensure_scoreboard(session, board)
    # one writer per scoreboard at a time: its scores are recomputed from every debate committed before ours
    session.get_one(models.ScoreboardRow, board_id, with_for_update=True, populate_existing=True)
    session.add(
        models.ScoreRow(
            debate_id=debate_id,
            hypothesis_id=debate.hypothesis_id,
            content_hash=debate.hypothesis_hash,
            scoreboard_id=board_id,
            mean=mean,
            spread=spread,
            n=n,
            rubric_hash=debate.rubric_hash,
            judge_models=sorted(set(board.judge_models)),
            prompt_hashes=debate.prompt_hashes,
        )
    )
    if revision is not None:
        _add_revision(session, debate, revision)
    add_usage(session, usage)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise NotRunning(f"{debate_id}: already scored") from None
    refresh_board_scores(session, board_id, aggregate)
    session.commit()
    return board_id


def _add_revision(session: Session, debate: models.DebateRow, revision: HypothesisRecord) -> None:
    """A revised statement offered in a rebuttal, kept as a child of the debated version (once per content)."""
    versions = versions_of(session, debate.hypothesis_id)
    if any(v.content_hash == revision.content_hash for v in versions):
        return
    parent = next((v.id for v in versions if v.content_hash == debate.hypothesis_hash), None)
    number = max((v.version for v in versions), default=0) + 1
    session.add(_version_row(debate.hypothesis_id, number, revision, "revision", parent, debate.id))


def _version_row(
    hypothesis_id: str,
    number: int,
    record: HypothesisRecord,
    origin: str,
    parent: str | None,
    debate_id: str | None = None,
) -> models.HypothesisVersionRow:
    """`record`'s content as version `number` of `hypothesis_id`: from the input, or a debate's revision."""
    return models.HypothesisVersionRow(
        id=f"{hypothesis_id}.v{number}",
        hypothesis_id=hypothesis_id,
        version=number,
        content_hash=record.content_hash,
        origin=origin,
        parent_id=parent,
        debate_id=debate_id,
        content=record.content(),
    )


def scoreboard_composites(session: Session, board_id: str) -> list[BoardVerdict]:
    """Every judge's composite in every completed debate on this scoreboard, of every hypothesis version."""
    from scoring.aggregate import BoardVerdict

    rows = session.execute(
        select(
            models.ScoreRow.hypothesis_id,
            models.ScoreRow.content_hash,
            models.VerdictRow.debate_id,
            models.VerdictRow.judge,
            models.VerdictRow.composite,
        )
        .join(models.ScoreRow, models.ScoreRow.debate_id == models.VerdictRow.debate_id)
        .where(models.ScoreRow.scoreboard_id == board_id)
        .order_by(models.VerdictRow.debate_id, models.VerdictRow.judge)
    )
    return [BoardVerdict((h_id, c_hash), d_id, int(judge), float(value)) for h_id, c_hash, d_id, judge, value in rows]


def refresh_board_scores(session: Session, board_id: str, aggregate: BoardAggregate) -> None:
    """Recompute every version's score on one scoreboard (its pooled variance model changes with each debate),
    from the scoreboard's own debates only (never across scoreboards). The caller holds the scoreboard's lock."""
    scores = aggregate(scoreboard_composites(session, board_id))
    existing = {
        (row.hypothesis_id, row.content_hash): row
        for row in session.scalars(
            select(models.HypothesisScoreRow).where(models.HypothesisScoreRow.scoreboard_id == board_id)
        )
    }
    current = dict(
        session.execute(
            select(models.HypothesisRow.id, models.HypothesisRow.content_hash).where(
                models.HypothesisRow.id.in_({h_id for h_id, _ in scores})
            )
        ).all()
    )
    now = models.utcnow()
    for key, row in existing.items():
        if key not in scores:
            session.delete(row)
    for key, score in scores.items():
        row = existing.get(key)
        if row is None:
            h_id, content_hash = key
            row = models.HypothesisScoreRow(
                scoreboard_id=board_id,
                hypothesis_id=h_id,
                content_hash=content_hash,
                current=current.get(h_id) == content_hash,
            )
            session.add(row)
        row.mean, row.lo, row.hi, row.interval = score.mean, score.lo, score.hi, score.interval
        row.se, row.df, row.debates, row.verdicts = score.se, score.df, score.debates, score.verdicts
        row.updated_at = now


def fail_debate_commit(
    session: Session, debate_id: str, reason: str, step: str | None, usage: Sequence[dict[str, Any]]
) -> None:
    _finish(session, debate_id, status="failed", failure_reason=reason[:2000], failed_step=step)
    add_usage(session, usage)
    session.commit()


def finish_batch_commit(
    session: Session, batch_id: str, *, completed: int, failed: int, skipped: int, wall_s: float, status: str
) -> None:
    batch = session.get_one(models.BatchRow, batch_id)
    batch.debates_completed = completed
    batch.debates_failed = failed
    batch.debates_skipped = skipped
    batch.wall_s = wall_s
    batch.status = status
    batch.finished_at = models.utcnow()
    session.commit()


def set_batch_status(session: Session, batch_id: str, status: str) -> None:
    session.get_one(models.BatchRow, batch_id).status = status


def debate_counts(session: Session, batch_id: str | None = None) -> dict[str, int]:
    """Debates per status (queued, running, completed, failed), of one batch or of all."""
    query = select(models.DebateRow.status, func.count()).group_by(models.DebateRow.status)
    if batch_id is not None:
        query = query.where(models.DebateRow.batch_id == batch_id)
    return {status: n for status, n in session.execute(query).all()}


def running_debates(session: Session, batch_id: str | None = None) -> list[str]:
    query = select(models.DebateRow.id).where(models.DebateRow.status == "running")
    if batch_id is not None:
        query = query.where(models.DebateRow.batch_id == batch_id)
    return list(session.scalars(query))


def tally_batch_commit(session: Session, batch_id: str) -> None:
    """Count a queued batch's debates onto its row (after each of its jobs); it is completed when none is queued
    or running. Idempotent: workers finishing at once write the same counts."""
    batch = session.get_one(models.BatchRow, batch_id, with_for_update=True)  # first: then the counts are not stale
    counts = debate_counts(session, batch_id)
    batch.debates_completed = counts.get("completed", 0)
    batch.debates_failed = counts.get("failed", 0)
    if not counts.get("queued") and not counts.get("running"):
        batch.status = "completed"
        if batch.finished_at is None:
            batch.finished_at = models.utcnow()
            started = batch.started_at if batch.started_at.tzinfo else batch.started_at.replace(tzinfo=UTC)
            batch.wall_s = (batch.finished_at - started).total_seconds()
    session.commit()


def requeue_failed(session: Session, debate_ids: Sequence[str]) -> None:
    """Failed debates queued again: their turns and verdicts go, and the next run is a new attempt (fresh draws)."""
    for chunk in chunks(list(debate_ids)):
        failed = list(
            session.scalars(
                select(models.DebateRow.id).where(models.DebateRow.id.in_(chunk), models.DebateRow.status == "failed")
            )
        )
        if not failed:
            continue
        session.execute(delete(models.TurnRow).where(models.TurnRow.debate_id.in_(failed)))
        session.execute(delete(models.VerdictRow).where(models.VerdictRow.debate_id.in_(failed)))
        session.execute(
            update(models.DebateRow)
            .where(models.DebateRow.id.in_(failed))
            .values(status="queued", failure_reason=None, failed_step=None, attempts=models.DebateRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )
