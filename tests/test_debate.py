"""Debates end to end through the real openai client against a scripted model, checked in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from debates.graph import DebateState, next_step
from scoring.rubric import SCIDEX_WEIGHTS
from store.models import DebateRow, ScoreRow, TurnRow, UsageRow, VerdictRow
from tests.fakes import FakeDebater, Reply, ScriptedServer, status
from tests.helpers import runner


async def test_full_debate_transcript_order_rows_and_score(two, db):
    # judge j scores every dimension 5 + j: composites (j + 4) / 9
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 5 + judge))
    batch = runner(server, db, rounds=2, judges=3, early_stop=True)
    result = await batch.run(two, source="two.yaml")
    await batch.client.aclose()

    assert [o.status for o in result.outcomes] == ["completed", "completed"]
    assert result.calls == 2 * (1 + 2 * 2 + 1 + 3) == server.default.calls  # + the critic's closing
    expected = [(5 / 9 + 6 / 9 + 7 / 9) / 3] * 2
    assert [r.score for r in result.ranking] == pytest.approx(expected)
    with batch.sessions() as s:
        debate = s.scalars(select(DebateRow).where(DebateRow.hypothesis_id == "h-2600483e")).one()
        steps = [(t.seq, t.step, t.role, t.round) for t in debate.turns]
        assert steps[:6] == [
            (0, "opening", "proposer", 0),
            (1, "critique", "critic", 1),
            (2, "rebuttal", "proposer", 1),
            (3, "critique", "critic", 2),
            (4, "rebuttal", "proposer", 2),
            (5, "closing", "critic", 2),
        ]
        assert sorted(step for _, step, _, _ in steps[6:]) == ["verdict"] * 3
        assert debate.rounds_run == 2 and not debate.early_stopped
        assert set(debate.prompt_hashes) == {
            "opening",
            "critique",
            "rebuttal",
            "closing",
            "verdict",
            "persona:clinician",
            "persona:geneticist",
            "persona:medicinal_chemist",
        }
        verdicts = s.scalars(
            select(VerdictRow).where(VerdictRow.debate_id == debate.id).order_by(VerdictRow.judge)
        ).all()
        assert [v.judge for v in verdicts] == [1, 2, 3]
        assert [v.persona for v in verdicts] == ["clinician", "geneticist", "medicinal_chemist"]
        assert [v.material_order for v in verdicts] == ["chronological", "critic-first", "proposer-first"]
        assert all(v.reasoning and v.model == "gpt-4o-mini" for v in verdicts)
        assert [v.composite for v in verdicts] == pytest.approx([5 / 9, 6 / 9, 7 / 9])
        assert set(verdicts[0].scores) == set(SCIDEX_WEIGHTS)
        score = s.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate.id)).one()
        assert (score.n, score.rubric_hash) == (3, batch.rubric.hash)
        assert score.spread == pytest.approx(((1 / 9) ** 2 * 2 / 3) ** 0.5)
        (ranked,) = [r for r in result.ranking if r.id == "h-2600483e"]
        assert ranked.score == pytest.approx(6 / 9) and (ranked.debates, ranked.verdicts) == (1, 3)
        # two panels of three fixed seats leave 2 df for the judges' spread: too few to show an interval
        assert ranked.interval == "too-few" and ranked.lo is None and ranked.hi is None
        assert score.scoreboard_id == ranked.scoreboard_id == result.board.id
        assert s.scalar(select(func.count()).select_from(UsageRow)) == result.calls
        turn_tokens = s.scalar(select(func.sum(TurnRow.prompt_tokens)))
        assert turn_tokens == result.prompt_tokens


async def test_early_stop_when_the_critic_concedes(two, db):
    server = ScriptedServer(default=FakeDebater(concede_from_round=1))
    batch = runner(server, db, rounds=3, judges=2)
    result = await batch.run(two[:1], source="x")
    with batch.sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert [t.step for t in debate.turns] == ["opening", "critique", "verdict", "verdict"]
        assert debate.early_stopped and debate.rounds_run == 1
    assert result.calls == 4


async def test_rerun_skips_completed_debates(two, db):
    server = ScriptedServer(default=FakeDebater())
    first = await runner(server, db, rounds=1, judges=2).run(two, source="x")
    calls = server.default.calls
    second = await runner(server, db, rounds=1, judges=2).run(two, source="x")
    assert [o.status for o in first.outcomes] == ["completed"] * 2
    assert [o.status for o in second.outcomes] == ["skipped"] * 2
    assert server.default.calls == calls
    third = await runner(server, db, rounds=2, judges=2).run(two, source="x")  # another protocol: new debates
    assert [o.status for o in third.outcomes] == ["completed"] * 2
    # another protocol is another scoreboard: one debate on each, never averaged together
    assert first.board.id != third.board.id
    assert [r.debates for r in third.ranking] == [1, 1] and len(third.boards) == 2


async def test_interrupted_debate_resumes_from_its_stored_turns(two, db):
    debater = FakeDebater()
    server = ScriptedServer(default=debater)
    batch = runner(server, db, {"max_requests_per_turn": 3}, rounds=2, judges=2)
    # the 4th call (second critique) fails hard: the debate fails with 3 turns stored
    server.enqueue(debater, debater, debater, Reply(content="not json"), Reply(content="x"), Reply(content="y"))
    first = await batch.run(two[:1], source="x")
    assert first.outcomes[0].status == "failed"
    with batch.sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert debate.status == "failed" and debate.failed_step == "critique"
        assert "Critique" in debate.failure_reason and "3 requests" in debate.failure_reason
        assert [t.step for t in debate.turns] == ["opening", "critique", "rebuttal"]
        # simulate a crash instead: the debate was "running" when the process died
        debate.status = "running"
        debate.failure_reason = None
        s.commit()
    calls = debater.calls
    second = await runner(server, db, rounds=2, judges=2).run(two[:1], source="x")
    assert second.outcomes[0].status == "completed" and second.outcomes[0].resumed
    assert debater.calls - calls == 3 + 2  # critique, rebuttal, closing, two verdicts: nothing repeated
    with batch.sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert [t.seq for t in debate.turns] == list(range(8))
        assert s.scalar(select(func.count()).select_from(VerdictRow)) == 2


async def test_failed_debate_records_reason_and_step_and_is_retried_on_rerun(two, db):
    server = ScriptedServer(
        default=Reply(tool_args={"claim": "", "mechanism": "", "evidence": ["x"], "prediction": ""})
    )
    first = await runner(server, db, {"max_requests_per_turn": 2}, rounds=1, judges=1).run(two[:1], source="x")
    outcome = first.outcomes[0]
    assert outcome.status == "failed"
    assert "claim: String should have at least 20 characters" in outcome.reason  # the schema's floor
    assert len(server.requests) == 2
    with runner(server, db).sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert debate.failed_step == "opening" and debate.turns == []
        assert s.scalar(select(func.count()).select_from(ScoreRow)) == 0  # nothing scored
    server.default = FakeDebater()
    second = await runner(server, db, rounds=1, judges=1).run(two[:1], source="x")
    assert second.outcomes[0].status == "completed"
    with runner(server, db).sessions() as s:
        assert s.scalars(select(DebateRow)).one().attempts == 2


async def test_template_echo_and_off_topic_turns_are_reasked(two, db):
    debater = FakeDebater()
    echo = "Raise only points not already answered in the debate. If no substantive weakness remains, set concede"
    labels = {"target": "CYP46A1", "aspect": "mechanism", "severity": "minor"}
    server = ScriptedServer(default=debater).enqueue(
        debater,  # opening
        Reply(tool_args={"points": [{"point": echo, **labels}], "concede": False}),
        Reply(tool_args={"points": [{"point": "The weather in Lisbon is pleasant in spring.", **labels}]}),
    )
    result = await runner(server, db, rounds=1, judges=1).run(two[:1], source="x")
    assert result.outcomes[0].status == "completed"
    reasks = [m["messages"][-1]["content"] for m in server.requests[2:4]]
    assert "repeats the instructions" in reasks[0]
    assert "off-topic" in reasks[1]  # naming the target in the enum does not make the point itself on topic
    with runner(server, db).sessions() as s:
        critique = s.scalars(select(TurnRow).where(TurnRow.step == "critique")).one()
        assert critique.asks == 3 and critique.attempts == 3  # the report can say this turn needed re-asks
        assert {t.asks for t in s.scalars(select(TurnRow).where(TurnRow.step != "critique"))} == {1}


async def test_budget_stops_new_debates(two, db):
    server = ScriptedServer(default=FakeDebater())
    batch = runner(server, db, rounds=1, judges=1, in_flight=1)
    batch.budget_tokens = 1  # the first debate runs, the second is not started
    result = await batch.run(two, source="x")
    assert [o.status for o in result.outcomes] == ["completed", "skipped"]
    assert result.budget_exhausted and result.outcomes[1].reason == "budget exhausted"


def test_router_documents_the_protocol():
    from agents.roles import PriorTurn

    def state(*steps, concede=False):
        turns = [PriorTurn("x", s, 0, "t", {"concede": concede, "points": [{"point": s}]}) for s in steps]
        return DebateState(transcript=turns, rounds=2, judges=2, early_stop=True)

    assert next_step(state()) == "open_debate"
    assert next_step(state("opening")) == "critique"
    assert next_step(state("opening", "critique")) == "rebut"
    assert next_step(state("opening", "critique", concede=True)) == "judge"
    assert next_step(state("opening", "critique", "rebuttal", "critique", "rebuttal")) == "close"
    assert next_step(state("opening", "critique", "rebuttal", "critique", "rebuttal", "closing")) == "judge"
    assert next_step(state("opening", "critique", "rebuttal", "closing", "verdict")) == "judge"
    assert next_step(state("opening", "critique", "rebuttal", "closing", "verdict", "verdict")) == "__end__"


def test_copied_placeholders_count_as_template_echo():
    from agents.checks import TurnRejected, check_turn

    prompt = 'Answer shaped like {"point": "<one sentence on a weakness of CYP46A1>"}'
    with pytest.raises(TurnRejected, match="repeats the instructions"):
        check_turn(
            "1. [major] <one sentence on a weakness of CYP46A1>", prompt=prompt, terms=set(), symbols=["CYP46A1"]
        )
    check_turn("1. [major] CYP46A1 is expressed only in neurons.", prompt=prompt, terms=set(), symbols=["CYP46A1"])


def test_a_turn_about_what_was_said_in_the_debate_is_on_topic():
    from agents.checks import TurnRejected, check_turn, topic_terms

    terms = topic_terms("CYP46A1 Overexpression Gene Therapy")
    said = topic_terms("Claim: cholesterol hydroxylation lowers amyloid plaques")
    reply = "Re point 1 (resolved): plaques shrink when hydroxylation rises in the cortex."
    with pytest.raises(TurnRejected, match="off-topic"):
        check_turn(reply, prompt="", terms=terms, symbols=["CYP46A1"])
    check_turn(reply, prompt="", terms=terms | said, symbols=["CYP46A1"])
    with pytest.raises(TurnRejected, match="off-topic"):  # labels of rendered turns do not count
        check_turn(
            "Falsifiable prediction: resolved.",
            prompt="",
            terms=terms | topic_terms("Falsifiable prediction"),
            symbols=["CYP46A1"],
        )


async def test_a_server_that_always_answers_invalid_costs_at_most_max_requests_per_turn(two, db):
    """One re-ask loop: schema re-asks, turn re-asks and transport retries share one per-turn budget."""
    invalid = Reply(tool_args={"claim": "too short"})
    server = ScriptedServer(default=invalid).enqueue(status(503), invalid, status(429, {"retry-after": "0"}))
    result = await runner(server, db, {"max_requests_per_turn": 4}, rounds=1, judges=1).run(two[:1], source="x")
    assert result.outcomes[0].status == "failed"
    assert len(server.requests) == 4  # formerly up to 3 turn asks x 3 schema asks x 6 attempts = 54
    assert "4 requests" in result.outcomes[0].reason
    with runner(server, db).sessions() as s:
        usage = s.scalars(select(UsageRow)).all()
        assert sum(u.attempts for u in usage) == 4  # the usage ledger counts every HTTP request


async def test_the_critique_schema_offers_only_this_hypothesis_targets_and_citations(two, db):
    server = ScriptedServer(default=FakeDebater())
    result = await runner(server, db, rounds=1, judges=1).run(two, source="x")
    assert [o.status for o in result.outcomes] == ["completed", "completed"]
    offered = {}
    for request in server.requests:
        function = request["tools"][0]["function"]
        if function["name"] == "critique":
            point = function["parameters"]["properties"]["points"]["items"]["properties"]
            offered[tuple(point["target"]["enum"])] = point["citation"]["enum"]
            assert point["point"]["minLength"] == 20
    assert offered == {("CYP46A1",): ["@hudry2010", "none"], ("NLRP3", "CASP1", "IL1B", "PYCARD"): ["none"]}
    with runner(server, db).sessions() as s:
        critique = s.scalars(select(TurnRow).where(TurnRow.step == "critique")).first()
        assert critique.payload["points"][0]["target"] in {"CYP46A1", "NLRP3"}


def test_free_text_fields_have_a_floor_so_a_grammar_cannot_answer_empty():
    from agents.structured import json_schema
    from agents.turns import Closing, Opening, Rebuttal

    opening = json_schema(Opening)["properties"]
    assert (opening["claim"]["minLength"], opening["mechanism"]["minLength"]) == (20, 40)
    assert opening["evidence"]["items"]["minLength"] == 20
    assert json_schema(Rebuttal)["properties"]["answers"]["items"]["properties"]["answer"]["minLength"] == 20
    assert json_schema(Closing)["properties"]["summary"]["minLength"] == 40


def test_turn_checks_scan_crafted_text_with_thousands_of_unclosed_tags_in_one_pass():
    """The former `<(hypothesis|turn)...>.*?</\\1>` rescanned to the end from every unclosed tag: on this
    400,000-character prompt that is about 10^10 steps (minutes, on the event loop); now one pass."""
    import signal

    from agents.checks import instruction_lines, outside_data, placeholders

    crafted = "<turn>" * 40_000 + "<hypothesis>" * 10_000 + "Answer the task now, as the instructions above say so."
    prompt = f"Instructions that stay outside every block, long enough.\n<turn a>said</turn>\n{crafted}"

    def stuck(signum: int, frame: object) -> None:  # a guard against hanging the suite, not a timing
        raise TimeoutError("outside_data is not linear")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        outside = outside_data(prompt)
        lines = instruction_lines(prompt)
        shapes = placeholders(prompt)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "said" not in outside and outside.endswith("as the instructions above say so.")
    assert lines[0] == "instructions that stay outside every block, long enough."
    assert shapes == []  # `<turn>` and `<hypothesis>` are under 12 characters: not placeholders


async def test_progress_names_the_step_that_is_running(two, db):
    server = ScriptedServer(default=FakeDebater())
    batch = runner(server, db, rounds=1, judges=2, in_flight=1)
    steps: list[str] = []
    batch.progress = lambda p: steps.append(p.step) if p.step and (not steps or steps[-1] != p.step) else None
    await batch.run(two[:1], source="x")
    assert steps == [
        "h-2600483e opening",
        "h-2600483e critique 1/1",
        "h-2600483e rebuttal 1/1",
        "h-2600483e closing",
        "h-2600483e judge 1/2",
        "h-2600483e judge 2/2",
    ]


def test_verdict_length_caps_are_part_of_the_protocol():
    """The embedded model's tighter verdict caps make another protocol (so another scoreboard), never the same."""
    from dataclasses import replace

    from debates.protocol import Protocol

    base = Protocol(
        rounds=1,
        judges=2,
        early_stop=False,
        rubric_hash="r",
        prompt_hashes={"verdict": "p"},
        provider="openai",
        models={"judge": "m"},
        temperatures={"judge": 0.2},
        verdict_caps={"reasoning": 600, "rationale": 120, "summary": 300},
    )
    tighter = replace(base, verdict_caps={"reasoning": 200, "rationale": 50, "summary": 100})
    assert base.hash != tighter.hash
    assert tighter.as_dict()["verdict_caps"] == {"rationale": 50, "reasoning": 200, "summary": 100}
