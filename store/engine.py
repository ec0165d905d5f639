"""Engine and sessions: SQLite by default (WAL), any SQLAlchemy URL otherwise; schema via Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_incrementing

from safeio.errors import HypodebateError
from safeio.text import display_url, hide_passwords

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0013"  # the newest revision in store/migrations/versions (a test checks it against Alembic's head)


class StoreError(HypodebateError):
    """The database cannot be opened or written; the message says which and why."""


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ValueError) as exc:  # unparsable, a port that is no number, a password on SQLite, ...
        raise StoreError(
            f"{display_url(url)} is not a database URL: {hide_passwords(str(exc))} (expected e.g. sqlite:///hypodebate.db)"
        ) from None
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
    A database already at HEAD is left as it is without loading Alembic (a command starts sooner).
    """
    if _at_head(engine):
        return
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=True)

    def racing(exc: BaseException) -> bool:
        message = str(getattr(exc, "orig", exc))
        return isinstance(exc, OperationalError) and ("already exists" in message or "locked" in message)

    try:
        for attempt in Retrying(
            retry=retry_if_exception(racing), stop=stop_after_attempt(5), wait=wait_incrementing(0.2, 0.2), reraise=True
        ):
            with attempt:
                _upgrade(engine, config)
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {url}: {exc.orig}") from None


def _at_head(engine: Engine) -> bool:
    """Whether the database records HEAD as its one Alembic revision (False when it has no version table yet)."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except (OperationalError, ProgrammingError):
        return False
    return versions == [HEAD]


def _upgrade(engine: Engine, config: Config) -> None:
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
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


class Store(sessionmaker[Session]):
    """A migrated database: call it for a Session (it is a sessionmaker); `engine` is the pool behind it."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self.engine = engine

    def close(self) -> None:
        """Close every pooled connection (a finished command; a test's temporary database)."""
        self.engine.dispose()


def open_store(url: str) -> Store:
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)
