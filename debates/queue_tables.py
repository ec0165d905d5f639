"""The job queue's own tables, read with SQL: debate jobs per status and live workers (`hypodebate status`).

Apart from debates/queue.py, which registers the tasks with procrastinate and builds on the runners, so that reading
these counts imports neither (`status` starts at once)."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

DEBATE_TASK = "hypodebate.debate"  # the task name of one debate's job (debates.queue.debate_job)


def has_queue(connection: Connection) -> bool:
    """Whether the queue's tables are in this PostgreSQL database (created by the first `--queue` or worker)."""
    return connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def queue_counts(engine: Engine, stalled_s: float) -> tuple[dict[str, int] | None, int | None]:
    """The queue's debate jobs per procrastinate status, and its workers whose heartbeat is fresher than
    `stalled_s`; (None, None) where there is no queue (SQLite, or before the first `--queue`)."""
    if engine.dialect.name != "postgresql":
        return None, None
    with engine.connect() as connection:
        if not has_queue(connection):
            return None, None
        jobs = connection.execute(
            text("SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = :task GROUP BY 1"),
            {"task": DEBATE_TASK},
        ).all()
        workers = connection.execute(
            text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :s)"),
            {"s": stalled_s},
        ).scalar()
    return {status: n for status, n in jobs}, int(workers or 0)
