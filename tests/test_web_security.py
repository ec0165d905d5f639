"""The web app against a browser on another origin: Host check (DNS rebinding), headers on every answer,
no remote script, bounded query values, a hypothesis with many debates shown a page at a time; and `serve`."""

from __future__ import annotations

import logging.config
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from hypodebate.cli import app as cli_app
from store.engine import open_store
from store.models import DebateRow
from tests.fakes import FakeDebater
from tests.helpers import TWO
from tests.loopback import LoopbackServer
from wiki.app import create_app
from wiki.routes.pages import DEBATES_PER_PAGE
from wiki.settings import WikiSettings

DEBATES = 500
LOCAL = "http://localhost"


@pytest.fixture(scope="module")
def served_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two hypotheses debated once each; then h-2600483e has DEBATES debates (copies of its first)."""
    folder = tmp_path_factory.mktemp("websec")
    (folder / "config.yaml").write_text("{}\n", encoding="utf-8")
    (folder / "two.yaml").write_text(TWO, encoding="utf-8")
    url = f"sqlite:///{folder / 'web.db'}"
    server = LoopbackServer(responder=FakeDebater()).start()
    try:
        args = ["run", str(folder / "two.yaml"), "--db", url, "--rounds", "0", "--judges", "1"]
        result = CliRunner().invoke(
            cli_app, [*args, "--config", str(folder / "config.yaml")], env={"OPENAI_BASE_URL": server.url}
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    sessions = open_store(url)
    try:
        with sessions() as session:
            first = session.scalars(select(DebateRow).where(DebateRow.hypothesis_id == "h-2600483e")).one()
            columns = {c.key: getattr(first, c.key) for c in inspect(DebateRow).mapper.column_attrs}
            for i in range(1, DEBATES):
                started = first.started_at + timedelta(seconds=i)
                session.add(DebateRow(**{**columns, "id": f"d-{i:010x}", "replicate": i, "started_at": started}))
            session.commit()
    finally:
        sessions.close()
    return url


def test_a_request_for_another_host_is_refused(served_url: str, client: TestClient):
    """A page on evil.example that rebinds its name to 127.0.0.1 sends `Host: evil.example`: it gets a 400."""
    assert client.get("/exchange").status_code == 200
    assert client.get("/exchange", headers={"host": "127.0.0.1:8000"}).status_code == 200
    refused = client.get("/api/hypotheses/h-2600483e", headers={"host": "evil.example"})
    assert refused.status_code == 400 and "CYP46A1" not in refused.text
    assert refused.headers["x-content-type-options"] == "nosniff"
    with TestClient(create_app(served_url, WikiSettings(allowed_hosts=("wiki.lab.example",))), base_url=LOCAL) as other:
        assert other.get("/exchange").status_code == 400
        assert other.get("/exchange", headers={"host": "wiki.lab.example"}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/exchange", "/hypothesis/h-2600483e", "/api/hypotheses/h-2600483e", "/openapi.json", "/nowhere"]
)
def test_every_answer_carries_nosniff_and_a_policy_without_scripts(client: TestClient, path: str):
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert client.get("/exchange?offset=-1").headers["x-content-type-options"] == "nosniff"  # a 422 too


def test_no_page_loads_a_remote_script(client: TestClient):
    """Swagger UI and ReDoc load their scripts from a CDN: the app does not serve them; the schema stays."""
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert "/api/hypotheses/{hypothesis_id}" in client.get("/openapi.json").json()["paths"]
    for path in ("/exchange", "/hypothesis/h-2600483e", "/nowhere"):
        assert "<script" not in client.get(path).text


@pytest.mark.parametrize(
    "query",
    [
        "/exchange?offset=-1",
        "/exchange?offset=1000000000000",
        "/exchange?offset=99999999999999999999999999",
        "/exchange?limit=0",
        "/exchange?limit=1000000",
        "/hypothesis/h-2600483e?offset=-1",
        "/hypothesis/h-2600483e?offset=1000000000000",
    ],
)
def test_offset_and_limit_are_bounded(client: TestClient, query: str):
    assert client.get(query).status_code == 422


def test_a_hypothesis_with_many_debates_shows_them_a_page_at_a_time(client: TestClient):
    debate_links = re.compile(r'<h3><a href="/debates/(d-[0-9a-f]+)">')
    first = client.get("/hypothesis/h-2600483e")
    assert first.status_code == 200
    shown = debate_links.findall(first.text)
    assert len(shown) == DEBATES_PER_PAGE < DEBATES
    assert f"Debates 1–{DEBATES_PER_PAGE} of {DEBATES}" in first.text
    assert f'href="/hypothesis/h-2600483e?offset={DEBATES_PER_PAGE}"' in first.text and 'rel="prev"' not in first.text
    second = client.get(f"/hypothesis/h-2600483e?offset={DEBATES_PER_PAGE}")
    assert len(set(debate_links.findall(second.text)) | set(shown)) == 2 * DEBATES_PER_PAGE  # the next 50
    assert 'rel="prev" href="/hypothesis/h-2600483e?offset=0"' in second.text
    last = client.get(f"/hypothesis/h-2600483e?offset={DEBATES - 10}")
    assert len(debate_links.findall(last.text)) == 10 and 'rel="next"' not in last.text
    assert f"Debates {DEBATES - 9}–{DEBATES} of {DEBATES}" in last.text


@pytest.mark.parametrize(
    ("host", "warned", "allowed"),
    [
        ("127.0.0.1", False, ["127.0.0.1", "localhost"]),
        ("localhost", False, ["localhost", "127.0.0.1"]),
        ("0.0.0.0", True, ["wiki.lab.example", "localhost", "127.0.0.1"]),
        ("192.0.2.7", True, ["192.0.2.7", "wiki.lab.example", "localhost", "127.0.0.1"]),
    ],
)
def test_serve_warns_off_loopback_and_answers_only_its_hosts(
    served_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, warned: bool, allowed: list[str]
):
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(app=app, **options))
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    extra = ["--allowed-host", "wiki.lab.example"] if warned else []
    result = CliRunner().invoke(cli_app, ["serve", "--host", host, *extra, "--db", served_url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert served["host"] == host and served["port"] == 8000
    if warned:
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"warning: serving on {host}, not a loopback address")
    else:
        assert result.stderr == ""
    with TestClient(served["app"], base_url=LOCAL) as client:
        for name in allowed:
            assert client.get("/exchange", headers={"host": f"{name}:8000"}).status_code == 200, name
        assert client.get("/exchange", headers={"host": "evil.example"}).status_code == 400


def test_serve_logs_every_line_through_the_terminal_filter(
    served_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(app=app, **options))
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["serve", "--db", served_url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    logging.config.dictConfig(served["log_config"])  # as uvicorn does with it
    hostile = "\x1b]0;pwned\x07\x9b2J \u202eevil postgresql://u:s3cret@db/x"
    try:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application: %s", hostile)
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", hostile, "1.1", 404)
    finally:
        for name in ("uvicorn", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
    captured = capsys.readouterr()
    logged = captured.err + captured.out
    assert "ERROR: Exception in ASGI application: ]0;pwned2J evil postgresql://u:***@db/x" in logged
    assert not any(c in logged for c in "\x1b\x07\x9b\u202e") and "s3cret" not in logged


MALFORMED = [
    "/hypothesis/%00",
    "/debates/%00",
    "/wiki/%00",
    "/api/hypotheses/%00",
    "/api/pages/%00/related",
    "/hypothesis/h-2600483e%00",
    "/debates/d-00%00",
    "/wiki/trem2%00",
    "/api/pages/a%00b/related",
    "/hypothesis/H-2600483E",
    "/api/hypotheses/" + "h" * 5000,
    "/wiki/%C3%A9t%C3%A9",
    "/debates/%FF",
    "/wiki/" + "a" * 201,
]


def _carries_the_headers(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, served_url: str) -> str:
    """The module's SQLite database, and a fresh PostgreSQL one where HYPODEBATE_TEST_POSTGRES_URL names a server."""
    return served_url if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def test_a_malformed_id_or_slug_is_a_404_with_the_headers_on_every_database(any_url: str):
    """PostgreSQL refuses a NUL in a query parameter: `/hypothesis/%00` was a 500 with a traceback in the log."""
    with TestClient(create_app(any_url), base_url=LOCAL, raise_server_exceptions=False) as client:
        for path in MALFORMED:
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code, response.text[:200])
            _carries_the_headers(response)
            assert "Traceback" not in response.text
            if path.startswith("/api/"):
                assert response.json()["detail"].startswith("no ")


def test_a_server_error_carries_the_headers_and_no_traceback(served_url: str, monkeypatch: pytest.MonkeyPatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr("wiki.routes.pages.exchange", broken)
    monkeypatch.setattr("wiki.routes.pages.hypothesis_detail", broken)
    monkeypatch.setattr("wiki.routes.api.hypothesis_detail", broken)
    with TestClient(create_app(served_url), base_url=LOCAL, raise_server_exceptions=False) as client:
        for path in ("/exchange", "/hypothesis/h-2600483e", "/api/hypotheses/h-2600483e"):
            response = client.get(path)
            assert response.status_code == 500, path
            _carries_the_headers(response)
            assert "secret detail" not in response.text and "Traceback" not in response.text
            assert "RuntimeError" not in response.text
        assert client.get("/api/hypotheses/h-2600483e").json() == {"detail": "Internal Server Error"}
