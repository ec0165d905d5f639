"""The API key reaches the provider and nothing else: not the database, reports, exports, pages, web pages,
logs or terminal output."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hypodebate.cli import app
from tests.helpers import EXAMPLE, debater_server
from wiki.app import create_app

SENTINEL = "sk-test-SENTINEL-9f8e7d"
PAGE = """\
---
slug: cyp46a1
title: CYP46A1
entity_type: gene
entities: [GENE:CYP46A1, GENE:NLRP3]
---
# CYP46A1

Cholesterol 24-hydroxylase.
"""


def test_the_api_key_leaks_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    server = debater_server()
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    db = f"sqlite:///{tmp_path / 'secret.db'}"
    page = tmp_path / "cyp46a1.md"
    page.write_text(PAGE, encoding="utf-8")
    env = {"OPENAI_API_KEY": SENTINEL, "OPENAI_BASE_URL": server.url}
    common = ["--db", db, "--config", str(config)]
    commands = [
        ["run", str(EXAMPLE), "--rounds", "1", "--judges", "2", *common],
        ["show", "h-2600483e", *common],
        ["report", "-o", str(tmp_path / "report.html"), *common],
        ["report", "--format", "md", "-o", str(tmp_path / "report.md"), *common],
        ["export", "-o", str(tmp_path / "export.jsonl"), *common],
        ["export", "--format", "csv", "-o", str(tmp_path / "export.csv"), *common],
        ["pages", "import", str(page), "--root", str(tmp_path), *common],
        ["pages", "attach", "--root", str(tmp_path), *common],
        ["doctor", "--config", str(config)],
    ]
    outputs: list[str] = []
    try:
        for args in commands:
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 0 or args[0] == "doctor", (args, result.output)
            outputs += [result.stdout, result.stderr, repr(result.exception)]
    finally:
        server.stop()
    assert f"Bearer {SENTINEL}" in server.authorizations  # the key was sent, where it belongs

    with TestClient(create_app(db), base_url="http://localhost") as client:
        for path in ["/exchange", "/wiki/cyp46a1", "/hypothesis/h-2600483e", "/api/hypotheses/h-2600483e"]:
            response = client.get(path)
            assert response.status_code == 200, path
            outputs += [response.text, str(response.headers)]
        debate = client.get("/api/hypotheses/h-2600483e").json()["debates"][0]["url"]
        outputs.append(client.get(debate).text)

    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"secret.db", "report.html", "report.md", "export.jsonl", "export.csv", "cyp46a1.md"} <= names
    assert "Related Hypotheses" in page.read_text()
    for path in files:
        data = path.read_bytes()
        for form in (SENTINEL.encode(), SENTINEL.encode("utf-16-le"), SENTINEL[3:].encode()):
            assert form not in data, path
    assert caplog.records, "nothing was logged at DEBUG: the check would prove nothing"
    for text in [*outputs, caplog.text, *(str(r.__dict__) for r in caplog.records)]:
        assert SENTINEL not in text and SENTINEL[3:] not in text
