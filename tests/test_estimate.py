"""`--dry-run` as a user runs it: the estimate asks the model nothing and stores nothing, counts exactly the work
the command then does (debates, comparisons, claim checks, candidates; none for work already stored), and comes
within 25% of the calls and prompt tokens the run then spends, with no history and with the first batch's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.dry_run import Rendered
from bench.estimate_accuracy import SECOND_BATCH
from debates.estimate import Figure, debate_plan, debate_spend
from hypodebate.cli import app
from tests.conftest import requires_embedded
from tests.fakes import FakeDebater
from tests.generators import ScriptedGenerator, numbered
from tests.helpers import EXAMPLE, TWO, query_rows
from tests.loopback import LoopbackServer
from tests.test_evidence import AuditedDebater, biodsa_pair, import_bib

runner = CliRunner()
TARGET = 0.25
FIGURES = ("calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens")
COUNTED = ("batches", "debates", "hypotheses", "usage", "comparisons", "claim_checks", "generation_runs")


def env_of(server: LoopbackServer, **more: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", **more}


def dry(args: list[str], env: dict[str, str], path: Path) -> dict[str, Any]:
    """`hypodebate ... --dry-run --json path`: the estimate as written."""
    result = runner.invoke(app, [*args, "--dry-run", "--json", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "nothing was asked, nothing was stored" in result.stdout
    return json.loads(path.read_text(encoding="utf-8"))


def rows(db: str) -> dict[str, int]:
    return {table: query_rows(db, f"SELECT count(*) FROM {table}")[0][0] for table in COUNTED}


def spent(db: str, after: int = 0) -> dict[str, int]:
    """Calls, prompt and completion tokens of the usage rows after row `after`."""
    sql = f"SELECT count(*), sum(prompt_tokens), sum(completion_tokens) FROM usage WHERE id > {after}"
    calls, prompt, completion = query_rows(db, sql)[0]
    return {"calls": calls, "prompt_tokens": prompt or 0, "completion_tokens": completion or 0}


def value(figure: Any) -> float:
    return figure["value"] if isinstance(figure, dict) else figure


def within(estimate: dict[str, Any], actual: dict[str, int], *names: str) -> None:
    for name in names:
        guess, real = value(estimate[name]), actual[name]
        assert abs(guess - real) <= TARGET * real, f"{name}: estimated {guess:,.0f}, spent {real:,}"


def test_a_batch_spends_within_a_quarter_of_its_estimate_without_history_and_with_it(judge_server, tmp_path):
    server = judge_server(FakeDebater(fill=True))  # answers at their caps, tokens = characters / 4
    db = f"sqlite:///{tmp_path / 'e.db'}"
    env, args = env_of(server), ["--rounds", "1", "--judges", "2", "--db", db]

    first = dry(["run", str(EXAMPLE), *args], env, tmp_path / "first.json")
    assert server.calls == 0 and rows(db) == dict.fromkeys(COUNTED, 0)  # asked nothing, stored nothing
    assert first["debates"] == 16 and first["stored"]["debates"] == 0
    assert first["history"] == ["claim checks: none to ask", "debates: no history: rendered prompts and the caps"]
    assert runner.invoke(app, ["run", str(EXAMPLE), *args], env=env).exit_code == 0
    within(first, spent(db), "calls", "prompt_tokens")

    second_file = tmp_path / "second.yaml"
    second_file.write_text(SECOND_BATCH, encoding="utf-8")
    before = query_rows(db, "SELECT max(id) FROM usage")[0][0]
    second = dry(["run", str(second_file), *args], env, tmp_path / "second.json")
    assert second["debates"] == 5
    assert second["history"][1].startswith("debates: protocol ") and "16 past debates" in second["history"][1]
    assert runner.invoke(app, ["run", str(second_file), *args], env=env).exit_code == 0
    within(second, spent(db, before), "calls", "prompt_tokens", "completion_tokens")
    for role in ("proposer", "critic", "judge"):
        sql = f"SELECT count(*), sum(prompt_tokens) FROM usage WHERE id > {before} AND role = '{role}'"
        calls, prompt = query_rows(db, sql)[0]
        within(second["by_role"][role], {"calls": calls, "prompt_tokens": prompt}, "calls", "prompt_tokens")


def test_a_finished_batch_estimates_nothing_and_the_figures_have_their_shape(server, tmp_path):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    env, args = env_of(server), ["run", str(EXAMPLE), "--rounds", "1", "--judges", "2", "--db", db]
    estimate = dry(args, env, tmp_path / "before.json")
    assert set(estimate) >= {"debates", "calls", *FIGURES, "cost_usd", "wall_s", "by_role", "by_model", "stored"}
    for figure in [estimate[k] for k in (*FIGURES, "cost_usd", "wall_s")] + [
        role[k] for role in estimate["by_role"].values() for k in FIGURES
    ]:
        assert isinstance(figure, int | float) or (set(figure) == {"value", "lo", "hi"})
        if isinstance(figure, dict):
            assert figure["lo"] <= figure["value"] <= figure["hi"]
    assert set(estimate["by_role"]) == {"proposer", "critic", "judge"}
    assert value(estimate["calls"]) == 16 * 6  # opening, critique, rebuttal, closing, 2 verdicts; no history
    assert isinstance(value(estimate["cost_usd"]), float) and value(estimate["cost_usd"]) > 0  # gpt-4o-mini priced

    assert runner.invoke(app, args, env=env).exit_code == 0
    calls = server.calls
    again = dry(args, env, tmp_path / "after.json")
    assert again["debates"] == 0 and again["stored"]["debates"] == 16
    assert again["calls"] == 0 and again["prompt_tokens"] == 0 and again["cost_usd"] == 0
    assert server.calls == calls

    refused = runner.invoke(app, [*args, "--json", str(tmp_path / "x.json")], env=env)
    assert refused.exit_code == 2 and "give it with --dry-run" in refused.stderr


def test_a_model_without_a_price_costs_unknown_in_the_estimate(server, tmp_path):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    env = env_of(server, HYPODEBATE_LLM__MODELS__JUDGE="mystery-judge")
    args = ["run", str(EXAMPLE), "--rounds", "1", "--judges", "2", "--db", db]
    estimate = dry(args, env, tmp_path / "e.json")
    assert estimate["cost_usd"] is None and estimate["by_role"]["judge"]["cost_usd"] is None
    assert estimate["by_model"]["mystery-judge"]["cost_usd"] is None
    assert value(estimate["by_model"]["gpt-4o-mini"]["cost_usd"]) > 0
    printed = runner.invoke(app, [*args, "--dry-run"], env=env).stdout
    assert "cost —: mystery-judge has no price in llm.prices" in printed
    # what the priced model's cost rests on: its rates, and when they were checked (config.yaml)
    assert "price: gpt-4o-mini $0.15 prompt · $0.075 cached · $0.6 completion per million tokens" in printed
    assert "(checked 2025-06-01)" in printed
    assert any(line.startswith("│ judge") and line.rstrip("│ ").endswith("—") for line in printed.splitlines())


@pytest.mark.parametrize(
    ("hypotheses", "extra", "asked"), [(4, ["--judges", "2"], 4 * 3 * 2), (16, ["--matches", "10"], 20)]
)
def test_a_tournament_asks_the_comparisons_its_estimate_counts(server, tmp_path, hypotheses, extra, asked):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    pool = tmp_path / "pool.yaml"
    if hypotheses == 4:
        pool.write_text(TWO + SECOND_BATCH.split("hypotheses:\n", 1)[1].split("  - title: GLP-1")[0], encoding="utf-8")
    else:
        pool.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    args = ["tournament", "--hypotheses", str(pool), *extra, "--db", db]
    estimate = dry(args, env_of(server), tmp_path / "e.json")
    assert estimate["comparisons"] == asked and value(estimate["calls"]) == asked
    assert server.calls == 0 and rows(db)["hypotheses"] == 0  # a file's pool is stored by the real run only
    result = runner.invoke(app, args, env=env_of(server))
    assert result.exit_code == 0, result.output
    assert server.calls == asked == rows(db)["comparisons"]
    again = dry(args, env_of(server), tmp_path / "again.json")
    assert again["comparisons"] == 0 and again["stored"]["comparisons"] == asked


def test_claim_checks_are_counted_before_a_batch_and_by_evidence(judge_server, tmp_path):
    debater = AuditedDebater()
    server = judge_server(debater)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    import_bib(tmp_path, db, server)
    pair, env = biodsa_pair(tmp_path), env_of(server)
    args = ["run", str(pair), "--rounds", "0", "--judges", "1", "--db", db]
    estimate = dry(args, env, tmp_path / "run.json")
    assert (estimate["claim_checks"], estimate["debates"]) == (2, 2)
    assert value(estimate["by_role"]["verifier"]["calls"]) == 2 and debater.verifier_calls == 0
    assert runner.invoke(app, args, env=env).exit_code == 0
    assert debater.verifier_calls == 2

    evidence = dry(["evidence", "--db", db], env, tmp_path / "evidence.json")
    assert evidence["claim_checks"] == 0 and evidence["stored"]["claim_checks"] == 2
    assert evidence["history"] == ["claim checks: none to ask"]

    config = tmp_path / "unverified.yaml"
    config.write_text("evidence:\n  verify_before_debate: false\n", encoding="utf-8")
    fresh = f"sqlite:///{tmp_path / 'f.db'}"
    import_bib(tmp_path, fresh, server)
    debated = runner.invoke(app, [*args[:-1], fresh, "--config", str(config)], env=env)
    assert debated.exit_code == 0 and debater.verifier_calls == 2
    to_check = dry(["evidence", "--db", fresh], env, tmp_path / "to_check.json")
    assert to_check["claim_checks"] == 2 and debater.verifier_calls == 2
    assert runner.invoke(app, ["evidence", "--db", fresh], env=env).exit_code == 0
    assert debater.verifier_calls == 4


def test_an_eval_asks_the_debates_and_comparisons_its_estimate_counts(server, tmp_path):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    rows_file = EXAMPLE.parent / "eval" / "target_disease_outcomes.dev.jsonl"
    args = ["eval", str(rows_file), "--limit", "4", "--protocol", "single", "--protocol", "pairwise"]
    args += ["--judges", "1", "--db", db]
    estimate = dry(args, env_of(server), tmp_path / "e.json")
    assert server.calls == 0 and rows(db)["hypotheses"] == 0
    assert set(estimate["parts"]) == {"single", "pairwise"}
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "eval.html")], env=env_of(server))
    assert result.exit_code == 0, result.output
    assert estimate["debates"] == rows(db)["debates"] and estimate["comparisons"] == rows(db)["comparisons"]
    assert value(estimate["calls"]) == server.calls  # a judge call per debate, one per comparison; no re-asks
    again = dry(args, env_of(server), tmp_path / "again.json")
    assert again["debates"] == 0 and again["comparisons"] == 0


def test_generate_counts_its_candidates_and_a_finished_run_estimates_nothing(judge_server, tmp_path):
    server = judge_server(ScriptedGenerator(fallback=numbered))
    db = f"sqlite:///{tmp_path / 'e.db'}"
    args = ["generate", "--goal", "restore microglial lipid handling in Alzheimer's disease", "--n", "3"]
    args += ["--rounds", "1", "--judges", "1", "--db", db]
    estimate = dry(args, env_of(server), tmp_path / "e.json")
    assert server.calls == 0 and rows(db)["generation_runs"] == 0
    assert estimate["generations"] == 1 and estimate["candidates"] == 3
    assert (
        estimate["debates"] == {"value": 3, "lo": 0, "hi": 3} and value(estimate["by_role"]["generator"]["calls"]) == 4
    )
    assert runner.invoke(app, args, env=env_of(server)).exit_code == 0
    asked = query_rows(db, "SELECT count(*) FROM usage WHERE role = 'generator' AND step = 'generate'")[0][0]
    assert asked == 3
    again = dry(args, env_of(server), tmp_path / "again.json")
    assert again["generations"] == 0 and again["candidates"] == 0 and again["calls"] == 0


@requires_embedded
def test_the_embedded_estimate_counts_with_its_tokenizer_and_never_loads_the_model(tmp_path):
    from agents.embedded import _app

    db = f"sqlite:///{tmp_path / 'e.db'}"
    loaded = _app.cache_info()  # models an earlier test of this process may have loaded
    estimate = dry(["run", str(EXAMPLE), "--rounds", "1", "--judges", "2", "--db", db], {}, tmp_path / "e.json")
    assert list(estimate["by_model"]) == ["SmolLM2-135M-Instruct"] and estimate["cost_usd"] == 0
    assert estimate["concurrency"] == 1 and value(estimate["calls"]) == 96
    after = _app.cache_info()  # the model itself was neither loaded nor even looked up: its vocabulary only
    assert (after.currsize, after.hits, after.misses) == (loaded.currsize, loaded.hits, loaded.misses)
    printed = runner.invoke(app, ["run", str(EXAMPLE), "--db", db, "--dry-run"], env={}).stdout
    assert "price: SmolLM2-135M-Instruct runs in this process: $0" in printed


def test_history_of_early_stops_shortens_the_next_estimate(judge_server, tmp_path):
    server = judge_server(FakeDebater(concede_from_round=1))  # the critic concedes at once: every debate stops early
    db = f"sqlite:///{tmp_path / 'e.db'}"
    env, args = env_of(server), ["--rounds", "2", "--judges", "2", "--db", db]
    first = dry(["run", str(EXAMPLE), *args], env, tmp_path / "first.json")
    assert first["calls"] == {"value": 16 * 8, "lo": 16 * 4, "hi": round(16 * 8 * 1.1)}  # every round, or a stop
    assert runner.invoke(app, ["run", str(EXAMPLE), *args], env=env).exit_code == 0
    assert spent(db)["calls"] == 16 * 4  # opening, critique, 2 verdicts

    second_file = tmp_path / "second.yaml"
    second_file.write_text(SECOND_BATCH, encoding="utf-8")
    second = dry(["run", str(second_file), *args], env, tmp_path / "second.json")
    assert value(second["calls"]) == 5 * 4 and "rebuttal" not in json.dumps(second)


def test_an_interrupted_debate_is_estimated_for_the_turns_it_still_needs():
    plan = debate_plan(1, 2, early_stop=True, design="symmetric-closing", stop_rate=None)
    shown = {turn: Rendered("m", (100, 100, 100), (10, 20, 30)) for turn in plan.instances()}
    whole = debate_spend(plan, shown, {}, lambda prompt, completion: Figure.exact(1.0))
    resumed = debate_spend(
        plan, shown, {}, lambda prompt, completion: Figure.exact(1.0), done=[("opening", 0, 0), ("critique", 1, 0)]
    )
    assert [whole[(role, "m")].calls.value for role in ("proposer", "critic", "judge")] == [2, 2, 2]
    assert [resumed[(role, "m")].calls.value for role in ("proposer", "critic", "judge")] == [1, 1, 2]
    assert resumed[("judge", "m")].prompt.as_json() == {"value": 200, "lo": 200, "hi": 220}  # a re-ask in ten, at most
