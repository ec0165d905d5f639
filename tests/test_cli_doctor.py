"""`hypodebate doctor` against the embedded model and against an OpenAI-compatible URL."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from hypodebate.cli import app
from tests.conftest import requires_embedded
from tests.fakes import Reply
from tests.loopback import LoopbackServer

runner = CliRunner()


@pytest.fixture
def loopback(judge_server: Any) -> LoopbackServer:
    """A loopback server whose every answer is the doctor's expected one."""
    return judge_server(lambda body: Reply(tool_args={"answer": "mitochondria", "confidence": 5}))


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
    assert loopback.authorizations == {f"Bearer {key}"}


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
