"""`hypodebate tournament` against scripted pairwise judges behind the real openai client (a loopback server).

The debaters are FakeDebater; the pairwise judge is scripted per test: one that always prefers whichever
hypothesis is shown first, and one of known skill (each hypothesis has a latent quality; the better one wins).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from debates.inputs import load_hypotheses
from hypodebate.api import run_batch, run_tournament
from hypodebate.cli import app
from scoring.ratings import kendall_tau
from store.engine import open_store
from store.models import ComparisonRow, RatingRow, TournamentRow, UsageRow
from tests.chaos_support import variants
from tests.fakes import FakeDebater, Reply, synthesize
from tests.helpers import settings_for
from tests.loopback import LoopbackServer

Prefer = Callable[[str, str, int], str]  # (first title, second title, judge) -> "A" | "B" | "tie"


class PairJudge:
    """Plays the debaters like FakeDebater; answers a pairwise request with `prefer`, counting what it was asked."""

    def __init__(self, prefer: Prefer):
        self.prefer = prefer
        self.debater = FakeDebater()
        self.asked: Counter[tuple[str, str, int]] = Counter()
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = "\n".join(str(m.get("content") or "") for m in body["messages"])
        seat = re.search(r"You are JUDGE (\d+) of the tournament", text)
        if seat is None:
            return self.debater(body)
        first, second = re.findall(r"^Title: (.*)$", text, re.M)[:2]
        judge = int(seat.group(1))
        with self._lock:
            self.asked[(first, second, judge)] += 1
            self.prompts.append(text)
        choice = self.prefer(first, second, judge)

        def pick(path: str, options: list[Any]) -> Any:
            return choice if path == "overall" or path.startswith("dimensions.") else options[0]

        schema = body["tools"][0]["function"]["parameters"]
        args = synthesize(schema, pick=pick, text=f"Comparing {first} with {second}")
        return Reply(tool_args=args, prompt_tokens=120, completion_tokens=40)


def first_shown(first: str, second: str, judge: int) -> str:
    return "A"


def skilled(latent: dict[str, float]) -> Prefer:
    """Prefers the hypothesis of higher latent quality, whichever order it is shown in."""

    def prefer(first: str, second: str, judge: int) -> str:
        return "A" if latent[first] > latent[second] else "B"

    return prefer


def write_pool(path: Path, size: int) -> dict[str, str]:
    """`size` distinct hypotheses as a YAML file; returns id -> title."""
    records = [h.model_dump(mode="json", exclude={"id"}, exclude_none=True) for h in variants(size)]
    path.write_text(yaml.safe_dump({"hypotheses": records}, sort_keys=False), encoding="utf-8")
    return {h.hypothesis_id: h.title for h in load_hypotheses([path])}


def debated_pool(tmp_path: Path, server: LoopbackServer, size: int) -> tuple[str, str, dict[str, str]]:
    """A batch of `size` debated hypotheses: (database URL, batch id, id -> title)."""
    path = tmp_path / "pool.yaml"
    titles = write_pool(path, size)
    db = f"sqlite:///{tmp_path / 't.db'}"
    batch = run_batch(path, settings=settings_for(server, tmp_path, concurrency=8), db=db, rounds=1, judges=1)
    assert batch.count("completed") == size
    return db, batch.batch_id, titles


def test_a_judge_that_prefers_the_first_shown_ranks_nothing(tmp_path, judge_server):
    server = judge_server(PairJudge(first_shown))
    db, batch, _titles = debated_pool(tmp_path, server, 5)
    result = run_tournament(batch=batch, settings=settings_for(server, tmp_path, concurrency=8), db=db)
    assert result.matches == 10 and result.comparisons == 20  # every pair, both orders
    assert result.order_inconsistency == 1.0
    assert result.first_share is not None and result.first_share.value == 1.0 and result.first_share.lo > 0.8
    assert all(r.wins == r.losses == 4 and r.ties == 0 for r in result.ratings)  # judged orders
    assert {round(r.rating, 6) for r in result.ratings} == {1500.0}
    # as wide as with no comparisons at all: the prior's ±1076, about the mean of 5 (×sqrt(4/5))
    assert all(abs((r.hi - r.lo) / 2 - 1076.1 * math.sqrt(4 / 5)) < 5 for r in result.ratings)
    assert {r.ranks.text() for r in result.ratings} == {"1–5"}
    data = result.as_json()
    assert {(r["rank"], r["rank_lo"], r["rank_hi"]) for r in data["ratings"]} == {(1, 1, 5)}  # ties share a rank
    assert data["first_position_share"]["value"] == 1.0 and data["first_position_share"]["lo"] > 0.8
    assert data["order_inconsistency"] == 1.0 and "position_bias" not in data
    assert result.board is not None and result.board.protocol_hash == result.protocol.hash


def test_a_judge_of_known_skill_recovers_the_true_order(tmp_path, judge_server):
    judge = PairJudge(lambda a, b, k: "A")  # replaced below, once the titles are known
    server = judge_server(judge)
    db, batch, titles = debated_pool(tmp_path, server, 8)
    latent = {title: float(i) for i, title in enumerate(sorted(titles.values()))}
    judge.prefer = skilled(latent)
    result = run_tournament(batch=batch, settings=settings_for(server, tmp_path, concurrency=8), db=db)
    truth = sorted(titles, key=lambda i: -latent[titles[i]])
    assert [r.id for r in result.ratings] == truth
    assert result.order_inconsistency == 0.0
    assert result.first_share is not None and result.first_share.value == pytest.approx(0.5)
    best, worst = result.ratings[0], result.ratings[-1]
    assert (best.wins, best.losses) == (14, 0) and (worst.wins, worst.losses) == (0, 14)
    assert best.lo < best.rating < best.hi and best.lo > worst.hi  # the extremes are told apart
    assert best.ranks.rank == 1 and best.ranks.hi < worst.ranks.lo  # and so are their ranks
    data = result.as_json()
    assert [r["hypothesis_id"] for r in data["ratings"]] == truth
    assert set(data["ratings"][0]) >= {"hypothesis_id", "rating", "lo", "hi", "rank", "rank_lo", "rank_hi", "wins"}
    assert data["ratings"][0]["rank"] == 1 and data["ratings"][-1]["rank_hi"] == 8
    assert data["order_inconsistency"] == 0.0 and data["comparisons"] == 56
    share = data["first_position_share"]
    assert share["value"] == 0.5 and share["lo"] < 0.5 < share["hi"]


def test_beyond_twelve_the_schedule_is_adaptive_and_still_finds_the_order(tmp_path, judge_server):
    judge = PairJudge(first_shown)
    server = judge_server(judge)
    path = tmp_path / "pool.yaml"
    titles = write_pool(path, 24)
    latent = {title: float(i) for i, title in enumerate(sorted(titles.values()))}
    judge.prefer = skilled(latent)
    result = run_tournament(
        hypotheses=path, settings=settings_for(server, tmp_path, concurrency=8), db=f"sqlite:///{tmp_path / 'a.db'}"
    )
    all_pairs = 24 * 23 // 2
    assert result.matches < all_pairs  # not a round robin
    assert max(judge.asked.values()) == 1  # no pair asked twice in one order
    truth = sorted(titles, key=lambda i: -latent[titles[i]])
    tau = kendall_tau([r.id for r in result.ratings], truth)
    assert tau is not None and tau >= 0.9


def test_a_repeated_tournament_asks_nothing_and_ratings_do_not_depend_on_landing_order(tmp_path, judge_server):
    judge = PairJudge(first_shown)
    server = judge_server(judge)
    path = tmp_path / "pool.yaml"
    titles = write_pool(path, 6)
    latent = {title: math.sin(i) for i, title in enumerate(sorted(titles.values()))}
    judge.prefer = skilled(latent)
    settings = settings_for(server, tmp_path, concurrency=8)
    fast = run_tournament(hypotheses=path, settings=settings, db=f"sqlite:///{tmp_path / 'a.db'}", concurrency=8)
    asked = server.calls
    again = run_tournament(hypotheses=path, settings=settings, db=f"sqlite:///{tmp_path / 'a.db'}", concurrency=8)
    assert server.calls == asked and again.asked == 0 and again.calls == 0
    assert [(r.id, r.rating, r.lo, r.hi) for r in again.ratings] == [(r.id, r.rating, r.lo, r.hi) for r in fast.ratings]
    # one at a time, in another order of landing: the same ratings
    slow = run_tournament(hypotheses=path, settings=settings, db=f"sqlite:///{tmp_path / 'b.db'}", concurrency=1)
    assert [(r.id, round(r.rating, 9), round(r.lo, 9)) for r in slow.ratings] == [
        (r.id, round(r.rating, 9), round(r.lo, 9)) for r in fast.ratings
    ]


def test_the_judge_sees_each_debate_digest_never_a_score(tmp_path, judge_server):
    judge = PairJudge(first_shown)
    server = judge_server(judge)
    db, batch, _ = debated_pool(tmp_path, server, 3)
    result = run_tournament(batch=batch, settings=settings_for(server, tmp_path, concurrency=8), db=db)
    assert len(judge.prompts) == 6
    for prompt in judge.prompts:
        assert prompt.count("The critic's strongest unresolved point") + prompt.count("The critic conceded") == 2
        assert "Judge 1:" in prompt  # the panel's rationales
        assert "composite" not in prompt
        for score in result.rubric_scores.values():
            assert f"{score:.2f}" not in prompt


def test_comparisons_are_stored_with_model_prompt_hash_order_and_usage(tmp_path, judge_server):
    server = judge_server(PairJudge(first_shown))
    db, batch, titles = debated_pool(tmp_path, server, 3)
    result = run_tournament(batch=batch, settings=settings_for(server, tmp_path, concurrency=8), db=db, judges=2)
    sessions = open_store(db)
    with sessions() as session:
        rows = list(session.scalars(select(ComparisonRow)))
        assert len(rows) == 3 * 2 * 2  # pairs x orders x judges
        assert {(r.first_id, r.second_id, r.judge) for r in rows} == {
            (a, b, k) for a in titles for b in titles if a != b for k in (1, 2)
        }
        assert {r.model for r in rows} == {"gpt-4o-mini"} and {r.preferred for r in rows} == {"first"}
        assert {r.prompt_hash for r in rows} == {result.protocol.prompt_hash}
        assert {r.protocol_hash for r in rows} == {result.protocol.hash}
        paid = session.scalar(select(func.count()).select_from(UsageRow).where(UsageRow.role == "pairwise"))
        assert paid == 12
        tournament = session.scalars(select(TournamentRow)).one()
        assert tournament.pool == f"batch:{batch}" and tournament.matches == 6 and tournament.order_inconsistency == 1.0
        assert tournament.first_share == 1.0 and 0.5 < tournament.first_share_lo < 1 == tournament.first_share_hi
        assert {(r.rank_lo, r.rank_hi) for r in session.scalars(select(RatingRow))} == {(1, 3)}
        assert session.scalar(select(func.count()).select_from(RatingRow)) == 3
    sessions.close()


def _stored(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("select count(*) from comparisons").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_mid_tournament_then_rerun_asks_nothing_twice_and_loses_nothing(tmp_path, judge_server):
    judge = PairJudge(first_shown)
    server = judge_server(judge, latency=0.05)
    path = tmp_path / "pool.yaml"
    titles = write_pool(path, 8)
    latent = {title: float(i) for i, title in enumerate(sorted(titles.values()))}
    judge.prefer = skilled(latent)
    db_path = tmp_path / "k.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HYPODEBATE_"))}
    env |= {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "HYPODEBATE_CONFIG": str(tmp_path / "c.yaml")}
    (tmp_path / "c.yaml").write_text("{}\n", encoding="utf-8")
    command = [sys.executable, "-m", "hypodebate", "tournament", "--hypotheses", str(path)]
    command += ["--db", f"sqlite:///{db_path}", "--concurrency", "4"]
    for _ in range(2):  # killed twice, at different points
        before = _stored(db_path)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _stored(db_path) < before + 10 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 0 < _stored(db_path) < 56
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert _stored(db_path) == 56  # every pair of 8, both orders: none lost
    # a comparison is asked again only when a kill caught it in flight (at most 4 in flight, 2 kills)
    repeated = [key for key, n in judge.asked.items() if n > 1]
    assert len(repeated) <= 8 and max(judge.asked.values()) <= 3
    assert len(judge.asked) == 56
    calls = server.calls
    rerun = subprocess.run([*command, "--json", str(tmp_path / "t.json")], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0 and server.calls == calls  # nothing asked again
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    truth = sorted(titles, key=lambda i: -latent[titles[i]])
    assert [r["hypothesis_id"] for r in data["ratings"]] == truth and data["comparisons"] == 56


def test_cli_prints_the_ratings_table_and_names_its_scoreboard(tmp_path, judge_server):
    server = judge_server(PairJudge(first_shown))
    db, batch, titles = debated_pool(tmp_path, server, 3)
    env = {
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-test",
        "HYPODEBATE_CONFIG": str(tmp_path / "config.yaml"),
    }
    out = CliRunner().invoke(
        app, ["tournament", "--batch", batch, "--db", db, "--json", str(tmp_path / "t.json")], env=env
    )
    assert out.exit_code == 0, out.output
    assert "rating [95%]" in out.output and "order inconsistency 100% of matches" in out.output
    assert "position bias: first shown won 100% [" in out.output and "1–3" in out.output
    assert all(h in out.output for h in titles)
    assert "Kendall tau" in out.output
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert data["scoreboard"]["protocol_hash"] and data["scoreboard"]["judge_models"] == ["gpt-4o-mini"]
    assert data["order_inconsistency"] == 1.0 and len(data["ratings"]) == 3
    assert data["first_position_share"]["value"] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one pool"),
        (["--page", "no-such-page"], "no page 'no-such-page'"),
        (["--batch", "b-00000000"], "no batch 'b-00000000'"),
    ],
)
def test_a_bad_pool_is_one_clear_line_and_exit_2(tmp_path, args, message):
    out = CliRunner().invoke(app, ["tournament", *args, "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert out.exit_code == 2 and message in out.output


def test_a_failed_comparison_is_asked_afresh_when_the_tournament_runs_again(tmp_path, judge_server):
    """A deterministic server (same seed, same answer) that gave a useless answer to every draw of the first run:
    re-running must draw new seeds, or the comparisons could never land."""
    judge = PairJudge(first_shown)
    bad_seeds: set[int] = set()
    failing = {"on": True}

    def responder(body: dict[str, Any]) -> Reply:
        if "of the tournament" not in str(body["messages"][-1].get("content")):
            return judge(body)
        if failing["on"] or body.get("seed") in bad_seeds:
            bad_seeds.add(body.get("seed"))
            schema = body["tools"][0]["function"]["parameters"]
            args = synthesize(schema, pick=lambda path, options: options[0], text="x")
            args["reasoning"] = "A."  # too short to be a judgement
            return Reply(tool_args=args, prompt_tokens=100, completion_tokens=5)
        return judge(body)

    server = judge_server(responder)
    path = tmp_path / "pool.yaml"
    write_pool(path, 2)
    settings, db = settings_for(server, tmp_path, concurrency=8), f"sqlite:///{tmp_path / 'f.db'}"
    first = run_tournament(hypotheses=path, settings=settings, db=db)
    assert first.asked == 0 and len(first.failures) == 2 and not first.ok
    failing["on"] = False
    second = run_tournament(hypotheses=path, settings=settings, db=db)
    assert second.asked == 2 and second.ok and second.comparisons == 2
