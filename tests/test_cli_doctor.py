"""`hypodebate doctor` against the embedded model and against an OpenAI-compatible URL."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from hypodebate.cli import app
from tests.conftest import requires_embedded
from tests.fakes import Reply, completion_json

runner = CliRunner()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "loopback-model", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.auth = self.headers.get("authorization")  # type: ignore[attr-defined]
        self._send(completion_json(Reply(tool_args={"answer": "mitochondria", "confidence": 5}), body["model"]))

    def _send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_doctor_against_an_openai_compatible_url(loopback, tmp_path):
    key = "sk-test-SENTINEL-doctor"
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{loopback.server_port}/v1", "OPENAI_API_KEY": key}
    result = runner.invoke(app, ["doctor", "--config", str(tmp_path / "none.yaml")], env=env)
    # an explicit missing config is a usage error
    assert result.exit_code == 2 and "config file not found" in result.output
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert "provider    openai" in result.output
    assert f"127.0.0.1:{loopback.server_port}/v1" in result.output
    assert "loopback-model" in result.output
    assert '"answer":"mitochondria"' in result.output
    assert key not in result.output
    assert loopback.auth == f"Bearer {key}"


def test_doctor_reports_an_unreachable_server():
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "HYPODEBATE_LLM__RETRY__MAX_ATTEMPTS": "1"}
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "structured  FAILED" in result.output and "Connection error" in result.output


@requires_embedded
def test_doctor_on_the_embedded_default():
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "provider    embedded" in result.output
    assert "carry no information" in result.output
    assert "structured  ok" in result.output
