"""Debates end to end through the real openai client against a scripted model, checked in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from debates.graph import DebateState, next_step
from scoring.rubric import SCIDEX_WEIGHTS
from store.models import DebateRow, ScoreRow, TurnRow, UsageRow, VerdictRow
from tests.fakes import FakeDebater, Reply, ScriptedServer
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
        assert ranked.interval == "panel" and ranked.lo < ranked.score < ranked.hi  # one debate: judge spread only
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
    batch = runner(server, db, rounds=2, judges=2)
    # the 4th call (second critique) fails hard: the debate fails with 3 turns stored
    server.enqueue(debater, debater, debater, Reply(content="not json"), Reply(content="x"), Reply(content="y"))
    first = await batch.run(two[:1], source="x")
    assert first.outcomes[0].status == "failed"
    with batch.sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert debate.status == "failed" and debate.failed_step is None
        assert "Critique" in debate.failure_reason
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
    first = await runner(server, db, rounds=1, judges=1, turn_retries=1).run(two[:1], source="x")
    outcome = first.outcomes[0]
    assert outcome.status == "failed"
    assert ("opening" not in outcome.reason and "too short" in outcome.reason) or "off-topic" in outcome.reason
    with runner(server, db).sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        assert debate.failed_step == "opening" and debate.turns == []
        assert s.scalar(select(func.count()).select_from(ScoreRow)) == 0  # nothing scored
    server.default = FakeDebater()
    second = await runner(server, db, rounds=1, judges=1, turn_retries=1).run(two[:1], source="x")
    assert second.outcomes[0].status == "completed"
    with runner(server, db).sessions() as s:
        assert s.scalars(select(DebateRow)).one().attempts == 2


async def test_template_echo_and_off_topic_turns_are_reasked(two, db):
    debater = FakeDebater()
    echo = "Raise only points not already answered in the debate. If no substantive weakness remains, set concede"
    server = ScriptedServer(default=debater).enqueue(
        debater,  # opening
        Reply(tool_args={"points": [{"point": echo, "severity": "minor"}], "concede": False}),
        Reply(tool_args={"points": [{"point": "The weather in Lisbon is pleasant in spring.", "severity": "minor"}]}),
    )
    result = await runner(server, db, rounds=1, judges=1).run(two[:1], source="x")
    assert result.outcomes[0].status == "completed"
    reasks = [m["messages"][-1]["content"] for m in server.requests[2:4]]
    assert "repeats the instructions" in reasks[0]
    assert "off-topic" in reasks[1]


async def test_budget_stops_new_debates(two, db):
    server = ScriptedServer(default=FakeDebater())
    batch = runner(server, db, rounds=1, judges=1, concurrency=1)
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
