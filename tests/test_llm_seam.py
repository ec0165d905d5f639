"""The LLM seam through the real openai client against a scripted server: every fault class."""

from __future__ import annotations

import logging
import time
from typing import Literal

import httpx2
import pytest
from pydantic import BaseModel, Field

from agents.errors import LLMCallFailed, StructuredOutputError
from agents.settings import RetrySettings
from tests.fakes import Reply, ScriptedServer, fast_settings, status

GOOD = {"score": 7, "rationale": "plausible"}


class Verdict(BaseModel):
    """Score the hypothesis."""

    score: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    rationale: str = Field(max_length=200)


MESSAGES = [{"role": "user", "content": "Score SIRT1 activation for Alzheimer's disease."}]


async def ask(server: ScriptedServer, **overrides):
    client = server.client(**overrides)
    try:
        return await client.structured("judge", MESSAGES, Verdict), client
    finally:
        await client.aclose()


async def test_forced_tool_call_carries_the_schema_with_enum_bounds():
    server = ScriptedServer().enqueue(Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value == Verdict(**GOOD)
    request = server.requests[0]
    assert request["tool_choice"] == {"type": "function", "function": {"name": "verdict"}}
    parameters = request["tools"][0]["function"]["parameters"]
    assert parameters["properties"]["score"]["enum"] == list(range(1, 11))
    assert parameters["properties"]["rationale"]["maxLength"] == 200


async def test_429_honours_retry_after_then_succeeds():
    server = ScriptedServer().enqueue(status(429, {"retry-after": "1"}), Reply(tool_args=GOOD))
    started = time.monotonic()
    reply, _client = await ask(server)
    assert time.monotonic() - started >= 1.0  # backoff alone would wait milliseconds
    assert reply.record.attempts == 2
    assert dict(reply.record.retries_by_kind) == {"rate_limit": 1}


async def test_429_honours_retry_after_ms():
    server = ScriptedServer().enqueue(status(429, {"retry-after-ms": "300"}), Reply(tool_args=GOOD))
    started = time.monotonic()
    reply, _ = await ask(server)
    assert 0.3 <= time.monotonic() - started < 2
    assert reply.record.attempts == 2


@pytest.mark.parametrize("code", [500, 503])
async def test_server_errors_back_off_and_retry(code):
    server = ScriptedServer().enqueue(status(code), status(code), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value.score == 7
    assert reply.record.attempts == 3
    assert dict(reply.record.retries_by_kind) == {"server_error": 2}


async def test_timeout_is_retried():
    server = ScriptedServer().enqueue(httpx2.ReadTimeout("scripted hang"), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.record.attempts == 2
    assert dict(reply.record.retries_by_kind) == {"timeout": 1}


async def test_connection_reset_is_retried():
    server = ScriptedServer().enqueue(httpx2.ReadError("connection reset by peer"), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.record.attempts == 2
    assert dict(reply.record.retries_by_kind) == {"connection": 1}


@pytest.mark.parametrize("code", [401, 403, 404, 422])
async def test_other_4xx_is_never_retried(code):
    server = ScriptedServer().enqueue(status(code), Reply(tool_args=GOOD))
    with pytest.raises(LLMCallFailed) as caught:
        await ask(server, structured_mode="tools")
    assert caught.value.attempts == 1
    assert caught.value.kind == "client_error"
    assert len(server.requests) == 1


async def test_attempts_are_capped():
    server = ScriptedServer(default=status(503))
    with pytest.raises(LLMCallFailed) as caught:
        await ask(server, retry=RetrySettings(max_attempts=4, initial_backoff_s=0.001, max_backoff_s=0.001))
    assert caught.value.attempts == 4
    assert len(server.requests) == 4


async def test_total_cap_bounds_all_attempts_and_waits():
    server = ScriptedServer(default=status(429, {"retry-after": "0.3"}))
    settings = fast_settings(retry=RetrySettings(max_attempts=50, total_timeout_s=1.0, initial_backoff_s=0.001))
    started = time.monotonic()
    with pytest.raises(LLMCallFailed) as caught:
        await ask(server, **settings.model_dump(exclude={"api_key"}))
    elapsed = time.monotonic() - started
    assert elapsed < 1.3
    assert 2 <= caught.value.attempts <= 4


async def test_truncated_json_is_reasked_with_the_error():
    server = ScriptedServer().enqueue(Reply(tool_args='{"score": 7, "ratio'), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value.score == 7
    reask = server.requests[1]["messages"][-1]["content"]
    assert "invalid" in reask and "JSON" in reask


async def test_out_of_range_value_is_reasked_then_fails_typed():
    server = ScriptedServer(default=Reply(tool_args={"score": 11, "rationale": "too high"}))
    with pytest.raises(StructuredOutputError) as caught:
        await ask(server, structured_retries=2)
    assert caught.value.attempts == 3
    assert len(server.requests) == 3
    assert "score" in str(caught.value)
    assert "score" in server.requests[1]["messages"][-1]["content"]


async def test_missing_field_is_reasked():
    server = ScriptedServer().enqueue(Reply(tool_args={"score": 4}), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value.rationale == "plausible"
    assert "rationale" in server.requests[1]["messages"][-1]["content"]


async def test_wrong_type_is_reasked():
    server = ScriptedServer().enqueue(Reply(tool_args={"score": "high", "rationale": "x"}), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value.score == 7


async def test_cut_off_answer_is_reasked():
    server = ScriptedServer().enqueue(Reply(tool_args=GOOD, finish_reason="length"), Reply(tool_args=GOOD))
    _reply, _ = await ask(server)
    assert len(server.requests) == 2
    assert "cut off" in server.requests[1]["messages"][-1]["content"]


async def test_lenient_parsing_of_fenced_content_without_tool_call():
    fenced = '```json\n{"score": 5,\n "rationale": "line one\nline two"}\n```'
    server = ScriptedServer().enqueue(Reply(content=fenced))
    reply, _ = await ask(server)
    assert reply.value.score == 5
    assert reply.value.rationale == "line one\nline two"


async def test_tool_rejection_falls_back_to_json_schema_then_json_object():
    server = ScriptedServer().enqueue(
        status(400, message="tools are not supported"),
        status(400, message="response_format json_schema is not supported"),
        Reply(content='{"score": 6, "rationale": "ok"}'),
        Reply(content='{"score": 6, "rationale": "ok again"}'),
    )
    client = server.client()
    first = await client.structured("judge", MESSAGES, Verdict)
    second = await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert first.value.score == 6 and second.value.rationale == "ok again"
    assert "tools" in server.requests[0]
    assert server.requests[1]["response_format"]["type"] == "json_schema"
    assert server.requests[2]["response_format"]["type"] == "json_object"
    assert server.requests[3]["response_format"]["type"] == "json_object"  # the working mode is remembered


async def test_usage_and_cost_are_summed():
    server = ScriptedServer().enqueue(
        Reply(tool_args=GOOD, prompt_tokens=1000, completion_tokens=200),
        Reply(content="A critique.", prompt_tokens=3000, completion_tokens=800),
    )
    client = server.client()
    await client.structured("judge", MESSAGES, Verdict)
    text = await client.text("critic", MESSAGES)
    await client.aclose()
    assert text.text == "A critique."
    ledger = client.ledger
    assert (ledger.calls, ledger.prompt_tokens, ledger.completion_tokens) == (2, 4000, 1000)
    assert ledger.cost_usd == pytest.approx((4000 * 0.15 + 1000 * 0.60) / 1e6)
    assert [r.role for r in ledger.records] == ["judge", "critic"]
    assert all(r.model == "gpt-4o-mini" and r.latency_s >= 0 for r in ledger.records)


async def test_api_key_never_appears_in_logs_errors_or_records(caplog):
    key = "sk-test-SENTINEL-4f9a2b7c1d"
    echoing = status(401, message=f"Incorrect API key provided: {key}")
    server = ScriptedServer().enqueue(status(500), echoing)
    caplog.set_level(logging.DEBUG)
    client = server.client(api_key=key)
    with pytest.raises(LLMCallFailed) as caught:
        await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert server.headers[0]["authorization"] == f"Bearer {key}"  # it was really sent
    assert key not in str(caught.value)
    assert key not in caplog.text
    assert client.ledger.records and all(key not in repr(r) for r in client.ledger.records)
    assert key not in repr(client.settings)


async def test_concurrency_limit_is_shared_by_all_calls():
    import asyncio

    in_flight = 0
    peak = 0

    async def slow(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        from tests.fakes import completion_json

        return httpx2.Response(200, json=completion_json(Reply(content="ok"), "m"))

    settings = fast_settings(concurrency=3)
    clients = []
    for _ in range(2):
        from agents.client import LLMClient

        http = httpx2.AsyncClient(transport=httpx2.MockTransport(slow), base_url="http://fake.local/v1")
        clients.append(LLMClient(settings, http_client=http))
    await asyncio.gather(*(clients[i % 2].text("critic", MESSAGES) for i in range(12)))
    assert peak == 3
