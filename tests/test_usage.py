"""`hypodebate usage`: the spending every process wrote to one database, by role, model, command and day, for a batch
or since a day, as a table and as JSON; cached prompt tokens measured against a server that reports them, priced at
the cached rate; and the generation loop's own calls (answers, duplicate checks, meta-reviews) in the usage table."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text
from typer.testing import CliRunner

from hypodebate.app.generate import GenerateOptions, generate
from hypodebate.app.options import DebateOptions
from hypodebate.app.workspace import Workspace
from hypodebate.cli import app
from store.engine import open_store
from store.models import UsageRow
from tests.fakes import FakeDebater
from tests.generators import NLRP3, SIRT1, SIRT1_REWORDED, ScriptedGenerator, numbered
from tests.helpers import EXAMPLE, query_rows, settings_for, start_run
from tests.loopback import LoopbackServer, PrefixCache

runner = CliRunner()


def usage(db: str, tmp_path: Path, *options: str) -> tuple[str, dict[str, Any]]:
    """`hypodebate usage` on `db`: the table it prints, and the JSON it writes."""
    out = tmp_path / f"usage-{len(list(tmp_path.glob('usage-*.json')))}.json"
    result = runner.invoke(app, ["usage", "--db", db, "--json", str(out), *options])
    assert result.exit_code == 0, result.output
    return result.stdout, json.loads(out.read_text())


def groups(figures: dict[str, Any]) -> dict[str | None, int]:
    """Calls per key."""
    return {g["key"]: g["calls"] for g in figures["groups"]}


def calls_said(stderr: str, before: str) -> int:
    """The calls a command's summary line says it made ("... · 96 calls · ...")."""
    return int(re.search(rf"{before}.*?(\d+) calls", stderr).group(1))


def test_two_processes_and_a_tournament_on_one_database_by_every_key(slow_server, tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    slow_server.wait_for_keys(2)  # both processes are calling before any answer comes
    processes = [start_run(slow_server.url, db, f"sk-test-{name}") for name in ("first", "second")]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    # each process its own batch (the same file: they shared the debates) and its own calls
    said = {re.search(r"Batch (b-\w+)", out).group(1): calls_said(err, "skipped ·") for out, err in outputs}
    assert len(said) == 2
    run_calls = sum(said.values())
    batch = next(iter(said))
    env = {"OPENAI_BASE_URL": slow_server.url, "OPENAI_API_KEY": "sk-test-third"}
    ranked = runner.invoke(app, ["tournament", "--batch", batch, "--matches", "6", "--db", db], env=env)
    assert ranked.exit_code == 0, ranked.output
    tournament_calls = calls_said(ranked.stdout, "this run:")
    assert tournament_calls > 0

    table, by_command = usage(db, tmp_path, "--by", "command")
    assert groups(by_command) == {"run": run_calls, "tournament": tournament_calls}
    assert by_command["calls"] == run_calls + tournament_calls
    # every model has a price: the cost is known, and the groups add up to the total
    assert by_command["cost_usd"] == pytest.approx(sum(g["cost_usd"] for g in by_command["groups"]), abs=1e-6)
    assert set(by_command) >= {"calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "cost_usd"}
    assert re.search(rf"│ run\s+│\s+{run_calls} │", table) and re.search(r"│ total\s+│", table)

    _, by_role = usage(db, tmp_path, "--by", "role")
    roles = groups(by_role)
    assert set(roles) == {"proposer", "critic", "judge", "pairwise"} and roles["pairwise"] == tournament_calls
    assert roles["proposer"] == roles["critic"]  # an opening and a rebuttal, a critique and a closing per debate
    _, by_model = usage(db, tmp_path, "--by", "model")
    assert groups(by_model) == {"gpt-4o-mini": run_calls + tournament_calls}
    _, by_day = usage(db, tmp_path, "--by", "day")
    assert groups(by_day) == {datetime.now(UTC).date().isoformat(): run_calls + tournament_calls}

    # one batch: the calls of the process that ran it; not the other's, nor the tournament's
    for batch_id, calls in said.items():
        _, of_batch = usage(db, tmp_path, "--batch", batch_id, "--by", "command")
        assert groups(of_batch) == {"run": calls} and of_batch["scope"] == f"batch {batch_id}"
    today, tomorrow = datetime.now(UTC).date(), datetime.now(UTC).date() + timedelta(days=1)
    _, since_today = usage(db, tmp_path, "--since", today.isoformat())
    assert since_today["calls"] == run_calls + tournament_calls
    table, since_tomorrow = usage(db, tmp_path, "--since", tomorrow.isoformat())
    assert since_tomorrow["calls"] == 0 and since_tomorrow["groups"] == [] and "no calls stored" in table


def test_calls_stored_before_the_ledger_kept_commands_are_labelled_so(db, tmp_path):
    open_store(db).close()  # the schema, as a database that was in use before
    engine = create_engine(db)
    old = {"batch_id": None, "debate_id": None, "role": "judge", "model": "gpt-4o", "prompt_tokens": 1000}
    old |= {"completion_tokens": 100, "latency_s": 1.0, "attempts": 1, "cost_usd": 0.0035, "ok": True}
    old |= {"command": None, "step": None}  # what the migration gave rows written before it
    with engine.begin() as c:
        c.execute(insert(UsageRow), [old, old | {"command": "run", "step": "verdict", "cost_usd": 0.0045}])
    engine.dispose()
    table, figures = usage(db, tmp_path, "--by", "command")
    assert groups(figures) == {"run": 1, None: 1}
    assert figures["cost_usd"] == pytest.approx(0.008)
    assert "(not recorded)" in table and "calls stored before hypodebate recorded the command" in table


def test_bad_since_and_unknown_batch_are_one_clear_error(db):
    for options, expected in [
        (["--since", "31/01/2026"], "--since '31/01/2026': expected a day as YYYY-MM-DD, e.g. 2026-01-31"),
        (["--since", "2026-02-30"], "--since '2026-02-30': expected a day as YYYY-MM-DD"),
        (["--batch", "b-00000000"], "--batch: no batch 'b-00000000' in the database"),
        (["--batch", "b-00000000", "--since", "2026-01-01"], "give --batch or --since, not both"),
    ]:
        result = runner.invoke(app, ["usage", "--db", db, *options])
        assert result.exit_code == 2 and expected in result.stderr, result.output
        assert "Traceback" not in result.output


def test_a_batch_against_a_caching_server_records_cached_tokens_priced_at_the_cached_rate(judge_server, tmp_path):
    """The fake reports cached tokens as OpenAI does (the prefix shared with an earlier prompt, in blocks of 128,
    none below 1,024): a debate's later prompts open with its earlier ones, so they are cached; gpt-4o-mini's cached
    prompt tokens cost $0.075 per million against $0.15 (config.yaml)."""
    server = LoopbackServer(responder=FakeDebater(fill=True), cache=PrefixCache()).start()
    try:
        db = f"sqlite:///{tmp_path / 'cached.db'}"
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
        ran = runner.invoke(app, ["run", str(EXAMPLE), "--db", db, "--rounds", "1", "--judges", "2"], env=env)
    finally:
        server.stop()
    assert ran.exit_code == 0, ran.output
    rows = query_rows(db, "select prompt_tokens, cached_prompt_tokens, completion_tokens, cost_usd from usage")
    prompt, cached = sum(r[0] for r in rows), sum(r[1] for r in rows)
    assert cached > 0 and all(c % 128 == 0 and (c == 0 or c >= 1024) for _, c, _, _ in rows)
    for p, c, completion, cost in rows:  # each call's price: uncached prompt, cached prompt, completion
        assert cost == pytest.approx(((p - c) * 0.15 + c * 0.075 + completion * 0.60) / 1e6)
    share = f"{100 * cached / prompt:.0f}%"
    assert f"({share} of prompt tokens cached)" in ran.stderr
    table, figures = usage(db, tmp_path, "--by", "role")
    assert (figures["prompt_tokens"], figures["cached_prompt_tokens"]) == (prompt, cached)
    assert figures["cost_usd"] == pytest.approx(sum(r[3] for r in rows), abs=1e-6)
    total = next(line for line in table.splitlines() if "total" in line)
    assert f"{cached:,}" in total and share in total
    for fmt in ("md", "html"):  # the report's overview says it too
        written = tmp_path / f"report.{fmt}"
        reported = runner.invoke(app, ["report", "--db", db, "--format", fmt, "-o", str(written)])
        assert reported.exit_code == 0, reported.output
        assert f"prompt, {cached:,} cached ({share})" in written.read_text()


SLUG = "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration"


def test_every_call_of_a_generation_run_lands_in_the_usage_table(judge_server, tmp_path, db):
    from tests.test_generate import _import_page

    generator = ScriptedGenerator(answers=[SIRT1, SIRT1_REWORDED, NLRP3], fallback=numbered)
    ws = Workspace(settings_for(judge_server(generator), tmp_path, concurrency=1), db)
    _import_page(ws, tmp_path)
    options = GenerateOptions(page=SLUG, n=3, generations=2, top=2, debate=DebateOptions(rounds=1, judges=2))
    result = ws.run(lambda ws: generate(ws, options))
    # the usage table holds every call the command made: the loop's own, its debates' and its tournaments'
    assert query_rows(db, "select count(*) from usage") == [(result.calls,)]
    assert query_rows(db, "select distinct command from usage") == [("generate",)]
    steps = dict(
        query_rows(db, "select step, count(*) from usage where role in ('generator', 'deduplicator') group by step")
    )
    assert steps["generate"] + steps["evolve"] == generator.asked["generator"]
    assert steps["duplicate"] == generator.asked["duplicate"] > 0
    assert steps["meta_review"] == generator.asked["meta_review"] > 0
    # the candidates keep their answers' cost columns, cached prompt tokens among them
    assert query_rows(db, "select count(*) from candidates where cached_prompt_tokens is null") == [(0,)]


def test_days_are_utc_days_on_sqlite_and_postgresql(any_db, tmp_path):
    """One query groups by day on both databases; a PostgreSQL session in another time zone still sees UTC days."""
    open_store(any_db).close()
    engine = create_engine(any_db)
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:  # new connections to this throwaway database speak New York time
            c.execute(text(f"ALTER DATABASE \"{engine.url.database}\" SET timezone TO 'America/New_York'"))
            c.commit()
        engine.dispose()
    call = {"batch_id": None, "debate_id": None, "role": "judge", "model": "gpt-4o-mini", "prompt_tokens": 100}
    call |= {"completion_tokens": 10, "latency_s": 1.0, "attempts": 1, "cost_usd": 1e-5, "ok": True}
    late, early = datetime(2026, 1, 31, 23, 30, tzinfo=UTC), datetime(2026, 2, 1, 0, 30, tzinfo=UTC)
    with engine.begin() as c:
        c.execute(insert(UsageRow), [call | {"created_at": late}, call | {"created_at": early, "cost_usd": None}])
    engine.dispose()
    table, by_day = usage(any_db, tmp_path, "--by", "day")
    assert groups(by_day) == {"2026-01-31": 1, "2026-02-01": 1}
    # an unknown cost (a model without a price) makes its day's and the total's cost unknown: null, shown as —
    costs = {g["key"]: g["cost_usd"] for g in by_day["groups"]}
    assert costs == {"2026-01-31": pytest.approx(1e-5), "2026-02-01": None} and by_day["cost_usd"] is None
    total = next(line for line in table.splitlines() if "total" in line)
    assert total.rstrip(" │").endswith("—") and "unknown cost" in table
    _, since = usage(any_db, tmp_path, "--since", "2026-02-01")
    assert since["calls"] == 1 and since["scope"] == "since 2026-02-01 (UTC)"


@pytest.mark.postgres
def test_the_calls_of_queued_debates_are_booked_to_the_workers(postgres_url, tmp_path):
    from tests.test_workers import _one_worker, _run, _statuses, _wait

    with _one_worker(postgres_url, tmp_path) as env:
        args = ["run", str(EXAMPLE), "--db", postgres_url, "--queue", "--rounds", "0", "--judges", "1"]
        queued = _run(env, *args, timeout=180)
        assert queued.returncode == 0, queued.stderr
        _wait(lambda: _statuses(postgres_url) == {"completed": 16}, 120, "the worker to debate the batch")
    stored = query_rows(postgres_url, "select count(*) from usage")[0][0]
    _, by_command = usage(postgres_url, tmp_path, "--by", "command")
    assert groups(by_command) == {"worker": stored} and stored >= 32  # an opening and a verdict per debate at least
    batch = query_rows(postgres_url, "select id from batches")[0][0]
    _, of_batch = usage(postgres_url, tmp_path, "--batch", batch)
    assert of_batch["calls"] == stored


def test_an_eval_books_its_calls_to_eval_and_reports_their_cached_share(server, tmp_path, db):
    rows = str(Path(__file__).parents[1] / "examples/eval/target_disease_outcomes.dev.jsonl")
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    out = tmp_path / "eval.json"
    args = ["eval", rows, "--protocol", "single", "--limit", "6", "--judges", "1", "--db", db, "--json", str(out)]
    scored = runner.invoke(app, [*args, "-o", str(tmp_path / "eval.html")], env=env)
    assert scored.exit_code == 0, scored.output
    arm = json.loads(out.read_text())["protocols"]["single"]
    _, by_command = usage(db, tmp_path, "--by", "command")
    assert groups(by_command) == {"eval": arm["calls"]} and arm["calls"] > 0
    assert arm["cached_prompt_tokens"] == by_command["cached_prompt_tokens"] == 0  # this fake reports none
    assert arm["cost_usd"] == pytest.approx(by_command["cost_usd"])
    assert re.search(r"│ single .*│\s+0% │ \$0\.\d{4} │", scored.stdout)  # the cached share beside the cost
