"""`hypodebate generate --queue`: the loop's debates and comparisons are jobs that a `hypodebate worker` runs on the
shared PostgreSQL store; the generating process waits for them, then ranks, reviews and evolves."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

from tests.chaos_support import run_env
from tests.generators import ScriptedGenerator, numbered
from tests.helpers import REPO, query_rows
from tests.loopback import AsyncLoopback

pytestmark = pytest.mark.postgres

SLUG = "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration"
QUEUE = {"HYPODEBATE_QUEUE__POLL_S": "0.5", "HYPODEBATE_QUEUE__HEARTBEAT_S": "0.5"}


def _hypodebate(env: dict[str, str], cwd, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hypodebate", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_generate_with_queue_has_a_worker_debate_and_compare_while_it_waits(postgres_url, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(REPO / "examples" / "pages" / f"{SLUG}.txt", pages)
    generator = ScriptedGenerator(fallback=numbered)
    server = AsyncLoopback(latency=0.01, responder=generator).start()
    worker = None
    try:
        env = run_env(server.url, tmp_path / "config.yaml", {"concurrency": 4}) | QUEUE
        imported = _hypodebate(env, tmp_path, "pages", "import", str(pages / f"{SLUG}.txt"), "--db", postgres_url)
        assert imported.returncode == 0, imported.stderr
        with (tmp_path / "worker.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hypodebate", "worker", "--db", postgres_url, "--concurrency", "4"],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        args = ["generate", "--page", SLUG, "--db", postgres_url, "--n", "3", "--generations", "2", "--top", "1"]
        done = _hypodebate(env, tmp_path, *args, "--rounds", "1", "--judges", "2", "--queue", "--json", "run.json")
        assert done.returncode == 0, done.stderr
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        server.stop()

    report = json.loads((tmp_path / "run.json").read_text())
    assert [g["candidates"] for g in report["generations"]] == [3, 1 + 3]
    # every new hypothesis was debated by the worker, and every comparison too (both orders), each stored once
    debated = sum(len(g["new"]) for g in report["generations"])
    assert query_rows(postgres_url, "select status, count(*) from debates group by status") == [("completed", debated)]
    log_text = (tmp_path / "worker.log").read_text(errors="replace")
    assert log_text.count("hypodebate.debate[") >= debated and "hypodebate.compare[" in log_text
    assert query_rows(postgres_url, "select count(*) = count(distinct id) from comparisons") == [(True,)]
    # the child of generation 1's best records its parent
    (parents,) = query_rows(postgres_url, "select count(*) from lineage")
    assert parents[0] >= 1
