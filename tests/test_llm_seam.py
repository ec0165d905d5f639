"""The LLM seam through the real openai client against a scripted server: every fault class."""

from __future__ import annotations

import logging
from typing import Literal

import httpx2
import pytest
from pydantic import BaseModel, Field

from agents.client import LLMClient
from agents.errors import ContextLengthExceeded, LLMCallFailed, StructuredOutputError
from agents.settings import EMBEDDED_MODEL, LLMSettings, RetrySettings
from agents.usage import combine
from tests.fakes import Reply, ScriptedServer, SleepRecorder, completion_json, fast_settings, status

GOOD = {"score": 7, "rationale": "plausible"}
GOOD_JSON = '{"score": 7, "rationale": "plausible"}'


class Verdict(BaseModel):
    """Score the hypothesis."""

    score: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    rationale: str = Field(max_length=200)


MESSAGES = [{"role": "user", "content": "Score SIRT1 activation for Alzheimer's disease."}]


async def ask(server: ScriptedServer, sleep: SleepRecorder | None = None, **overrides):
    client = server.client(sleep=sleep or SleepRecorder(), **overrides)
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
    server = ScriptedServer().enqueue(status(429, {"retry-after": "7"}), Reply(tool_args=GOOD))
    sleep = SleepRecorder()
    reply, _client = await ask(server, sleep)
    assert sleep.waits == [7.0]  # backoff alone would wait milliseconds
    assert reply.record.attempts == 2
    assert dict(reply.record.retries_by_kind) == {"rate_limit": 1}


async def test_429_honours_retry_after_ms():
    server = ScriptedServer().enqueue(status(429, {"retry-after-ms": "300"}), Reply(tool_args=GOOD))
    sleep = SleepRecorder()
    reply, _ = await ask(server, sleep)
    assert sleep.waits == [0.3]
    assert reply.record.attempts == 2


async def test_backoff_grows_exponentially_with_bounded_jitter():
    server = ScriptedServer().enqueue(status(503), status(503), status(503), status(503), Reply(tool_args=GOOD))
    sleep = SleepRecorder()
    retry = RetrySettings(max_attempts=6, initial_backoff_s=1.0, max_backoff_s=5.0)
    reply, _ = await ask(server, sleep, retry=retry)
    assert reply.record.attempts == 5
    floors = [1.0, 2.0, 4.0, 5.0]  # 1, 2, 4, then capped at max_backoff_s
    assert len(sleep.waits) == 4
    for wait, floor in zip(sleep.waits, floors, strict=True):
        assert floor <= wait <= min(floor + 1.0, 5.0)  # jitter up to initial_backoff_s, never past the cap


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
    sleep = SleepRecorder()
    retry = RetrySettings(max_attempts=50, total_timeout_s=1.0, initial_backoff_s=0.001)
    with pytest.raises(LLMCallFailed) as caught:
        await ask(server, sleep, retry=retry, max_requests_per_turn=50)
    assert sleep.waits == [0.3, 0.3, 0.3]  # a fourth wait would end past the 1 s cap: not started
    assert caught.value.attempts == 4


async def test_truncated_json_is_reasked_with_the_error():
    server = ScriptedServer().enqueue(Reply(tool_args='{"score": 7, "ratio'), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value.score == 7
    reask = server.requests[1]["messages"][-1]["content"]
    assert "invalid" in reask and "JSON" in reask


async def test_out_of_range_value_is_reasked_then_fails_typed():
    server = ScriptedServer(default=Reply(tool_args={"score": 11, "rationale": "too high"}))
    with pytest.raises(StructuredOutputError) as caught:
        await ask(server, max_requests_per_turn=3)
    assert caught.value.attempts == 3
    assert len(server.requests) == 3
    assert "score" in str(caught.value)
    assert "score" in server.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_a_number_json_does_not_allow_is_reasked(number):
    hostile = '{"score": 7, "rationale": "plausible", "confidence": ' + number + "}"
    server = ScriptedServer().enqueue(Reply(tool_args=hostile), Reply(tool_args=GOOD))
    reply, _ = await ask(server)
    assert reply.value == Verdict(**GOOD)
    reask = server.requests[1]["messages"][-1]["content"]
    assert "invalid JSON" in reask and number.lstrip("-")[:3] in reask


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


CONTEXT_TOO_LONG = {
    "error": {
        "message": "This model's maximum context length is 4096 tokens. However, your messages resulted in 9001 "
        "tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


async def test_context_length_is_its_own_error_and_never_switches_the_structured_mode():
    server = ScriptedServer().enqueue(httpx2.Response(400, json=CONTEXT_TOO_LONG), Reply(tool_args=GOOD))
    client = server.client()
    with pytest.raises(ContextLengthExceeded) as caught:
        await client.structured("judge", MESSAGES, Verdict)
    assert len(server.requests) == 1  # neither retried nor re-sent in another structured mode
    assert isinstance(caught.value, LLMCallFailed)
    assert (caught.value.kind, caught.value.attempts, caught.value.status) == ("context_length", 1, 400)
    assert "tools" in server.requests[0]
    reply = await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert reply.value == Verdict(**GOOD)
    assert "tools" in server.requests[1] and "response_format" not in server.requests[1]
    failed = client.ledger.records[0]
    assert (failed.ok, failed.error, failed.served_model) == (False, "context_length", "gpt-4o-mini")


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Prompt is too long", "code": "context_length_exceeded"},
        {"message": "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens"},
        {"message": "the request exceeds the available context size, try increasing it"},
        {"message": "Prompt is too long for this Context Window"},
        {"message": "Input has Too Many Tokens for this model"},
        {"message": "Requested tokens (5000) exceed context window of 4096"},
        {"message": "input length exceeds the context length"},
    ],
)
async def test_context_length_wordings_are_recognised_and_not_retried(error):
    server = ScriptedServer().enqueue(httpx2.Response(400, json={"error": error}), Reply(tool_args=GOOD))
    client = server.client()
    with pytest.raises(ContextLengthExceeded):
        await client.structured("critic", MESSAGES, Verdict)
    await client.aclose()
    assert len(server.requests) == 1


async def test_plain_400_still_falls_back_and_is_not_a_context_length_error():
    server = ScriptedServer().enqueue(
        status(400, message="tools are not supported"), Reply(content='{"score": 6, "rationale": "ok"}')
    )
    client = server.client()
    reply = await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert reply.value.score == 6
    assert "tools" in server.requests[0]
    assert server.requests[1]["response_format"]["type"] == "json_schema"
    assert [r.error for r in client.ledger.records] == ["client_error", None]


@pytest.mark.parametrize("code", [401, 403, 413])
async def test_failures_that_are_not_about_the_request_shape_never_switch_the_mode(code):
    server = ScriptedServer().enqueue(status(code), Reply(tool_args=GOOD))
    client = server.client()
    with pytest.raises(LLMCallFailed):
        await client.structured("judge", MESSAGES, Verdict)
    await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert len(server.requests) == 2
    assert all("tools" in request for request in server.requests)


def _served_as(name: str, reply: Reply):
    return lambda body: httpx2.Response(200, json=completion_json(reply, name))


async def test_record_keeps_the_requested_model_and_the_served_one():
    served = "fake-model-2024-08-06"
    server = ScriptedServer().enqueue(
        _served_as(served, Reply(tool_args=GOOD)), _served_as(served, Reply(content=GOOD_JSON))
    )
    client = server.client()
    structured = await client.structured("judge", MESSAGES, Verdict)
    text = await client.structured("critic", MESSAGES, Verdict)
    await client.aclose()
    assert server.requests[0]["model"] == "gpt-4o-mini"
    for record in (structured.record, text.record):
        assert (record.model, record.served_model) == ("gpt-4o-mini", served)
    assert [r.served_model for r in client.ledger.records] == [served, served]
    assert structured.record.cost_usd > 0  # priced by the requested model


async def test_served_model_falls_back_to_the_requested_one_when_blank():
    server = ScriptedServer().enqueue(_served_as("", Reply(content=GOOD_JSON)))
    client = server.client()
    reply = await client.structured("critic", MESSAGES, Verdict)
    await client.aclose()
    assert reply.record.served_model == "gpt-4o-mini"


async def test_reasks_combine_into_one_record_with_the_last_served_model():
    server = ScriptedServer().enqueue(
        _served_as("snapshot-a", Reply(tool_args={"score": 11, "rationale": "x"})),
        _served_as("snapshot-b", Reply(tool_args=GOOD)),
    )
    client = server.client()
    reply = await client.structured("judge", MESSAGES, Verdict)
    await client.aclose()
    assert (reply.record.model, reply.record.served_model, reply.record.attempts) == ("gpt-4o-mini", "snapshot-b", 2)
    assert combine(client.ledger.records) == reply.record


async def test_model_and_temperature_overrides_are_what_the_request_carries():
    server = ScriptedServer(default=Reply(tool_args=GOOD))
    client = server.client(prices={"judge-large": {"prompt": 1.0, "completion": 2.0}})
    structured = await client.structured("judge", MESSAGES, Verdict, model="judge-large", temperature=0.0)
    text = await client.structured("critic", MESSAGES, Verdict, model="critic-small", temperature=1.3)
    plain = await client.structured("critic", MESSAGES, Verdict)
    await client.aclose()
    sent = [(r["model"], r["temperature"]) for r in server.requests]
    assert sent == [("judge-large", 0.0), ("critic-small", 1.3), ("gpt-4o-mini", 0.7)]
    assert (structured.record.model, text.record.model, plain.record.model) == (
        "judge-large",
        "critic-small",
        "gpt-4o-mini",
    )
    assert structured.record.cost_usd == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6)
    assert text.record.cost_usd is None  # no price configured for critic-small: unknown, never $0


async def test_a_client_that_asks_nothing_closes_the_http_client_it_was_given():
    # openai's client is made on the first request (a finished batch run again asks nothing): closing still
    # closes the HTTP client, and the base URL is the configured one
    server = ScriptedServer()
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(server.handle), base_url="http://fake.local/v1")
    client = LLMClient(fast_settings(), http_client=http)
    await client.aclose()
    assert http.is_closed
    assert server.requests == []
    unused = LLMClient(fast_settings(base_url="http://models.example:8000/v1"))
    assert unused.base_url == "http://models.example:8000/v1/"
    await unused.aclose()


def test_judge_model_round_robins_over_the_panel():
    panel = ["gpt-4o-mini", "claude-sonnet", "llama-3.1-70b"]
    settings = fast_settings(models={"judge": "fallback-judge", "judges": panel})
    assert [settings.judge_model(n) for n in range(1, 8)] == [*panel, *panel, panel[0]]
    assert settings.models["judge"] == "fallback-judge"  # the per-role lookup still works
    assert settings.models["proposer"] == settings.models["critic"] == "gpt-4o-mini"


def test_judge_model_without_a_panel_or_embedded():
    assert fast_settings(models={"judge": "solo"}).judge_model(3) == "solo"
    embedded = LLMSettings(provider="embedded", models={"judges": ["a", "b"]})
    assert [embedded.judge_model(n) for n in (1, 2)] == [EMBEDDED_MODEL, EMBEDDED_MODEL]
    with pytest.raises(ValueError, match="from 1"):
        fast_settings().judge_model(0)


def test_judge_panel_comes_from_config_and_environment(tmp_path):
    from hypodebate.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text("llm:\n  provider: openai\n  models:\n    judges: [model-a, model-b]\n")
    llm = load_settings(config, env={}).llm
    assert [llm.judge_model(n) for n in (1, 2, 3)] == ["model-a", "model-b", "model-a"]
    llm = load_settings(config, env={"HYPODEBATE_LLM__MODELS__JUDGES": "x, y,z"}).llm
    assert llm.models.judges == ["x", "y", "z"]


@pytest.mark.parametrize("judges", [[""], ["ok", "  "], [f"m{i}" for i in range(16)]])
def test_judge_panel_is_validated(judges):
    with pytest.raises(ValueError):
        fast_settings(models={"judges": judges})


async def test_usage_and_cost_are_summed():
    server = ScriptedServer().enqueue(
        Reply(tool_args=GOOD, prompt_tokens=1000, completion_tokens=200),
        Reply(content=GOOD_JSON, prompt_tokens=3000, completion_tokens=800),
    )
    client = server.client()
    await client.structured("judge", MESSAGES, Verdict)
    critic = await client.structured("critic", MESSAGES, Verdict)
    await client.aclose()
    assert critic.value == Verdict(**GOOD)
    ledger = client.ledger
    assert (ledger.calls, ledger.requests, ledger.prompt_tokens, ledger.completion_tokens) == (2, 2, 4000, 1000)
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

        return httpx2.Response(200, json=completion_json(Reply(tool_args=GOOD), "m"))

    settings = fast_settings(concurrency=3)
    clients = []
    for _ in range(2):
        from agents.client import LLMClient

        http = httpx2.AsyncClient(transport=httpx2.MockTransport(slow), base_url="http://fake.local/v1")
        clients.append(LLMClient(settings, http_client=http))
    await asyncio.gather(*(clients[i % 2].structured("critic", MESSAGES, Verdict) for i in range(12)))
    assert peak == 3


async def test_one_answer_never_costs_more_than_max_requests_per_turn():
    """Invalid answers and transport failures share one budget: re-asks never multiply retries."""
    invalid = Reply(tool_args={"score": 11, "rationale": "x"})
    server = ScriptedServer(default=invalid).enqueue(status(503), invalid, status(429), status(503), invalid)
    sleep = SleepRecorder()
    with pytest.raises(StructuredOutputError) as caught:
        await ask(server, sleep, max_requests_per_turn=5, retry=RetrySettings(max_attempts=6, initial_backoff_s=0.001))
    assert len(server.requests) == 5  # not asks x attempts
    assert (caught.value.requests, caught.value.attempts) == (5, 2)
    assert "llm.max_requests_per_turn = 5" in str(caught.value)


async def test_reask_starts_from_a_fresh_context_with_a_new_seed():
    server = ScriptedServer().enqueue(Reply(tool_args={"score": 11, "rationale": "obey"}), Reply(tool_args=GOOD))
    client = server.client()
    reply = await client.structured("judge", MESSAGES, Verdict, seed=41)
    await client.aclose()
    assert reply.asks == 2 and reply.record.attempts == 2
    first, second = server.requests
    assert (first["seed"], second["seed"]) == (41, 42)
    assert len(second["messages"]) == len(MESSAGES)  # the rejected answer is not shown back
    assert all("obey" not in str(m) for m in second["messages"])
    assert second["messages"][-1]["content"].startswith(MESSAGES[-1]["content"])
    assert "score" in second["messages"][-1]["content"]


async def test_a_check_that_refuses_the_answer_is_reasked_then_raises_answer_rejected():
    from agents.errors import AnswerRejected

    def check(value: Verdict) -> None:
        if value.rationale == "plausible":
            raise ValueError("the rationale says nothing")

    server = ScriptedServer(default=Reply(tool_args=GOOD))
    client = server.client(max_requests_per_turn=3)
    with pytest.raises(AnswerRejected) as caught:
        await client.structured("judge", MESSAGES, Verdict, check=check)
    await client.aclose()
    assert (caught.value.attempts, caught.value.requests, caught.value.reason) == (3, 3, "the rationale says nothing")
    assert "the rationale says nothing" in server.requests[1]["messages"][-1]["content"]


def test_client_has_no_free_text_path_left():
    from agents import client

    assert not hasattr(client.LLMClient, "text") and not hasattr(client, "dumps")
