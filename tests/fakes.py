"""A scripted OpenAI-compatible server behind the real openai client (httpx2.MockTransport).

Each request to /chat/completions takes the next step of the script: a `Reply` (content or tool
arguments), an `httpx2.Response` (e.g. a 429), an exception to raise (timeout, reset), or a
callable `(request_json) -> step` for answers that depend on the prompt.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from agents.client import LLMClient
from agents.retry import Sleep
from agents.settings import LLMSettings, RetrySettings


@dataclass
class Reply:
    content: str | None = None
    tool_args: str | dict[str, Any] | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 10
    completion_tokens: int = 5
    cached_tokens: int | None = None  # set: reported as usage.prompt_tokens_details.cached_tokens, as OpenAI does


Step = Reply | httpx2.Response | Exception | Callable[[dict[str, Any]], Any]


def completion_json(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    cached = {} if reply.cached_tokens is None else {"prompt_tokens_details": {"cached_tokens": reply.cached_tokens}}
    if reply.tool_args is not None:
        args = reply.tool_args if isinstance(reply.tool_args, str) else json.dumps(reply.tool_args)
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": "answer", "arguments": args}}
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            **cached,
        },
    }


@dataclass
class ScriptedServer:
    script: deque[Step] = field(default_factory=deque)
    default: Step | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def enqueue(self, *steps: Step) -> ScriptedServer:
        self.script.extend(steps)
        return self

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        step: Any = self.script.popleft() if self.script else self.default
        if step is None:
            raise AssertionError("the scripted server ran out of answers")
        while callable(step) and not isinstance(step, (httpx2.Response, Exception, Reply)):
            step = step(body)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx2.Response):
            return step
        return httpx2.Response(200, json=completion_json(step, body["model"]))

    def client(self, settings: LLMSettings | None = None, *, sleep: Sleep | None = None, **overrides: Any) -> LLMClient:
        """A client on this server; `sleep` replaces the waits between retries (e.g. `SleepRecorder()`)."""
        settings = settings or fast_settings(**overrides)
        transport = httpx2.MockTransport(self.handle)
        http = httpx2.AsyncClient(transport=transport, base_url="http://fake.local/v1")
        return LLMClient(settings, http_client=http, sleep=sleep)


@dataclass
class SleepRecorder:
    """Stands in for `asyncio.sleep` between retries: records each wait and returns at once."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fast_settings(**overrides: Any) -> LLMSettings:
    """Settings for tests: an openai-provider fake with millisecond backoffs."""
    retry = RetrySettings(max_attempts=6, total_timeout_s=30, initial_backoff_s=0.001, max_backoff_s=0.01)
    base: dict[str, Any] = {
        "provider": "openai",
        "base_url": "http://fake.local/v1",
        "retry": retry,
        "timeout_s": 5,
        "prices": {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.60}},
    }
    base.update(overrides)
    return LLMSettings.model_validate(base)


def status(code: int, headers: dict[str, str] | None = None, message: str = "scripted failure") -> httpx2.Response:
    return httpx2.Response(code, headers=headers or {}, json={"error": {"message": message, "type": "test"}})


# -- a fake debater: answers every structured request with a schema-valid instance --------------


def _target(body: dict[str, Any]) -> str:
    """The first target the prompt names, else (a labelled finding that names none) its title."""
    lines = [line for m in body["messages"] for line in str(m.get("content") or "").splitlines()]
    for line in lines:
        if line.startswith("Target(s): ") and line != "Target(s): none named":
            return line.removeprefix("Target(s): ").split(",")[0].split("/")[0].split(" and ")[0].strip()
    return next((line.removeprefix("Title: ") for line in lines if line.startswith("Title: ")), "the target")


def synthesize(
    schema: dict[str, Any], *, path: str = "", pick: Callable[[str, list[Any]], Any], text: str, fill: bool = False
) -> Any:
    """A value that validates against `schema`; `pick(path, enum)` chooses enum values. `fill`: every string is
    written to its cap and every list to its longest (a verbose model: an upper bound on answer length)."""
    if "enum" in schema:
        return pick(path, schema["enum"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: synthesize(sub, path=f"{path}.{name}".lstrip("."), pick=pick, text=text, fill=fill)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        count = schema.get("maxItems", 2) if fill else min(2, schema.get("maxItems", 2))
        return [synthesize(schema["items"], path=f"{path}[{i}]", pick=pick, text=text, fill=fill) for i in range(count)]
    if kind == "boolean":
        return pick(path, [False, True]) if path.endswith("concede") else False
    if kind == "integer":
        return 1
    if "anyOf" in schema:
        return synthesize(schema["anyOf"][0], path=path, pick=pick, text=text, fill=fill)
    value = f"{text} ({path})"
    wanted = schema.get("maxLength", 200) if fill else schema.get("minLength", 0)
    value += " and its consequences" * max(0, -(-(wanted - len(value)) // 21))
    return value[: schema.get("maxLength", 200)]


@dataclass
class FakeDebater:
    """Plays every role: fixed judge scores per dimension, and a critic that concedes from a given round."""

    score: int | Callable[[int, str], int] = 7  # (judge index, dimension) -> 1..10
    concede_from_round: int | None = None
    calls: int = 0
    by_seed: bool = False  # a deterministic server that honours `seed`: the same seed, the same answer
    fill: bool = False  # write every field to its cap, and count tokens as characters / 4 (bench/eval_cost.py)

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.calls += 1
        target = _target(body)
        prompt = str(body["messages"][-1].get("content") or "")
        tools = body.get("tools")
        if not tools:
            return Reply(content=f"An answer about {target}.")
        schema = tools[0]["function"]["parameters"]
        round_ = prompt.split("(round ", 1)[1].split(" ", 1)[0] if "(round " in prompt else "0"
        seat = re.search(r"You are JUDGE (\d+)", prompt)
        judge = int(seat.group(1)) if seat else 0

        def pick(path: str, options: list[Any]) -> Any:
            if path.startswith("scores."):
                return self.score(judge, path.removeprefix("scores.")) if callable(self.score) else self.score
            if path.endswith("concede"):
                return self.concede_from_round is not None and int(round_) >= self.concede_from_round
            if path.endswith("severity"):
                return "major"
            return options[0]

        text = f"{target} in round {round_}" + (f" draw {body.get('seed')}" if self.by_seed else "")
        args = synthesize(schema, pick=pick, text=text, fill=self.fill)
        if not self.fill:
            return Reply(tool_args=args, prompt_tokens=100, completion_tokens=50)
        prompt_tokens, completion_tokens = len(prompt_text(body)) // 4, len(json.dumps(args)) // 4
        return Reply(tool_args=args, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


def prompt_text(body: dict[str, Any], *, tools_first: bool = False) -> str:
    """A request's prompt as the fakes count its tokens (characters / 4): the messages, then the tools (or the
    response format's schema); `tools_first`: the schema before the messages, where OpenAI renders it."""
    messages = json.dumps(body["messages"])
    schema = json.dumps(body.get("tools")) + (json.dumps(body["response_format"]) if "response_format" in body else "")
    return schema + messages if tools_first else messages + schema
