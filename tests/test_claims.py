"""A debate's lock (store/claims.py): held by a live process, busy for every other, free the moment its holder is
killed, with no expiry to wait for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from store.claims import debate_locks
from store.engine import open_store
from tests.helpers import REPO

HOLD = """
import sys, time
from store.claims import debate_locks
from store.engine import open_store
locks = debate_locks(open_store(sys.argv[1]).engine)
assert locks.acquire("d-held")
print("held", flush=True)
time.sleep(600)
"""


def test_a_lock_is_busy_while_its_holder_lives_and_free_once_it_is_killed(any_db):
    store = open_store(any_db)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, any_db], cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    locks = debate_locks(store.engine)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not locks.acquire("d-held")  # another live process runs it
        assert locks.acquire("d-other")  # other debates are free
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        for _ in range(100):  # the server notices the closed connection at once; give it a moment
            if locks.acquire("d-held"):
                break
            time.sleep(0.05)
        assert "d-held" in locks.held
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        locks.close()
        store.close()


def test_one_process_never_takes_a_lock_twice_and_releases_only_its_own(any_db):
    store = open_store(any_db)
    first, second = debate_locks(store.engine), debate_locks(store.engine)
    try:
        assert first.acquire("d-1")
        assert not first.acquire("d-1")  # the same debate twice in one batch runs once
        assert not second.acquire("d-1")  # another runner in this process
        second.close()  # closing a handle that holds nothing frees nothing
        assert not second.acquire("d-1")
        first.release("d-1")
        assert second.acquire("d-1")
    finally:
        first.close()
        second.close()
        store.close()


def test_status_counts_a_running_debate_that_nobody_holds_as_stalled(db):
    from debates.inputs import load_hypotheses
    from hypodebate.app.status import queue_status
    from hypodebate.config import Settings
    from tests.fakes import FakeDebater, ScriptedServer
    from tests.helpers import EXAMPLE, runner

    batch = runner(ScriptedServer(default=FakeDebater()), db, rounds=0, judges=1)
    first, second, third = load_hypotheses([EXAMPLE])[:3]
    b = batch.open_batch([first, second, third], source="x")
    with batch.sessions() as s:  # one debate a live process runs, one a killed process left, one waiting
        s.add(batch.debate_row("d-live", first, 0, b, status="running"))
        s.add(batch.debate_row("d-orphan", second, 0, b, status="running"))
        s.add(batch.debate_row("d-waiting", third, 0, b, status="queued"))
        s.commit()
    live = debate_locks(batch.sessions.engine)
    assert live.acquire("d-live")
    try:
        [row] = queue_status(settings=Settings(), db=db, batch=b).batches
    finally:
        live.close()
    assert (row.queued, row.running, row.stalled, row.done, row.failed) == (1, 1, 1, 0, 0)
