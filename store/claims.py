"""Who runs a debate now: a lock held for a live process by the database server or the kernel.

On PostgreSQL it is a session advisory lock on a connection kept open while the process runs debates: the
server drops it when that connection ends, so a killed process (`kill -9`, a lost machine once TCP keepalives
give up) frees its debates without anyone waiting for an expiry. On a SQLite file it is a byte-range lock
(fcntl) on a file beside the database, which the kernel drops when the process dies. In-memory SQLite is one
process. There is no expiry, no heartbeat and no clock: a lock is held exactly as long as its holder lives.

Across machines the job queue (workers/) decides who runs what; these locks only guarantee that a debate is
never run by two processes at once, whichever path started it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import ClassVar, Protocol

from sqlalchemy import Connection, Engine, text

from store.engine import StoreError

NAMESPACE = 0x68797064  # "hypd": the first key of every advisory lock this project takes
# a dead peer's connection is noticed within about idle + interval x count seconds
KEEPALIVES = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3}


class DebateLocks(Protocol):
    def acquire(self, debate_id: str) -> bool:
        """Take the debate's lock if nobody holds it; False when another process (or this one) does."""
        ...

    def release(self, debate_id: str) -> None: ...

    def close(self) -> None:
        """Release every lock this process holds."""
        ...


def debate_locks(engine: Engine) -> DebateLocks:
    """The locks for `engine`'s database (opened lazily: nothing is connected or created until the first lock)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    path = sqlite_file(engine)
    return FileLocks(Path(f"{path}.locks")) if path else ProcessLocks()


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine (also for `file:` URIs); None in memory."""
    database = engine.url.database or ""
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return None if database in ("", ":memory:") or "mode=memory" in str(engine.url) else database


def _key(debate_id: str) -> int:
    """A signed 32-bit key (the second of an advisory lock's two int4 keys) and a byte offset for fcntl."""
    return int.from_bytes(hashlib.sha256(debate_id.encode()).digest()[:4], "big", signed=True)


class ProcessLocks:
    """One process holds the database (in-memory SQLite): a set is enough."""

    def __init__(self) -> None:
        self.held: set[str] = set()

    def acquire(self, debate_id: str) -> bool:
        if self._holding(debate_id) or not self._lock(debate_id):
            return False
        self.held.add(debate_id)
        return True

    def release(self, debate_id: str) -> None:
        if debate_id in self.held:
            self.held.discard(debate_id)
            self._unlock(debate_id)

    def close(self) -> None:
        self.held.clear()

    def _holding(self, debate_id: str) -> bool:
        """This process holds the debate's lock already (a lock never excludes its own holder: the set does)."""
        return debate_id in self.held

    def _lock(self, debate_id: str) -> bool:
        """Take the lock itself, if nobody holds it (in one process, the set is the lock)."""
        return True

    def _unlock(self, debate_id: str) -> None:
        """Drop the lock itself."""


class AdvisoryLocks(ProcessLocks):
    """PostgreSQL session advisory locks, on one connection of their own (autocommit, TCP keepalives on)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._connection: Connection | None = None

    def _open(self) -> Connection:
        if self._connection is None or self._connection.closed:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for name, value in KEEPALIVES.items():
                connection.exec_driver_sql(f"SET {name} = {int(value)}")
            self._connection = connection
        return self._connection

    def _lock(self, debate_id: str) -> bool:  # advisory locks nest within a session: `held` says who runs it
        query = text("SELECT pg_try_advisory_lock(:ns, :key)")
        return bool(self._open().execute(query, {"ns": NAMESPACE, "key": _key(debate_id)}).scalar())

    def _unlock(self, debate_id: str) -> None:
        if self._connection is not None and not self._connection.closed:
            query = text("SELECT pg_advisory_unlock(:ns, :key)")
            self._connection.execute(query, {"ns": NAMESPACE, "key": _key(debate_id)})

    def close(self) -> None:
        self.held.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing ends the session: the server drops every lock
                self._connection.close()
            self._connection = None


class FileLocks(ProcessLocks):
    """fcntl byte-range locks on `path`, one byte per debate (at an offset from its id's hash).

    fcntl locks belong to the process, and closing any descriptor of the file drops all of them, so the
    process keeps one descriptor per lock file (never closed) and one set of what it holds, shared by every
    handle; a handle releases only its own."""

    _files: ClassVar[dict[Path, int]] = {}
    _held: ClassVar[dict[Path, set[str]]] = {}

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path.resolve()

    def _open(self) -> int:
        if self.path not in self._files:
            try:
                self._files[self.path] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot open the debate lock file {self.path}: {exc.strerror}") from None
            self._held[self.path] = set()
        return self._files[self.path]

    def _holding(self, debate_id: str) -> bool:
        self._open()
        return debate_id in self._held[self.path]  # fcntl locks never exclude their own process: the set does

    def _lock(self, debate_id: str) -> bool:
        try:
            fcntl.lockf(self._open(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(debate_id) + 2**31)
        except (BlockingIOError, PermissionError):
            return False
        self._held[self.path].add(debate_id)
        return True

    def _unlock(self, debate_id: str) -> None:
        self._held[self.path].discard(debate_id)
        fcntl.lockf(self._files[self.path], fcntl.LOCK_UN, 1, _key(debate_id) + 2**31)

    def close(self) -> None:
        for debate_id in list(self.held):
            self.release(debate_id)
