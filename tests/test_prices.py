"""Honest prices: a model missing from `llm.prices` costs unknown (— in every summary, null in JSON, NULL in the usage
table, one warning naming it), never $0; a dollar budget is refused up front when a model it would pay for has no
price; the embedded model costs 0; cached prompt tokens cost the cached-input rate; config.yaml's prices say when
they were checked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

import agents.client
from agents.settings import EMBEDDED_MODEL, LLMSettings
from hypodebate.app.options import check_dollar_budget
from hypodebate.cli import app
from safeio.errors import ConfigError
from tests.fakes import Reply, ScriptedServer
from tests.helpers import EXAMPLE, REPO, TWO, query_rows
from tests.loopback import LoopbackServer

runner = CliRunner()
MYSTERY = "mystery-judge-1"  # a judge model config.yaml has no price for
PRICED = "  prices:\n    gpt-4o-mini: {prompt: 0.15, cached_prompt: 0.075, completion: 0.60}\n"


def config(tmp_path: Path, judge: str = MYSTERY) -> Path:
    """A config.yaml whose judge is `judge`; gpt-4o-mini (the other roles) has a price."""
    path = tmp_path / "config.yaml"
    path.write_text(f"llm:\n  concurrency: 4\n  models:\n    judge: {judge}\n{PRICED}", encoding="utf-8")
    return path


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-per-process warning about a model without a price, as a new process starts."""
    monkeypatch.setattr(agents.client, "_WARNED", set())


def test_an_unpriced_judge_costs_unknown_everywhere_and_is_named_once(
    server: LoopbackServer, tmp_path: Path, fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    db = f"sqlite:///{tmp_path / 'unpriced.db'}"
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    command = ["run", str(EXAMPLE), "--db", db, "--rounds", "1", "--judges", "2", "--config", str(config(tmp_path))]
    with caplog.at_level(logging.WARNING, logger="agents.client"):
        ran = runner.invoke(app, command, env=env)
    assert ran.exit_code == 0, ran.output
    warned = [r.getMessage() for r in caplog.records if "no price" in r.getMessage()]
    assert warned == [f"{MYSTERY} has no price in llm.prices: its cost is unknown (shown as —); add it to config.yaml"]
    summary = next(line for line in ran.stderr.splitlines() if "16 debated" in line)
    assert " · — · " in summary and "$" not in summary  # unknown, never $0
    # the judges' calls are NULL (unknown) in the usage table; the priced roles keep their cost
    rows = query_rows(db, "select model, count(*), count(cost_usd), min(cost_usd) from usage group by model order by 1")
    assert rows[0][:3] == ("gpt-4o-mini", 64, 64) and rows[0][3] > 0
    assert rows[1] == (MYSTERY, 32, 0, None)
    shown = runner.invoke(app, ["usage", "--db", db, "--by", "model", "--json", str(tmp_path / "u.json")])
    assert shown.exit_code == 0, shown.output
    lines = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if line.startswith("│")}
    assert lines[MYSTERY].rstrip(" │").endswith("—") and lines["total"].rstrip(" │").endswith("—")
    assert lines["gpt-4o-mini"].rstrip(" │").endswith(tuple("0123456789"))
    figures = json.loads((tmp_path / "u.json").read_text())
    assert figures["cost_usd"] is None
    written = tmp_path / "report.md"
    assert runner.invoke(app, ["report", "--db", db, "--format", "md", "-o", str(written)]).exit_code == 0
    assert "estimated cost — (a model has no price in llm.prices)" in written.read_text()
    assert {g["key"]: g["cost_usd"] is None for g in figures["groups"]} == {"gpt-4o-mini": False, MYSTERY: True}


def test_a_tournament_with_an_unpriced_judge_writes_null_for_its_cost(server, tmp_path, fresh_warnings):
    file = tmp_path / "two.yaml"
    file.write_text(TWO)
    out = tmp_path / "t.json"
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    db = f"sqlite:///{tmp_path / 't.db'}"
    command = [
        "tournament",
        "--hypotheses",
        str(file),
        "--db",
        db,
        "--json",
        str(out),
        "--config",
        str(config(tmp_path)),
    ]
    ranked = runner.invoke(app, command, env=env)
    assert ranked.exit_code == 0, ranked.output
    assert json.loads(out.read_text())["run"]["cost_usd"] is None
    assert "tokens (" in ranked.stdout and " · — · " in ranked.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["run", str(EXAMPLE), "--budget-usd", "1"],
        ["eval", str(REPO / "examples/eval/target_disease_outcomes.dev.jsonl"), "--limit", "4", "--budget-usd", "1"],
        ["tournament", "--hypotheses", str(EXAMPLE), "--budget-usd", "1"],
        ["generate", "--goal", "Find a gene therapy that slows Parkinson's disease", "--budget-usd", "1"],
    ],
    ids=["run", "eval", "tournament", "generate"],
)
def test_a_dollar_budget_with_an_unpriced_model_is_refused_before_any_call(server, tmp_path, command):
    db = f"sqlite:///{tmp_path / 'budget.db'}"
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    refused = runner.invoke(app, [*command, "--db", db, "--config", str(config(tmp_path))], env=env)
    assert refused.exit_code == 2, refused.output
    assert f"error: --budget-usd: {MYSTERY} has no price in llm.prices" in refused.stderr
    assert "a dollar budget cannot be kept" in refused.stderr and "Traceback" not in refused.output
    assert server.calls == 0


def test_a_dollar_budget_is_kept_when_every_model_has_a_price_and_the_embedded_model_is_free():
    priced = LLMSettings(provider="openai", prices={"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}})
    check_dollar_budget(priced, 1.0, ("proposer", "critic", "judge", "verifier", "generator", "deduplicator"))
    panel = priced.model_copy(update={"models": priced.models.model_copy(update={"judges": ["gpt-4o-mini", "big"]})})
    check_dollar_budget(panel, 1.0, ("judge",), judges=1)  # the second seat (big) is not asked
    with pytest.raises(ConfigError, match="--budget-usd: big has no price"):
        check_dollar_budget(panel, 1.0, ("judge",))  # a tournament asks the whole panel
    check_dollar_budget(LLMSettings(provider="openai"), None, ("judge",))  # no dollar budget: nothing to keep
    embedded = LLMSettings(provider="embedded")  # no prices at all: it runs here, and costs 0
    check_dollar_budget(embedded, 1.0, ("proposer", "critic", "judge", "generator"))
    assert embedded.price(EMBEDDED_MODEL) is not None
    assert embedded.cost_usd(EMBEDDED_MODEL, 100_000, 20_000, 50_000) == 0.0


class Answer(BaseModel):
    text: str


async def test_cached_prompt_tokens_cost_the_cached_rate() -> None:
    answer = {"text": "an answer"}
    server = ScriptedServer().enqueue(
        Reply(tool_args=answer, prompt_tokens=4000, completion_tokens=500, cached_tokens=2048),
        Reply(tool_args=answer, prompt_tokens=4000, completion_tokens=500, cached_tokens=2048),
        Reply(tool_args=answer, prompt_tokens=100, completion_tokens=10, cached_tokens=5000),  # more than the prompt
    )
    prices = {
        "gpt-4o-mini": {"prompt": 0.15, "cached_prompt": 0.075, "completion": 0.60},
        "no-discount": {"prompt": 1.0, "completion": 2.0},  # cached_prompt not given: the prompt rate
    }
    client = server.client(prices=prices)
    messages = [{"role": "user", "content": "hello"}]
    discounted = await client.structured("critic", messages, Answer)
    full = await client.structured("critic", messages, Answer, model="no-discount")
    clipped = await client.structured("critic", messages, Answer)
    await client.aclose()
    assert discounted.record.cached_prompt_tokens == 2048
    assert discounted.record.cost_usd == pytest.approx(((4000 - 2048) * 0.15 + 2048 * 0.075 + 500 * 0.60) / 1e6)
    assert full.record.cost_usd == pytest.approx((4000 * 1.0 + 500 * 2.0) / 1e6)
    assert clipped.record.cached_prompt_tokens == 100  # never more than the prompt
    assert client.ledger.cached_prompt_tokens == 2048 + 2048 + 100


def test_every_price_in_config_yaml_says_when_it_was_checked_and_its_cached_rate():
    prices = yaml.safe_load((REPO / "config.yaml").read_text())["llm"]["prices"]
    assert prices and all(p.get("checked") and p.get("cached_prompt") is not None for p in prices.values()), prices
