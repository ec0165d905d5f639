"""`hypodebate run` and `show` as a user runs them, against a loopback OpenAI-compatible server."""

from __future__ import annotations

from typer.testing import CliRunner

from hypodebate.cli import app
from tests.helpers import EXAMPLE
from tests.loopback import LoopbackServer

runner = CliRunner()


def test_run_prints_the_ranked_table_then_show_prints_the_transcript(server, tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    key = "sk-test-SENTINEL-cli"
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": key}
    result = runner.invoke(app, ["run", str(EXAMPLE), "--db", db, "--rounds", "1", "--judges", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "ranked on scoreboard s-" in result.stdout and "judges gpt-4o-mini" in result.stdout
    assert "CYP46A1 Overexpression Gene Therapy" in result.stdout
    assert "0.72" in result.stdout  # judges score 7 and 8 everywhere: (6/9 + 7/9) / 2
    assert result.stdout.count("1–16") == 16  # equal scores: the data cannot order them, every rank is 1–16
    assert "16 debated, 0 failed, 0 skipped" in result.stderr
    assert key not in result.output

    again = runner.invoke(app, ["run", str(EXAMPLE), "--db", db, "--rounds", "1", "--judges", "2"], env=env)
    assert again.exit_code == 0
    assert "0 debated, 0 failed, 16 skipped" in again.stderr

    shown = runner.invoke(app, ["show", "h-2600483e", "--db", db], env=env)
    assert shown.exit_code == 0, shown.output
    for expected in [
        "CYP46A1 Overexpression Gene Therapy",
        "0.72 [0.72, 0.72] 1 debate, no variation on this scoreboard · 1 debate(s), 2 verdict(s)",  # 7 and 8 always
        "judge 1: 0.67 · gpt-4o-mini · persona clinician · read chronological",
        "h-2600483e.v1 (current): from input",
        "opening · proposer · round 0",
        "critique · critic · round 1",
        "rebuttal · proposer · round 1",
        "closing · critic · round 1",
        "verdict · judge",
    ]:
        assert expected in shown.stdout

    missing = runner.invoke(app, ["show", "h-00000000", "--db", db], env=env)
    assert missing.exit_code == 2 and "h-00000000: no such hypothesis" in missing.stderr


def test_run_exits_1_and_lists_failed_debates(tmp_path):
    from tests.fakes import Reply

    server = LoopbackServer(responder=lambda body: Reply(content="I will not answer in JSON.")).start()
    try:
        env = {
            "OPENAI_BASE_URL": server.url,
            "HYPODEBATE_LLM__MAX_REQUESTS_PER_TURN": "1",
        }
        result = runner.invoke(
            app, ["run", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'f.db'}", "--rounds", "1"], env=env
        )
    finally:
        server.stop()
    assert result.exit_code == 1
    assert "0 debated, 16 failed" in result.stderr
    assert "failed h-2600483e" in result.stderr and "no valid Opening" in result.stderr
