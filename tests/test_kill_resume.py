"""A batch killed with SIGKILL mid-run, then re-run: nothing lost, nothing repeated, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from sqlalchemy.exc import OperationalError

from debates.inputs import load_hypotheses
from tests.helpers import EXAMPLE, query_rows, start_run
from tests.loopback import LoopbackServer


def _run(server: LoopbackServer, db: str) -> subprocess.Popen:
    return start_run(server.url, db, "sk-test-kill")


def _scalar(db: str, sql: str) -> int:
    (value,) = query_rows(db, sql)
    return int(value[0])


def _turns_so_far(db: str) -> int:
    """Turns stored while the batch runs: none while the new database has no tables yet."""
    try:
        return _scalar(db, "select count(*) from turns")
    except OperationalError as exc:
        if "no such table" in str(exc) or "unable to open" in str(exc):
            return 0
        raise


def test_sigkill_mid_batch_then_resume(slow_server, tmp_path):
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    expected = len(load_hypotheses([EXAMPLE]))
    process = _run(slow_server, db)
    deadline = time.monotonic() + 60
    while _turns_so_far(db) < 25:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    interrupted = _scalar(db, "select count(*) from debates where status = 'running'")
    completed_before = _scalar(db, "select count(*) from debates where status = 'completed'")
    assert interrupted > 0 and completed_before < expected
    calls_before = slow_server.calls

    process = _run(slow_server, db)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "h-2600483e" in out

    # every hypothesis: exactly one completed debate, two verdicts, one score
    assert _scalar(db, "select count(*) from debates") == expected
    assert _scalar(db, "select count(*) from debates where status = 'completed'") == expected
    assert _scalar(db, "select count(*) from verdicts") == 2 * expected
    assert _scalar(db, "select count(*) from scores") == expected
    assert (
        _scalar(db, "select count(*) from (select debate_id, judge from verdicts group by 1, 2 having count(*) > 1)")
        == 0
    )
    assert _scalar(db, "select count(*) from hypothesis_scores where debates = 1 and verdicts = 2") == expected
    # turns are contiguous per debate: resumed debates continued, nothing was re-asked
    assert (
        _scalar(db, "select count(*) from (select debate_id from turns group by 1 having max(seq) + 1 != count(*))")
        == 0
    )
    assert _scalar(db, "select count(*) from turns") == expected * 6
    # the re-run did only the missing work: 6 calls per debate not completed before the kill, minus stored turns
    stored_turns_of_unfinished = slow_server.calls - calls_before
    assert stored_turns_of_unfinished < (expected - completed_before) * 6
