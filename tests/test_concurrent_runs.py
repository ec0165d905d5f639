"""Two `hypodebate run` processes on one batch and one database; a database that cannot be written."""

from __future__ import annotations

from typer.testing import CliRunner

from debates.inputs import load_hypotheses
from hypodebate.cli import app
from tests.helpers import EXAMPLE, query_rows, start_run


def test_two_processes_on_the_same_batch_never_run_a_debate_twice(slow_server, any_db):
    slow_server.wait_for_keys(2)  # no answer until both processes are calling: they really run side by side
    first = start_run(slow_server.url, any_db, "sk-test-first")
    second = start_run(slow_server.url, any_db, "sk-test-second")
    results = [p.communicate(timeout=180) for p in (first, second)]
    expected = len(load_hypotheses([EXAMPLE]))
    for process, (_, err) in zip((first, second), results, strict=True):
        assert process.returncode == 0, err
        assert "error" not in err.lower() and "Traceback" not in err
    # every debate ran once: one completed debate per hypothesis, 6 turns and 2 verdicts each
    completed = "sum(case when status = 'completed' then 1 else 0 end)"
    assert query_rows(any_db, f"select count(*), {completed} from debates") == [(expected, expected)]
    assert query_rows(any_db, "select count(*) from verdicts") == [(2 * expected,)]
    assert query_rows(any_db, "select count(*) from turns") == [(6 * expected,)]
    assert query_rows(any_db, "select count(*) from scores") == [(expected,)]
    assert query_rows(any_db, "select count(*) from debates where status <> 'completed'") == [(0,)]
    # the work was shared: both processes debated, and between them each hypothesis exactly once
    done = [int(err.split(" debated,")[0].split()[-1]) for _, err in results]
    assert sum(done) == expected
    assert all(n > 0 for n in done), done
    assert all(slow_server.calls_by_key[f"Bearer sk-test-{name}"] > 0 for name in ("first", "second"))


def test_read_only_database_gives_one_error_and_loses_nothing(slow_server, tmp_path):
    path = tmp_path / "ro.db"
    env = {"OPENAI_BASE_URL": slow_server.url}
    runner = CliRunner()
    first = runner.invoke(
        app, ["run", str(EXAMPLE), "--db", f"sqlite:///{path}", "--rounds", "1", "--judges", "1"], env=env
    )
    assert first.exit_code == 0, first.output
    before = query_rows(f"sqlite:///{path}", "select id, status from debates order by id")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    again = runner.invoke(app, ["run", str(EXAMPLE), "--db", read_only, "--rounds", "2", "--judges", "1"], env=env)
    assert again.exit_code == 2
    lines = [line for line in again.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "readonly" in lines[0].replace("-", "").lower()
    assert "Traceback" not in again.output
    assert query_rows(f"sqlite:///{path}", "select id, status from debates order by id") == before


def test_full_disk_mid_batch_gives_one_error_and_keeps_committed_debates(slow_server, tmp_path, monkeypatch):
    import store.engine

    path = tmp_path / "full.db"
    db = f"sqlite:///{path}"
    runner = CliRunner()
    first = runner.invoke(
        app,
        ["run", str(EXAMPLE), "--db", db, "--rounds", "1", "--judges", "1"],
        env={"OPENAI_BASE_URL": slow_server.url},
    )
    assert first.exit_code == 0, first.output
    pages = query_rows(db, "pragma page_count")[0][0]
    original = store.engine._sqlite_pragmas

    def full_disk(connection, record):  # the disk fills up a few pages after the current size
        original(connection, record)
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {pages + 3}")
        cursor.close()

    monkeypatch.setattr(store.engine, "_sqlite_pragmas", full_disk)
    again = runner.invoke(
        app,
        ["run", str(EXAMPLE), "--db", db, "--rounds", "2", "--judges", "2"],
        env={"OPENAI_BASE_URL": slow_server.url},
    )
    assert again.exit_code == 2, again.output
    lines = [line for line in again.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "full" in lines[0]
    monkeypatch.setattr(store.engine, "_sqlite_pragmas", original)
    completed = query_rows(db, "select count(*) from debates where status = 'completed'")[0][0]
    assert completed >= len(load_hypotheses([EXAMPLE]))  # the first batch's debates are all still there
    assert query_rows(
        db, "select count(*) from (select debate_id, judge from verdicts group by 1, 2 having count(*) > 1)"
    ) == [(0,)]
