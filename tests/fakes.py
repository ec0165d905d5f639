"""A scripted OpenAI-compatible server behind the real openai client (httpx2.MockTransport).

Each request to /chat/completions takes the next step of the script: a `Reply` (content or tool
arguments), an `httpx2.Response` (e.g. a 429), an exception to raise (timeout, reset), or a
callable `(request_json) -> step` for answers that depend on the prompt.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from agents.client import LLMClient
from agents.settings import LLMSettings, RetrySettings


@dataclass
class Reply:
    content: str | None = None
    tool_args: str | dict[str, Any] | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 10
    completion_tokens: int = 5


Step = Reply | httpx2.Response | Exception | Callable[[dict[str, Any]], Any]


def completion_json(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
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

    def client(self, settings: LLMSettings | None = None, **overrides: Any) -> LLMClient:
        settings = settings or fast_settings(**overrides)
        transport = httpx2.MockTransport(self.handle)
        http = httpx2.AsyncClient(transport=transport, base_url="http://fake.local/v1")
        return LLMClient(settings, http_client=http)


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
