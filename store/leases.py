"""Who is running a debate: a lease (owner, expiry) on its row, so concurrent workers never run it twice.

An owner is `host:pid:nonce`. A lease is free when it has no owner, has expired, or belongs to a
process on this host that no longer exists (a `kill -9` leaves no one to release it).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from store.models import utcnow

HOST = socket.gethostname()


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return True  # another machine: trust the expiry
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def expiry(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def lease_free(owner: str | None, expires: datetime | None, me: str) -> bool:
    if owner is None or owner == me:
        return True
    if expires is not None:
        if expires.tzinfo is None:  # SQLite returns naive datetimes
            expires = expires.replace(tzinfo=utcnow().tzinfo)
        if expires < utcnow():
            return True
    return not owner_alive(owner)
