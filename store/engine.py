"""Engine and sessions: SQLite by default (WAL), any SQLAlchemy URL otherwise; schema via Alembic."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


class StoreError(Exception):
    """The database cannot be opened or written; the message says which and why."""


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"{url!r} is not a database URL (expected e.g. sqlite:///hypodebate.db)") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision.

    Several processes may open a new database at once: on PostgreSQL an advisory lock serialises them;
    on SQLite the loser of the race sees the winner's tables and simply tries again (then has nothing to do).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=True)
    sqlite = engine.dialect.name == "sqlite"
    for attempt in range(5):
        try:
            with engine.connect() as connection:
                # SQLite rebuilds a table to drop a column: with foreign keys on, dropping the old table would
                # cascade-delete every row that refers to it. Alembic's advice: keys off while migrating.
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                    connection.commit()
                try:
                    with connection.begin():
                        if engine.dialect.name == "postgresql":
                            connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
                        config.attributes["connection"] = connection
                        command.upgrade(config, "head")
                finally:
                    if sqlite:
                        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                        connection.commit()
            return
        except OperationalError as exc:
            racing = "already exists" in str(exc.orig) or "locked" in str(exc.orig)
            if not racing or attempt == 4:
                raise StoreError(f"cannot open the database {url}: {exc.orig}") from None
            time.sleep(0.2 * (attempt + 1))


def open_store(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
