"""Build a batch runner wired to a scripted server and a temporary database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from agents.prompts import load_prompts
from debates.runner import BatchRunner
from debates.settings import DebateSettings
from hypodebate.config import Settings, load_settings
from report.data import ReportData, load_report
from scoring.rubric import Rubric
from store.engine import open_store
from tests.fakes import FakeDebater, ScriptedServer
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "neurodegeneration.yaml"

TWO = """\
hypotheses:
  - id: h-2600483e
    title: CYP46A1 Overexpression Gene Therapy
    targets: CYP46A1
    mechanism: AAV-mediated CYP46A1 expression increases 24-hydroxycholesterol efflux from neurons and lowers amyloid.
    diseases: [Alzheimer's disease]
    evidence:
      - claim: AAV-CYP46A1 reduced amyloid pathology in APP23 mice.
        citation: "@hudry2010"
  - title: Microbial Inflammasome Priming Prevention
    targets: NLRP3, CASP1, IL1B, PYCARD
    mechanism: Blocking gut-derived priming of the NLRP3 inflammasome in microglia reduces IL-1 beta neuroinflammation.
"""


OPEN_ENGINES: list[Any] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(server: LoopbackServer, folder: Path, *, concurrency: int = 4, extra: str = "") -> Settings:
    """Settings that send every call to `server` with `concurrency` call slots, read from a config.yaml written
    in `folder` (`extra`: more YAML appended to it)."""
    config = folder / "config.yaml"
    config.write_text(f"llm:\n  concurrency: {concurrency}\n" + extra, encoding="utf-8")
    return load_settings(config, env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"})


def debater_server() -> LoopbackServer:
    """A started loopback server playing every role, each judge scoring 6 plus its seat number on every dimension
    (a panel of two: 7 and 8); the caller stops it."""
    return LoopbackServer(responder=FakeDebater(score=lambda judge, dim: 6 + judge)).start()


def runner(server: ScriptedServer, url: str, llm: dict[str, Any] | None = None, **debate: Any) -> BatchRunner:
    """A runner on `url` (`llm`: overrides of the fake's LLM settings); its engine is disposed after the test."""
    sessions = open_store(url)
    OPEN_ENGINES.append(sessions.engine)
    return BatchRunner(
        client=server.client(**(llm or {})),
        sessions=sessions,
        settings=DebateSettings(**debate),
        rubric=Rubric(),
        prompts=load_prompts(),
    )


def report_data(url: str, **scope: str | None) -> ReportData:
    """What `load_report` reads from the database at `url` for `scope` (batch_id, hypothesis_id), on a store of
    its own (closed after)."""
    sessions = open_store(url)
    try:
        with sessions() as session:
            return load_report(session, **scope)
    finally:
        sessions.close()


def start_run(base_url: str, db: str, key: str) -> subprocess.Popen[str]:
    """`hypodebate run` on the example batch (1 round, 2 judges, 4 call slots and 4 debates in flight: two such
    processes share its 16 debates) in a subprocess, against `base_url`."""
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": key, "HYPODEBATE_DEBATE__IN_FLIGHT": "4"}
    command = [sys.executable, "-m", "hypodebate", "run", str(EXAMPLE), "--db", db]
    command += ["--rounds", "1", "--judges", "2", "--concurrency", "4"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def query_rows(db: str, sql: str) -> list[Any]:
    """The rows `sql` returns on the database `db`, read on an engine of its own (disposed after)."""
    engine = create_engine(db)
    try:
        with engine.connect() as c:
            return list(c.execute(text(sql)).all())
    finally:
        engine.dispose()
