"""Debates shared by machines: `run --queue`, `hypodebate worker` processes on one PostgreSQL, killed and stopped."""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hypodebate.cli import app
from tests.chaos_support import audit, run_env, write_variants
from tests.helpers import EXAMPLE, REPO, query_rows
from tests.loopback import AsyncLoopback, FaultPlan

pytestmark = pytest.mark.postgres

# fast heartbeats, so a killed worker's jobs come back within seconds
QUEUE = {
    "HYPODEBATE_QUEUE__HEARTBEAT_S": "0.5",
    "HYPODEBATE_QUEUE__STALLED_S": "3",
    "HYPODEBATE_QUEUE__RECOVER_EVERY_S": "1",
    "HYPODEBATE_QUEUE__POLL_S": "0.5",
    "HYPODEBATE_QUEUE__RETRY_WAIT_S": "0",
}
LLM = {"timeout_s": 0.5, "retry__initial_backoff_s": 0.01, "retry__max_backoff_s": 0.05}


def _statuses(db: str) -> dict[str, int]:
    return dict(query_rows(db, "select status, count(*) from debates group by status"))


def _hypodebate(*args: str) -> list[str]:
    return [sys.executable, "-m", "hypodebate", *args]


def _run(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`hypodebate ARGS...` to the end, its output captured."""
    return subprocess.run(_hypodebate(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _worker(db: str, env: dict[str, str], log: Path, concurrency: int = 3) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            _hypodebate("worker", "--db", db, "--concurrency", str(concurrency)),
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@contextlib.contextmanager
def _one_worker(db: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A loopback model and one worker (log: tmp_path/worker.log) for the block, which gets their environment;
    afterwards the worker is stopped with SIGTERM and must exit 0."""
    server = AsyncLoopback(latency=0.01).start()
    worker = None
    try:
        env = run_env(server.url, tmp_path / "config.yaml", LLM) | QUEUE
        worker = _worker(db, env, tmp_path / "worker.log", concurrency=4)
        yield env
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        server.stop()


def _wait(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_enqueue_stores_the_batch_once_and_refuses_a_database_other_machines_cannot_share(postgres_url, tmp_path):
    runner = CliRunner()
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-never-called"}
    args = ["run", str(EXAMPLE), "--db", postgres_url, "--queue", "--rounds", "1", "--judges", "2"]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "16 debates queued, 0 already queued, 0 already completed" in first.stderr
    assert "sk-never-called" not in first.output
    again = runner.invoke(app, args, env=env)  # the same debates: their jobs are waiting already
    assert again.exit_code == 0, again.output
    assert "0 debates queued, 16 already queued" in again.stderr
    assert query_rows(postgres_url, "select count(*) from procrastinate_jobs") == [(16,)]
    assert _statuses(postgres_url) == {"queued": 16}

    status = runner.invoke(app, ["status", "--db", postgres_url], env=env)
    assert status.exit_code == 0, status.output
    assert "debate jobs 16 todo; 0 live worker(s)" in status.stdout

    sqlite = runner.invoke(app, ["run", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'x.db'}", "--queue"], env=env)
    assert sqlite.exit_code == 2
    assert "PostgreSQL database that every machine reaches" in sqlite.stderr


def test_a_worker_with_another_config_refuses_the_jobs_rather_than_scoring_on_another_scoreboard(
    postgres_url, tmp_path
):
    server = AsyncLoopback(latency=0.0).start()
    try:
        env = run_env(server.url, tmp_path / "config.yaml", LLM) | QUEUE
        enqueue = _run(
            env, "run", str(EXAMPLE), "--db", postgres_url, "--queue", "--rounds", "0", "--judges", "1", timeout=120
        )
        assert enqueue.returncode == 0, enqueue.stderr
        other = env | {"HYPODEBATE_LLM__TEMPERATURE__JUDGE": "0.9"}
        done = _run(other, "worker", "--db", postgres_url, "--once", timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "WorkerMismatch: debate d-" in done.stderr
    assert "configuration differs from the batch's in temperatures" in done.stderr
    assert _statuses(postgres_url) == {"queued": 16}  # nothing was debated under the wrong protocol
    assert query_rows(postgres_url, "select count(*) from procrastinate_jobs where status = 'failed'") == [(16,)]


def test_three_workers_two_kills_lose_nothing_and_duplicate_nothing(postgres_url, tmp_path):
    file = tmp_path / "batch.yaml"
    ids = write_variants(file, 24)
    plan = FaultPlan(rate_limit=0.03, server_error=0.03, truncated=0.03, bad_verdict=0.05, seed=11)
    server = AsyncLoopback(latency=0.05, faults=plan).start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = run_env(server.url, tmp_path / "config.yaml", LLM) | QUEUE
        enqueue = _run(
            env, "run", str(file), "--db", postgres_url, "--queue", "--rounds", "1", "--judges", "2", timeout=120
        )
        assert enqueue.returncode == 0, enqueue.stderr
        logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
        workers = [_worker(postgres_url, env, log) for log in logs]
        rng = random.Random(7)
        for victim, after in ((0, rng.randint(8, 20)), (1, rng.randint(30, 50))):
            _wait(
                lambda n=after: query_rows(postgres_url, "select count(*) from turns")[0][0] >= n, 120, f"{after} turns"
            )
            # mid-batch: each kill lands once that many turns are stored
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
        final = ("completed", "failed")
        _wait(lambda: sum(_statuses(postgres_url).get(s, 0) for s in final) == len(ids), 240, "every debate to end")
        survivor = workers[2]
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(60) == 0
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        server.stop()

    result = audit(postgres_url, ids, judges=2)
    print(  # the closing note's audit (pytest -s)
        f"two kills: {result.debates} debates, {result.completed} completed, {result.failed} failed, "
        f"lost {result.lost}, duplicated {result.duplicated}, {result.calls} calls, {result.retries} retries"
    )
    assert result.problems() == [], result.problems()
    assert (result.lost, result.duplicated, result.running) == (0, 0, 0)
    assert result.completed + result.failed == len(ids) == result.debates
    assert [w.returncode for w in workers] == [-9, -9, 0]
    survivor_log = logs[2].read_text(errors="replace")
    assert "stalled jobs handed back to the queue" in survivor_log  # the killed workers' jobs came back
    assert "Traceback" not in survivor_log
    # the queue agrees: nothing waiting, nothing running
    assert query_rows(
        postgres_url,
        "select count(*) from procrastinate_jobs where task_name = 'hypodebate.debate' and status in ('todo', 'doing')",
    ) == [(0,)]
    status = _run(env, "status", "--db", postgres_url, timeout=60)
    assert status.returncode == 0 and "0 live worker(s)" in status.stdout, status.stdout


def test_a_worker_stopped_with_sigterm_hands_back_what_it_cannot_finish(postgres_url, tmp_path):
    server = AsyncLoopback(latency=0.4).start()
    try:
        env = run_env(server.url, tmp_path / "config.yaml", {"timeout_s": 5}) | QUEUE
        env |= {"HYPODEBATE_QUEUE__GRACE_S": "0.5"}
        enqueue = _run(
            env, "run", str(EXAMPLE), "--db", postgres_url, "--queue", "--rounds", "2", "--judges", "2", timeout=120
        )
        assert enqueue.returncode == 0, enqueue.stderr
        first = _worker(postgres_url, env, tmp_path / "first.log", concurrency=4)
        _wait(lambda: query_rows(postgres_url, "select count(*) from turns")[0][0] >= 4, 60, "the first turns")
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0  # within the grace period, then its debates go back to the queue
        interrupted = _statuses(postgres_url).get("running", 0)
        assert interrupted > 0, _statuses(postgres_url)
        assert query_rows(postgres_url, "select count(*) from procrastinate_jobs where status = 'doing'") == [(0,)]
        second = _run(
            env | {"HYPODEBATE_QUEUE__GRACE_S": "60"},
            "worker",
            "--db",
            postgres_url,
            "--once",
            "--concurrency",
            "8",
            timeout=300,
        )
        assert second.returncode == 0, second.stderr
    finally:
        server.stop()
    assert _statuses(postgres_url) == {"completed": 16}
    result = audit(postgres_url, [h for (h,) in query_rows(postgres_url, "select id from hypotheses")], judges=2)
    assert result.problems() == [] and result.duplicated == 0
    # the interrupted debates resumed from their stored turns: no debate has more than its turns
    assert query_rows(postgres_url, "select max(n) from (select count(*) n from turns group by debate_id) t") == [(8,)]


def test_run_without_queue_still_works_on_postgresql(postgres_url, tmp_path):
    server = AsyncLoopback(latency=0.0).start()
    try:
        env = run_env(server.url, tmp_path / "config.yaml", LLM)
        done = _run(env, "run", str(EXAMPLE), "--db", postgres_url, "--rounds", "0", "--judges", "1", timeout=180)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert _statuses(postgres_url) == {"completed": 16}


def test_a_tournament_with_queue_has_its_comparisons_judged_by_workers(postgres_url, tmp_path):
    file = tmp_path / "pool.yaml"
    write_variants(file, 4)
    with _one_worker(postgres_url, tmp_path) as env:
        args = ["tournament", "--hypotheses", str(file), "--db", postgres_url, "--queue", "--concurrency", "8"]
        done = _run(env, *args, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Bradley-Terry" in done.stdout or "rating" in done.stdout.lower(), done.stdout
    # 4 hypotheses: 6 pairs, each judged in both orders, every comparison by a worker and stored once
    assert query_rows(postgres_url, "select count(*), count(distinct id) from comparisons") == [(12, 12)]
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert log.count("hypodebate.compare[") >= 12


def test_eval_with_queue_has_workers_debate_every_arm_and_reports_its_figures(postgres_url, tmp_path):
    rows = tmp_path / "rows.jsonl"
    source = (REPO / "examples" / "eval" / "target_disease_outcomes.dev.jsonl").read_text().splitlines()
    rows.write_text("\n".join(source[:6]) + "\n")
    with _one_worker(postgres_url, tmp_path) as env:
        args = ["eval", str(rows), "--db", postgres_url, "--rounds", "1", "--judges", "2", "--queue"]
        args += ["--protocol", "single", "--protocol", "debate", "-o", str(tmp_path / "eval.html")]
        done = _run(env, *args, timeout=300)
    assert done.returncode == 0, done.stderr
    # every arm's debates ran in the worker: 6 single-judge panels and 6 debates, none here
    assert _statuses(postgres_url) == {"completed": 12}
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert log.count("ended with status: Success") >= 12
    assert (tmp_path / "eval.html").exists() and "AUROC" in done.stdout
