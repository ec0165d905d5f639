"""Jobs a worker can never run: refused at once with their reason, in log lines no escape sequence survives; and a
worker's runners stay bounded however many distinct options its jobs carry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from debates import queue as job_queue
from debates.jobs import Runners
from tests.chaos_support import run_env
from tests.helpers import REPO, query_rows
from tests.loopback import AsyncLoopback

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x9d8;;x\x9c"
ONE = """\
hypotheses:
  - title: TREM2 agonism in microglia
    targets: TREM2
    mechanism: TREM2 agonism in microglia lowers amyloid plaque load and slows neurodegeneration.
"""


def _hypodebate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hypodebate", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


async def _defer(url: str, jobs: list[tuple[Any, dict[str, Any]]]) -> None:
    async with job_queue.open_queue(url):
        for task, arguments in jobs:
            await task.defer_async(**arguments)


@pytest.mark.postgres
def test_malformed_jobs_fail_at_once_with_their_reason_and_no_escape_reaches_the_log(postgres_url, tmp_path):
    server = AsyncLoopback(latency=0.0).start()
    try:
        env = run_env(server.url, tmp_path / "config.yaml", {}) | {"HYPODEBATE_QUEUE__RETRY_WAIT_S": "0"}
        batch = tmp_path / "one.yaml"
        batch.write_text(ONE, encoding="utf-8")
        queued = _hypodebate(env, "run", str(batch), "--db", postgres_url, "--queue", "--rounds", "0", "--judges", "1")
        assert queued.returncode == 0, queued.stderr
        ((debate, b_id),) = query_rows(postgres_url, "select id, batch_id from debates")
        jobs = [  # a debate that is in the database, asked with arguments no run of the job can use
            (job_queue.debate_job, {"debate_id": debate, "batch_id": b_id, "options": {"rounds": "many"}}),
            (job_queue.debate_job, {"debate_id": debate, "batch_id": b_id, "options": {"judges": 99}}),
            (job_queue.debate_job, {"debate_id": debate, "batch_id": b_id, "options": {"shell": "rm -rf /"}}),
            (job_queue.debate_job, {"debate_id": debate, "batch_id": b_id, "options": "rounds=1"}),
            (job_queue.debate_job, {"debate_id": [debate], "batch_id": b_id, "options": {}}),
            (job_queue.debate_job, {"debate_id": f"d-{ESCAPES}", "batch_id": b_id, "options": {}}),
            (job_queue.compare_job, {"first": ["h-1"], "second": ["h-2", "x"], "judge": 1, "protocol_hash": "p"}),
        ]
        asyncio.run(_defer(postgres_url, jobs))
        worker = _hypodebate(env, "worker", "--db", postgres_url, "--once")
    finally:
        server.stop()
    assert worker.returncode == 0, worker.stderr
    # the batch's own job ran (and was deleted); every malformed one ran once and failed: none waits for another try
    jobs_table = "select status::text, attempts from procrastinate_jobs where queue_name = 'debates'"
    assert sorted(query_rows(postgres_url, jobs_table)) == [("failed", 1)] * len(jobs)
    assert query_rows(postgres_url, "select status from debates") == [("completed",)]
    log = worker.stderr
    assert not any(c in log for c in "\x1b\x07\x9b\x9d\x9c"), repr(log)
    reasons = [
        "BadJob: debate job: options.rounds: Input should be a valid integer",
        "BadJob: debate job: options.judges: Input should be less than or equal to 15 (got 99)",
        "BadJob: debate job: options.shell: unknown field",
        "BadJob: debate job: options: Input should be a valid dictionary or instance of JobOptions",
        "BadJob: debate job: debate_id: Input should be a valid string",
        "LookupError: debate d-]0;pwned[2J31m8;;x is not in the database",  # the text stays, made inert
        "BadJob: compare job: first.1: required field is missing",
    ]
    assert [r for r in reasons if r not in log] == [], log


class _Runner:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options, self.released = options, False


def test_a_worker_keeps_a_bounded_number_of_runners_and_never_lets_go_of_one_in_use():
    made: list[_Runner] = []

    async def make(options: dict[str, Any]) -> _Runner:
        made.append(_Runner(options))
        return made[-1]

    def release(runner: _Runner) -> None:
        runner.released = True

    runners: Runners[_Runner] = Runners(make, release, keep=3)

    async def jobs() -> None:
        async with runners.use({"rounds": 0}) as held:
            for rounds in range(1, 10):  # nine other options while the first job still runs
                async with runners.use({"rounds": rounds}):
                    pass
            assert not held.released
            assert len(runners.kept) <= 4  # three idle ones, and the one in use
        async with runners.use({"rounds": 9}) as again:  # recently used: kept, not made again
            assert again is made[-1]

    asyncio.run(jobs())
    assert len(made) == 10
    assert len(runners.kept) == 3
    assert sum(not r.released for r in made) == 3
    runners.close()
    assert all(r.released for r in made)
