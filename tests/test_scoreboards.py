"""Scores as measurements: scoreboards, versions, independent draws, a diverse panel, fair turns, races.

Every debate here runs through the real openai client against a scripted server (tests/fakes.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx2
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update
from typer.testing import CliRunner

from agents.turns import Closing, Critique, Opening, Rebuttal, max_chars
from debates.inputs import InputError, load_hypotheses, stored_versions
from hypodebate.cli import app
from store import rankings, repository
from store.claims import debate_locks
from store.engine import MIGRATIONS, make_engine, open_store
from store.models import (
    BatchRow,
    DebateRow,
    HypothesisRow,
    HypothesisScoreRow,
    HypothesisVersionRow,
    ScoreboardRow,
    ScoreRow,
    TurnRow,
    VerdictRow,
    utcnow,
)
from tests.fakes import FakeDebater, Reply, ScriptedServer, completion_json
from tests.helpers import TWO, runner
from wiki.app import create_app
from wiki.sync import import_pages

cli = CliRunner()


# -- independent draws -------------------------------------------------------------------------------


async def test_replicates_differ_on_a_deterministic_server(two, db):
    debater = FakeDebater(by_seed=True)  # same seed, same answer: like llama.cpp or vLLM with a seed
    server = ScriptedServer(default=debater)
    result = await runner(server, db, rounds=1, judges=2, replicates=3).run(two[:1], source="x")
    assert [o.status for o in result.outcomes] == ["completed"] * 3
    seeds = [r["seed"] for r in server.requests]
    assert len(set(seeds)) == len(seeds)  # every call of every replicate drew its own seed
    with runner(server, db).sessions() as s:
        transcripts = {
            d.id: tuple(t.text for t in d.turns if t.step != "verdict") for d in s.scalars(select(DebateRow))
        }
    assert len(transcripts) == 3 and len(set(transcripts.values())) == 3
    # the same debate asked again draws the same seeds: a replicate is reproducible, not a copy
    again = ScriptedServer(default=FakeDebater(by_seed=True))
    await runner(
        again, f"sqlite:///{Path(db.removeprefix('sqlite:///')).with_name('b.db')}", rounds=1, judges=2, replicates=3
    ).run(two[:1], source="x")
    assert sorted(r["seed"] for r in again.requests) == sorted(seeds)


async def test_a_reask_draws_a_new_seed(two, db):
    debater = FakeDebater()
    echo = "Raise only points not already answered in the debate. If no substantive weakness remains, set concede"
    server = ScriptedServer(default=debater).enqueue(
        debater, Reply(tool_args={"points": [{"point": echo, "severity": "minor"}], "concede": False})
    )
    await runner(server, db, rounds=1, judges=1).run(two[:1], source="x")
    critique = [
        r["seed"]
        for r in server.requests
        if "CRITIC in a structured scientific debate (round" in r["messages"][1]["content"]
    ]
    assert len(critique) == 2 and critique[0] != critique[1]  # the rejected turn is not drawn again


async def test_a_retried_failure_draws_afresh(two, db):
    empty = Reply(tool_args={"claim": "", "mechanism": "", "evidence": ["x"], "prediction": ""})
    server = ScriptedServer(default=empty)
    first = await runner(server, db, {"max_requests_per_turn": 1}, rounds=0, judges=1).run(two[:1], source="x")
    assert first.outcomes[0].status == "failed"
    failed_seeds = {r["seed"] for r in server.requests}
    server.requests.clear()
    server.default = FakeDebater(by_seed=True)
    second = await runner(server, db, {"max_requests_per_turn": 1}, rounds=0, judges=1).run(two[:1], source="x")
    assert second.outcomes[0].status == "completed"
    assert not failed_seeds & {r["seed"] for r in server.requests}  # attempt 2 is not attempt 1 again


# -- a diverse panel ---------------------------------------------------------------------------------


async def test_a_panel_with_per_judge_models_records_each(two, db):
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 4 + judge))
    models = {"judges": ["judge-a", "judge-b", "judge-c"]}
    result = await runner(server, db, llm={"models": models}, rounds=1, judges=3).run(two[:1], source="x")
    assert result.outcomes[0].status == "completed"
    judged = {r["model"] for r in server.requests if "You are JUDGE" in r["messages"][1]["content"]}
    assert judged == {"judge-a", "judge-b", "judge-c"}
    systems = {
        r["messages"][1]["content"].rsplit("You are JUDGE", 1)[1].split(":")[1].split(".")[0]  # the persona
        for r in server.requests
        if "You are JUDGE" in r["messages"][1]["content"]
    }
    assert len(systems) == 3  # three personas
    with runner(server, db).sessions() as s:
        verdicts = s.scalars(select(VerdictRow).order_by(VerdictRow.judge)).all()
        assert [(v.model, v.persona, v.material_order) for v in verdicts] == [
            ("judge-a", "clinician", "chronological"),
            ("judge-b", "geneticist", "critic-first"),
            ("judge-c", "medicinal_chemist", "proposer-first"),
        ]
        board = s.scalars(select(ScoreboardRow)).one()
        assert board.judge_models == ["judge-a", "judge-b", "judge-c"] and not board.demo


async def test_orders_of_material_differ_per_judge(two, db):
    server = ScriptedServer(default=FakeDebater())
    await runner(server, db, rounds=1, judges=3).run(two[:1], source="x")
    prompts = {}
    for r in server.requests:
        text = r["messages"][1]["content"]
        if "You are JUDGE" in text:
            judge = int(text.split("You are JUDGE ")[1].split(" ")[0])
            prompts[judge] = [line.split('"')[1] for line in text.splitlines() if line.startswith("<turn role=")]
    assert prompts[1] == ["proposer", "critic", "proposer", "critic"]  # chronological
    assert prompts[2] == ["critic", "critic", "proposer", "proposer"]  # critic's turns first
    assert prompts[3] == ["proposer", "proposer", "critic", "critic"]


def test_the_served_model_names_the_scoreboard_not_the_alias(two, db):
    def served(body):
        reply = FakeDebater()(body)
        return httpx2.Response(200, json=completion_json(reply, "gpt-4o-mini-2024-07-18"))

    server = ScriptedServer(default=served)
    result = asyncio.run(runner(server, db, rounds=0, judges=1).run(two[:1], source="x"))
    assert result.board.judge_models == ["gpt-4o-mini-2024-07-18"]


# -- fair debate -------------------------------------------------------------------------------------


def test_both_sides_get_the_same_budget_and_the_judge_reasons_first(two, db):
    assert max_chars(Opening) == max_chars(Closing)  # the first and the last word
    assert max_chars(Critique) == max_chars(Rebuttal)  # each round's attack and answer
    server = ScriptedServer(default=FakeDebater())
    asyncio.run(runner(server, db, rounds=2, judges=1, early_stop=False).run(two[:1], source="x"))
    with runner(server, db).sessions() as s:
        turns = s.scalars(select(TurnRow).where(TurnRow.step != "verdict").order_by(TurnRow.seq)).all()
    roles = [t.role for t in turns]
    assert roles.count("proposer") == roles.count("critic") == 3 and roles[-1] == "critic"
    judge = next(r for r in server.requests if "You are JUDGE" in r["messages"][1]["content"])
    props = list(judge["tools"][0]["function"]["parameters"]["properties"])
    assert props.index("reasoning") < props.index("scores")
    prompt = judge["messages"][1]["content"]
    assert "at most 600 characters" in prompt and "at most 120 characters each" in prompt
    assert "(resolved)" not in prompt and "not resolved" not in prompt.split("<turn")[1]  # no self-labels
    assert "What you score: hypothesis h-2600483e.v1" in prompt


async def test_an_empty_rationale_is_rejected_and_reasked(two, db):
    debater = FakeDebater()
    calls = {"n": 0}

    def judge_once_empty(body):
        reply = debater(body)
        if "You are JUDGE" in body["messages"][1]["content"] and calls["n"] == 0:
            calls["n"] += 1
            reply.tool_args["rationales"]["novelty"] = "   "
        return reply

    server = ScriptedServer(default=judge_once_empty)
    result = await runner(server, db, rounds=0, judges=1).run(two[:1], source="x")
    assert result.outcomes[0].status == "completed"
    reask = [r for r in server.requests if "rejected as invalid" in r["messages"][-1]["content"]]
    assert reask and "rationales.novelty" in reask[0]["messages"][-1]["content"]


# -- scoreboards -------------------------------------------------------------------------------------


async def _two_boards(two, db):
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 8))
    first = await runner(server, db, llm={"models": {"judge": "judge-strong"}}, rounds=1, judges=2).run(two, source="a")
    server.default = FakeDebater(score=lambda judge, dim: 3)
    second = await runner(server, db, llm={"models": {"judge": "judge-weak"}}, rounds=1, judges=2).run(two, source="b")
    return first, second


async def test_two_judge_models_are_two_scoreboards_that_never_mix(two, db, tmp_path):
    first, second = await _two_boards(two, db)
    assert first.board.id != second.board.id
    assert [r.score for r in first.ranking] == [pytest.approx(7 / 9)] * 2
    assert [r.score for r in second.ranking] == [pytest.approx(2 / 9)] * 2  # not (7/9 + 2/9) / 2
    assert [b.judge_models for b in second.boards] == [["judge-strong"], ["judge-weak"]] or [
        b.judge_models for b in second.boards
    ] == [["judge-weak"], ["judge-strong"]]
    page = tmp_path / "page.md"
    page.write_text("---\nslug: cyp\ntitle: CYP46A1\nentities: [GENE:CYP46A1, GENE:NLRP3]\n---\n# CYP46A1\n")
    sessions = open_store(db)
    try:
        import_pages(sessions, [page], root=tmp_path)
    finally:
        sessions.close()
    with TestClient(create_app(db), base_url="http://localhost") as client:
        api = client.get("/api/pages/cyp/related").json()
        assert len({round(h["score"], 6) for h in api["hypotheses"]}) == 1  # one scoreboard's scores only
        assert len(api["other_scoreboards"]) == 1
        for board in (first.board.id, second.board.id):
            chosen = client.get(f"/api/pages/cyp/related?scoreboard={board}").json()
            assert chosen["scoreboard"]["id"] == board
            expected = 7 / 9 if board == first.board.id else 2 / 9
            assert [h["score"] for h in chosen["hypotheses"]] == [pytest.approx(expected)] * 2
        html = client.get("/wiki/cyp").text
        assert html.count('<section class="related"') == 2
        assert "judge: judge-strong" in html and "judge: judge-weak" in html
        h = client.get("/api/hypotheses/h-2600483e").json()
        assert sorted(s["mean"] for s in h["scores"]) == [pytest.approx(2 / 9), pytest.approx(7 / 9)]
        exchange = client.get(f"/exchange?scoreboard={second.board.id}").text
        assert "judge: judge-weak" in exchange and "0.22" in exchange and "0.78" not in exchange
        assert client.get("/exchange?scoreboard=s-00000000").status_code == 404
    board = second.board.id
    attached = cli.invoke(app, ["pages", "attach", "--root", str(tmp_path), "--db", db, "--scoreboard", board])
    assert attached.exit_code == 0, attached.output
    block = page.read_text()
    assert "judge: judge-weak" in block and "0.22" in block and "0.78" not in block


async def test_a_page_block_defaults_to_the_scoreboard_with_most_debates(two, db, tmp_path):
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 8))
    await runner(server, db, llm={"models": {"judge": "judge-a"}}, rounds=1, judges=1, replicates=2).run(
        two, source="a"
    )
    await runner(server, db, llm={"models": {"judge": "judge-b"}}, rounds=1, judges=1).run(two, source="b")
    page = tmp_path / "page.md"
    page.write_text("---\nslug: cyp\ntitle: CYP46A1\nentities: [GENE:CYP46A1]\n---\n# CYP46A1\n")
    assert cli.invoke(app, ["pages", "import", str(page), "--root", str(tmp_path), "--db", db]).exit_code == 0
    assert cli.invoke(app, ["pages", "attach", "--root", str(tmp_path), "--db", db]).exit_code == 0
    text = page.read_text()
    assert "judge: judge-a" in text and "2 debates, no variation on this scoreboard" in text
    # more debates on judge-b's scoreboard: the page's default follows (nothing stale is cached)
    await runner(server, db, llm={"models": {"judge": "judge-b"}}, rounds=1, judges=1, replicates=3).run(
        two, source="c"
    )
    assert cli.invoke(app, ["pages", "attach", "--root", str(tmp_path), "--db", db]).exit_code == 0
    text = page.read_text()
    assert "judge: judge-b" in text and "3 debates, no variation on this scoreboard" in text and "judge-a" not in text


async def test_demo_scores_are_marked_on_the_block(two, db, tmp_path):
    server = ScriptedServer(default=FakeDebater())
    await runner(server, db, rounds=0, judges=1).run(two[:1], source="x")
    with runner(server, db).sessions() as s:
        s.execute(update(ScoreboardRow).values(demo=True))
        s.commit()
    page = tmp_path / "page.md"
    page.write_text("---\nslug: cyp\ntitle: CYP46A1\nentities: [GENE:CYP46A1]\n---\n# CYP46A1\n")
    assert cli.invoke(app, ["pages", "import", str(page), "--root", str(tmp_path), "--db", db]).exit_code == 0
    assert cli.invoke(app, ["pages", "attach", "--root", str(tmp_path), "--db", db]).exit_code == 0
    text = page.read_text()
    assert "demo model: these scores carry no information" in text
    assert next(line for line in text.splitlines() if line.startswith("- [")).endswith(" · demo")


# -- versions ----------------------------------------------------------------------------------------


async def test_new_content_is_a_new_version_and_old_debates_stop_counting(two, db, tmp_path):
    server = ScriptedServer(default=FakeDebater(score=8))
    first = await runner(server, db, rounds=0, judges=1).run(two[:1], source="x")  # no rebuttal: no revision
    assert [r.debates for r in first.ranking] == [1]
    edited = tmp_path / "edited.yaml"
    edited.write_text(TWO.replace("lowers amyloid.", "lowers amyloid and tau."))
    changed = load_hypotheses([edited])[:1]
    server.default = FakeDebater(score=3)
    second = await runner(server, db, rounds=0, judges=1).run(changed, source="y")
    (ranked,) = second.ranking
    assert (ranked.version, ranked.debates, ranked.score) == (2, 1, pytest.approx(2 / 9))  # v1's 8s do not count
    with runner(server, db).sessions() as s:
        versions = repository.versions_of(s, "h-2600483e")
        assert [(v.id, v.origin, v.parent_id) for v in versions] == [
            ("h-2600483e.v1", "input", None),
            ("h-2600483e.v2", "input", "h-2600483e.v1"),
        ]
        scores = rankings.hypothesis_scores(s, "h-2600483e")
        assert [(row.current, row.mean) for row, _ in scores] == [
            (True, pytest.approx(2 / 9)),
            (False, pytest.approx(7 / 9)),
        ]
    # going back to the first content makes v1 current again, with its own debate
    third = await runner(server, db, rounds=0, judges=1).run(two[:1], source="z")
    assert [(r.version, r.score) for r in third.ranking] == [(1, pytest.approx(7 / 9))]
    shown = await asyncio.to_thread(cli.invoke, app, ["show", "h-2600483e", "--db", db])
    assert "h-2600483e.v1 (current): from input" in shown.stdout
    assert "h-2600483e.v2: from input, child of h-2600483e.v1" in shown.stdout


async def test_a_revision_offered_in_a_rebuttal_is_a_child_version_that_can_be_debated(two, db):
    debater = FakeDebater()

    def revising(body):
        reply = debater(body)
        if isinstance(reply.tool_args, dict) and "revised_claim" in reply.tool_args:
            reply.tool_args["revised_claim"] = "CYP46A1 gene therapy helps only before amyloid plaques form."
        return reply

    server = ScriptedServer(default=revising)
    first = await runner(server, db, rounds=1, judges=1).run(two[:1], source="x")
    with runner(server, db).sessions() as s:
        child = s.get(HypothesisVersionRow, "h-2600483e.v2")
        assert child is not None and child.origin == "revision" and child.parent_id == "h-2600483e.v1"
        assert child.debate_id == first.outcomes[0].debate_id
        assert child.content["mechanism"].startswith("CYP46A1 gene therapy helps only before")
    server.default = FakeDebater()
    missing = await asyncio.to_thread(cli.invoke, app, ["run", "--version", "h-2600483e.v9", "--db", db])
    assert missing.exit_code == 2 and "no such hypothesis version" in missing.stderr
    with runner(server, db).sessions() as s:
        revision = stored_versions(s, ["h-2600483e.v2"])
    second = await runner(server, db, rounds=1, judges=1).run(revision, source="v2", stored=True)
    assert second.outcomes[0].status == "completed"
    judge = [r for r in server.requests if "You are JUDGE" in r["messages"][1]["content"]][-1]
    assert "What you score: hypothesis h-2600483e.v2" in judge["messages"][1]["content"]
    with runner(server, db).sessions() as s:
        scores = {row.content_hash: row for row, _ in rankings.hypothesis_scores(s, "h-2600483e")}
        assert len(scores) == 2  # v1 and its revision, each with its own score
        current = [row for row in scores.values() if row.current]
        assert len(current) == 1  # the revision has its own score; the input version stays the current one
        assert current[0].content_hash == s.get(HypothesisVersionRow, "h-2600483e.v1").content_hash


def test_two_ids_with_the_same_content_are_one_clear_error(tmp_path):
    path = tmp_path / "dup.yaml"
    first = TWO.split("  - title: Microbial")[0]
    path.write_text(first + first.split("hypotheses:\n")[1].replace("id: h-2600483e", "id: h-0000cafe"))
    with pytest.raises(InputError, match=r"h-0000cafe has the same title, targets, mechanism, diseases and evidence"):
        load_hypotheses([path])


# -- races -------------------------------------------------------------------------------------------


class SlowServer(ScriptedServer):
    """Holds the first judge call for `delay` seconds (an async handler: the event loop keeps running)."""

    delay: float = 1.0
    probe: object = None

    async def handle(self, request: httpx2.Request) -> httpx2.Response:  # type: ignore[override]
        if b"You are JUDGE" in request.content and self.probe is not None:
            probe, self.probe = self.probe, None
            await asyncio.sleep(self.delay)
            await asyncio.to_thread(probe)  # type: ignore[arg-type]
        return super().handle(request)


async def test_a_debate_in_flight_is_busy_for_any_other_runner(two, db):
    server = SlowServer(default=FakeDebater())
    batch = runner(server, db, rounds=0, judges=1)
    seen: dict[str, object] = {}

    def another_runner_looks() -> None:
        with batch.sessions() as s:
            debate = s.scalars(select(DebateRow)).one()
            row = DebateRow(
                **{
                    c: getattr(debate, c)
                    for c in (
                        "id",
                        "hypothesis_id",
                        "hypothesis_hash",
                        "protocol_hash",
                        "replicate",
                        "batch_id",
                        "protocol",
                        "rubric_hash",
                        "prompt_hashes",
                        "models",
                    )
                },
                status="running",
                attempts=1,
            )
            s.expunge(debate)
            other = debate_locks(batch.sessions.engine)
            seen["claim"] = repository.claim_debate(s, row, other).status
            other.close()

    server.probe = another_runner_looks
    result = await batch.run(two[:1], source="x")
    assert seen == {"claim": "busy"}  # while its judge call is in flight nobody else can take it
    assert result.outcomes[0].status == "completed"


async def test_a_completion_race_ends_with_one_score_row_and_a_finished_batch(two, db, monkeypatch):
    server = ScriptedServer(default=FakeDebater())
    batch = runner(server, db, rounds=0, judges=1)
    real = repository.complete_debate_commit

    def raced(session, debate_id, **kwargs):
        # another worker scored this debate a moment earlier
        session.execute(
            insert(ScoreRow).values(
                debate_id=debate_id,
                hypothesis_id="h-2600483e",
                mean=0.5,
                spread=0.0,
                n=1,
                rubric_hash="r",
                judge_models=["x"],
                prompt_hashes={},
                created_at=utcnow(),
            )
        )
        session.commit()
        return real(session, debate_id, **kwargs)

    monkeypatch.setattr(repository, "complete_debate_commit", raced)
    result = await batch.run(two[:1], source="x")
    assert result.outcomes[0].status == "skipped" and "already scored" in result.outcomes[0].reason
    with batch.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ScoreRow)) == 1
        assert s.scalars(select(BatchRow)).one().status == "completed"
    # and finishing a debate that is finished already is refused, not an IntegrityError
    monkeypatch.setattr(repository, "complete_debate_commit", real)
    finished = await batch.run(two[1:2], source="x")
    assert finished.outcomes[0].status == "completed"
    with batch.sessions() as s, pytest.raises(repository.NotRunning):
        repository.fail_debate_commit(s, finished.outcomes[0].debate_id, "late", None, [])


# -- old databases ------------------------------------------------------------------------------------


def test_an_old_database_upgrades_in_place_with_its_scores_on_a_legacy_scoreboard(tmp_path):
    _upgrade_from_0003(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_an_old_postgres_database_upgrades_in_place(postgres_url):
    _upgrade_from_0003(postgres_url)


def _upgrade_from_0003(url: str) -> None:
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    now = utcnow()
    with engine.begin() as c:
        c.execute(
            text(
                "insert into hypotheses (id, content_hash, title, targets, target_label, mechanism, diseases, pages,"
                " score, score_spread, score_n, debates_completed, created_at, updated_at) values"
                " ('h-0000000a', 'hash-now', 'T', '[\"X\"]', 'X', 'mechanism text', '[]', '[]', 0.5, 0.1, 4, 2,"
                " :now, :now)"
            ),
            {"now": now},
        )
        c.execute(
            text(
                "insert into evidence (hypothesis_id, position, claim, citation, stance)"
                " values ('h-0000000a', 0, 'a claim', null, 'for')"
            )
        )
        for d_id, content, composites in (("d-1", "hash-old", [0.2, 0.4]), ("d-2", "hash-now", [0.6, 0.8])):
            c.execute(
                text(
                    "insert into debates (id, hypothesis_id, hypothesis_hash, protocol_hash, replicate, status,"
                    " attempts, rounds_run, early_stopped, protocol, rubric_hash, prompt_hashes, models, started_at)"
                    " values (:id, 'h-0000000a', :content, 'p1', 0, 'completed', 1, 1, :no, '{}', 'r1', '{}', '{}',"
                    " :now)"
                ),
                {"id": d_id, "content": content, "no": False, "now": now},
            )
            for judge, value in enumerate(composites, 1):
                c.execute(
                    text(
                        "insert into verdicts (debate_id, judge, scores, rationales, summary, composite, model,"
                        " rubric_hash, created_at) values (:d, :j, '{}', '{}', 's', :v, 'gpt-4o-mini', 'r1', :now)"
                    ),
                    {"d": d_id, "j": judge, "v": value, "now": now},
                )
            c.execute(
                text(
                    "insert into scores (debate_id, hypothesis_id, mean, spread, n, rubric_hash, judge_models,"
                    " prompt_hashes, created_at)"
                    " values (:d, 'h-0000000a', :m, 0.1, 2, 'r1', '[\"gpt-4o-mini\"]', '{}', :now)"
                ),
                {"d": d_id, "m": sum(composites) / 2, "now": now},
            )
    engine.dispose()
    sessions = open_store(url)  # migrates to head
    try:
        with sessions() as s:
            (board,) = s.scalars(select(ScoreboardRow)).all()
            assert board.legacy and board.judge_models == ["gpt-4o-mini"] and not board.demo
            versions = repository.versions_of(s, "h-0000000a")
            assert [(v.id, v.origin, v.content is None) for v in versions] == [
                ("h-0000000a.v1", "legacy", True),
                ("h-0000000a.v2", "input", False),
            ]
            assert versions[1].content["evidence"] == [{"claim": "a claim", "citation": None, "stance": "for"}]
            rows = {r.content_hash: r for r in s.scalars(select(HypothesisScoreRow))}
            assert rows["hash-now"].current and rows["hash-now"].mean == pytest.approx(0.7)
            assert not rows["hash-old"].current and rows["hash-old"].mean == pytest.approx(0.3)
            assert rows["hash-now"].interval == "too-few" and rows["hash-now"].verdicts == 2  # 2 verdicts: 1 df
            assert [r.score for r in rankings.ranking(s, board.id)] == [pytest.approx(0.7)]
            assert s.scalars(select(ScoreRow.scoreboard_id)).all() == [board.id, board.id]
            # rebuilding the hypotheses table (SQLite drops columns that way) cascaded into nothing
            assert s.scalar(select(func.count()).select_from(DebateRow)) == 2
            assert s.scalar(select(func.count()).select_from(VerdictRow)) == 4
            assert len(s.get(HypothesisRow, "h-0000000a").evidence) == 1
    finally:
        sessions.close()


# -- agreement ----------------------------------------------------------------------------------------


async def test_agreement_reports_alpha_tau_and_separation(two, db, tmp_path):
    server = ScriptedServer(default=FakeDebater(score=7))  # every judge gives 7 everywhere
    await runner(server, db, rounds=0, judges=2, replicates=2).run(two, source="x")
    result = cli.invoke(app, ["agreement", "--db", db, "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert "Krippendorff's alpha" in result.stdout and "Kendall's tau-b" in result.stdout

    figures = json.loads((tmp_path / "a.json").read_text())
    assert (figures["hypotheses"], figures["debates"], figures["verdicts"], figures["replicates"]) == (2, 4, 8, 2)
    assert figures["alpha"]["novelty"] is None  # no variation to agree on: undefined, not 1.0
    assert figures["tau_pairs"] == 0  # two hypotheses are too few for a rank correlation
    assert (figures["separated"], figures["adjacent_pairs"]) == (0.0, 1)  # equal scores: not ordered
    assert "0.00 of the 1 adjacent pairs in the ranking are separated" in result.stdout
    bad = cli.invoke(app, ["agreement", "--db", db, "--scoreboard", "s-00000000"])
    assert bad.exit_code == 2 and "no such scoreboard" in bad.stderr


@pytest.mark.parametrize(
    ("step", "schema"),
    [("opening", Opening), ("critique", Critique), ("rebuttal", Rebuttal), ("closing", Closing)],
)
def test_every_turn_prompt_states_its_length_caps(two, step, schema):
    from agents.prompts import load_prompts

    caps = set()
    for field in schema.model_fields.values():
        caps |= {m.max_length for m in field.metadata if getattr(m, "max_length", None) and m.max_length > 3}
        item = getattr(field.annotation, "__args__", (None,))[0]
        caps |= {m.max_length for m in getattr(item, "__metadata__", ()) if getattr(m, "max_length", None)}
        if isinstance(item, type) and hasattr(item, "model_fields"):
            for sub in item.model_fields.values():
                caps |= {m.max_length for m in sub.metadata if getattr(m, "max_length", None)}
    prompt = load_prompts().render(step, hypothesis=two[0], transcript=[], round=1, rounds=1)
    assert caps and all(str(cap) in prompt for cap in caps), (caps, prompt[-400:])


def test_a_database_at_the_newest_revision_opens_without_alembic(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from store import engine as store_engine

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == store_engine.HEAD
    url = f"sqlite:///{tmp_path / 'h.db'}"
    open_store(url).close()  # a new database: migrated by Alembic
    engine = make_engine(url)
    try:
        assert store_engine._at_head(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))
        assert not store_engine._at_head(engine)  # an older database is migrated as before
    finally:
        engine.dispose()
