"""Re-running a batch: what is done already is neither asked, nor audited again, nor printed in full."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hypodebate.cli import app
from tests.helpers import query_rows
from tests.loopback import LoopbackServer

runner = CliRunner()
ARGS = ["--rounds", "0", "--judges", "1"]
AUDITS = "select hypothesis_id, content_hash, position, status, updated_at from citation_audits order by 1, 3"
BATCHES = "select debates_completed, debates_failed, debates_skipped, status from batches order by started_at"


def batch_file(path: Path, n: int, *, changed: int | None = None) -> Path:
    """`n` hypotheses (ids h-00000000, h-00000001, ...), each citing two PMIDs in its evidence; hypothesis `changed`
    states its first claim otherwise."""
    hypotheses = [
        {
            "id": f"h-{i:08x}",
            "title": f"Hypothesis {i}: lysosomal clearance of tau",
            "targets": "TREM2, APOE",
            "mechanism": f"Microglial TREM2 signalling, variant {i}, raises lysosomal clearance of tau seeds.",
            "diseases": ["Alzheimer's disease"],
            "evidence": [
                {
                    "claim": "TREM2 loss slowed tau clearance." if i != changed else "TREM2 loss sped tau spread.",
                    "citation": f"PMID:{1000 + 2 * i}",
                },
                {"claim": "APOE4 carriers cleared less tau.", "citation": f"PMID:{1001 + 2 * i}"},
            ],
        }
        for i in range(n)
    ]
    path.write_text(yaml.safe_dump({"hypotheses": hypotheses}, sort_keys=False), encoding="utf-8")
    return path


def shown_ids(stdout: str) -> set[str]:
    return set(re.findall(r"\bh-[0-9a-f]{8}\b", stdout))


def test_a_finished_batch_run_again_asks_and_audits_nothing_and_prints_its_top_rows(
    server: LoopbackServer, tmp_path: Path, any_db: str
):
    db = any_db
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    path = batch_file(tmp_path / "batch.yaml", 30)
    first = runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env)
    assert first.exit_code == 0, first.output
    assert "30 debated, 0 failed, 0 skipped" in first.stderr
    assert "60 citations against 0 bibliography entries" in first.stderr
    assert "30 hypotheses audited now" in first.stderr
    assert len(shown_ids(first.stdout)) == 25  # the top 25 of 30
    assert "… and 5 more of 30 ranked, not shown: `hypodebate report --batch b-" in first.stdout
    assert "`hypodebate export -o scores.jsonl`" in first.stdout and "`--top 0` prints them all" in first.stdout
    calls, audits = server.calls, query_rows(db, AUDITS)
    assert len(audits) == 60

    again = runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env)
    assert again.exit_code == 0, again.output
    assert server.calls == calls  # nothing asked
    assert "0 debated, 0 failed, 30 skipped · 0 calls" in again.stderr
    assert "60 citations against 0 bibliography entries: 0 resolved · 0 miscited · 60 unresolved" in again.stderr
    assert "0 hypotheses audited now, the others' audits were up to date" in again.stderr
    assert query_rows(db, AUDITS) == audits  # the same rows, stamped when they were first audited
    assert query_rows(db, BATCHES) == [(30, 0, 0, "completed"), (0, 0, 30, "completed")]
    assert shown_ids(again.stdout) == shown_ids(first.stdout)
    # its debates belong to the first batch: the report of every debate has them
    assert "… and 5 more of 30 ranked, not shown: `hypodebate report` and" in again.stdout

    every = runner.invoke(app, ["run", str(path), "--db", db, *ARGS, "--top", "0"], env=env)
    assert every.exit_code == 0, every.output
    assert len(shown_ids(every.stdout)) == 30 and "more of 30 ranked" not in every.stdout
    assert server.calls == calls and query_rows(db, AUDITS) == audits


def test_changing_one_hypothesis_evidence_audits_exactly_that_one_again(
    server: LoopbackServer, tmp_path: Path, any_db: str
):
    db = any_db
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    first = runner.invoke(app, ["run", str(batch_file(tmp_path / "a.yaml", 6)), "--db", db, *ARGS], env=env)
    assert first.exit_code == 0, first.output
    before = {(h, p): row for h, _, p, *row in query_rows(db, AUDITS)}

    changed = batch_file(tmp_path / "b.yaml", 6, changed=3)
    again = runner.invoke(app, ["run", str(changed), "--db", db, *ARGS], env=env)
    assert again.exit_code == 0, again.output
    assert "1 debated, 0 failed, 5 skipped" in again.stderr  # its new version is debated
    assert "1 hypotheses audited now" in again.stderr
    after = {(h, p): row for h, _, p, *row in query_rows(db, AUDITS)}
    assert after.keys() == before.keys()
    assert {h for (h, p), row in after.items() if row != before[(h, p)]} == {"h-00000003"}
    assert query_rows(db, "select id, version from hypotheses where version > 1") == [("h-00000003", 2)]


def test_a_bibliography_import_is_audited_by_the_import_and_the_rerun_audits_nothing(server: LoopbackServer, tmp_path):
    db = f"sqlite:///{tmp_path / 'bib.db'}"
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    path = batch_file(tmp_path / "batch.yaml", 4)
    assert runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env).exit_code == 0
    bib = tmp_path / "one.bib"
    bib.write_text("@article{lee2019,\n  title = {TREM2 and tau},\n  year = {2019},\n  pmid = {1000}\n}\n")
    imported = runner.invoke(app, ["bib", "import", str(bib), "--db", db], env=env)
    assert imported.exit_code == 0, imported.output

    again = runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env)
    assert again.exit_code == 0, again.output
    assert "8 citations against 1 bibliography entries: 1 resolved" in again.stderr
    assert "0 hypotheses audited now" in again.stderr


def test_a_debate_that_ended_after_its_hypothesis_audit_has_it_audited_again(
    server: LoopbackServer, tmp_path: Path, any_db: str
):
    db = any_db
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    path = batch_file(tmp_path / "batch.yaml", 4)
    assert runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env).exit_code == 0
    before = query_rows(db, AUDITS)
    engine = create_engine(db)  # as if a worker finished h-00000002's debate after the batch's audit read its turns
    with engine.begin() as c:
        c.execute(text("update debates set finished_at = '2999-01-01 00:00:00' where hypothesis_id = 'h-00000002'"))
    engine.dispose()

    again = runner.invoke(app, ["run", str(path), "--db", db, *ARGS], env=env)
    assert again.exit_code == 0, again.output
    assert "1 hypotheses audited now" in again.stderr
    renewed = {row[0] for row in set(query_rows(db, AUDITS)) - set(before)}
    assert renewed == {"h-00000002"}


def test_a_tournament_prints_its_top_ratings_and_says_where_the_rest_are(tmp_path: Path, judge_server):
    from tests.test_tournament import PairJudge, first_shown, write_pool

    server = judge_server(PairJudge(first_shown))
    titles = write_pool(tmp_path / "pool.yaml", 30)
    (tmp_path / "c.yaml").write_text("{}\n", encoding="utf-8")
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "HYPODEBATE_CONFIG": str(tmp_path / "c.yaml")}
    args = ["tournament", "--hypotheses", str(tmp_path / "pool.yaml"), "--matches", "20"]
    args += ["--db", f"sqlite:///{tmp_path / 't.db'}", "--json", str(tmp_path / "t.json")]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert len(shown_ids(result.stdout)) == 25
    assert "… and 5 more of 30 rated, not shown: `--json FILE` writes every rating" in result.stdout
    assert len(yaml.safe_load((tmp_path / "t.json").read_text(encoding="utf-8"))["ratings"]) == len(titles) == 30

    every = runner.invoke(app, [*args, "--top", "0"], env=env)
    assert every.exit_code == 0, every.output
    assert len(shown_ids(every.stdout)) == 30 and "more of 30 rated" not in every.stdout
