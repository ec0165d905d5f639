"""The one path to every language model: openai.AsyncOpenAI + tenacity + structured output + accounting.

`LLMClient.text()` returns a free-text turn; `LLMClient.structured()` returns a validated pydantic
object. Both record a `CallRecord` (tokens, latency, attempts, cost, requested and served model) in
the client's ledger, and both take per-call `model=` / `temperature=` overrides of the role's settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx2
import openai
from pydantic import BaseModel, ValidationError

from agents.errors import ContextLengthExceeded, LLMCallFailed, StructuredOutputError, redact
from agents.retry import classify, policy
from agents.settings import LLMSettings, Role
from agents.structured import extract_json, json_schema, tool_for, tool_name
from agents.usage import CallRecord, Ledger, combine

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Message = dict[str, Any]
StructuredMode = Literal["tools", "json_schema", "json_object"]
_FALLBACK: dict[StructuredMode, StructuredMode | None] = {
    "tools": "json_schema",
    "json_schema": "json_object",
    "json_object": None,
}
# Statuses with which a server refuses the request's shape (unknown `tools`/`response_format`, no such
# route): the next structured mode may work. Any other failure says nothing about the mode.
_SHAPE_REFUSED = frozenset({400, 404, 422})

# One limit per process (per event loop), shared by every client and every call.
_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _process_limit(size: int) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _LIMITS:
        _LIMITS[loop] = asyncio.Semaphore(size)
    return _LIMITS[loop]


@dataclass(frozen=True, slots=True)
class TextReply:
    text: str
    finish_reason: str
    record: CallRecord


@dataclass(frozen=True, slots=True)
class StructuredReply(Generic[T]):
    value: T
    raw: str
    record: CallRecord


@dataclass(frozen=True, slots=True)
class _Completion:
    message: Any
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class LLMClient:
    """Async client for one provider. Build one per process; close it with `aclose()`."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        http_client: httpx2.AsyncClient | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger if ledger is not None else Ledger()
        self._secret = settings.api_key.get_secret_value() if settings.api_key else None
        self._openai = openai.AsyncOpenAI(
            api_key=self._secret or "not-needed",
            base_url=settings.base_url or ("http://embedded.local/v1" if http_client else None),
            max_retries=0,
            timeout=settings.timeout_s,
            http_client=http_client,
        )
        self._mode: StructuredMode = "tools" if settings.structured_mode == "auto" else settings.structured_mode

    @property
    def base_url(self) -> str:
        return str(self._openai.base_url)

    async def aclose(self) -> None:
        await self._openai.close()

    async def list_models(self) -> list[str]:
        page = await self._openai.models.list()
        return [m.id for m in page.data]

    # -- free text ---------------------------------------------------------------------------

    async def text(
        self,
        role: Role,
        messages: list[Message],
        *,
        max_tokens: int | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> TextReply:
        """One free-text turn; `model`/`temperature` replace the role's configured ones for this call."""
        completion, record = await self._call(
            role, messages, {}, max_tokens=max_tokens, model=model, temperature=temperature
        )
        text = completion.message.content or ""
        return TextReply(text=text, finish_reason=completion.finish_reason, record=record)

    # -- structured --------------------------------------------------------------------------

    async def structured(
        self,
        role: Role,
        messages: list[Message],
        schema: type[T],
        *,
        max_tokens: int | None = None,
        seed: int | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> StructuredReply[T]:
        """Ask for an instance of `schema`; re-ask with the validation error, then raise.

        `model`/`temperature` replace the role's configured ones for this call (re-asks included).
        The reply's record sums every call made for it (re-asks included).
        """
        conversation = list(messages)
        raw = ""
        last_error = ""
        asks = self.settings.structured_retries + 1
        records: list[CallRecord] = []
        for ask in range(1, asks + 1):
            ask_seed = None if seed is None else seed + ask - 1  # each re-ask samples afresh
            completion, record = await self._structured_call(
                role, conversation, schema, max_tokens, ask_seed, model=model, temperature=temperature
            )
            records.append(record)
            raw = self._answer_text(completion)
            try:
                if completion.finish_reason == "length":
                    raise ValueError("the answer was cut off at the token limit")
                value = schema.model_validate(extract_json(raw))
                return StructuredReply(value=value, raw=raw, record=combine(records))
            except (ValueError, ValidationError) as exc:
                last_error = _describe(exc)
                log.info("structured answer from %s rejected (ask %d/%d): %s", role, ask, asks, last_error)
            conversation = [
                *messages,
                {"role": "assistant", "content": raw[:4000]},
                {
                    "role": "user",
                    "content": f"That answer was invalid: {last_error}\n"
                    f"Answer again with one JSON object that matches the {tool_name(schema)} schema exactly.",
                },
            ]
        raise StructuredOutputError(
            f"{role}: no valid {schema.__name__} after {asks} asks: {last_error}", attempts=asks, raw=raw
        )

    async def _structured_call(
        self,
        role: Role,
        messages: list[Message],
        schema: type[T],
        max_tokens: int | None,
        seed: int | None,
        *,
        model: str | None = None,
        temperature: float | None = None,
    ) -> tuple[_Completion, CallRecord]:
        while True:
            extra = self._format_args(schema)
            if seed is not None:
                extra["seed"] = seed
            try:
                return await self._call(
                    role, messages, extra, max_tokens=max_tokens, model=model, temperature=temperature
                )
            except LLMCallFailed as exc:
                fallback = _FALLBACK[self._mode]
                # Only a server that refuses the request shape may support the next mode; a prompt too long
                # for the context window (kind "context_length"), auth, rate limits and the rest never switch it.
                if self.settings.structured_mode != "auto" or fallback is None or not _shape_refused(exc):
                    raise
                log.warning("%s structured output refused (%s); falling back to %s", self._mode, exc, fallback)
                self._mode = fallback

    def _format_args(self, schema: type[BaseModel]) -> dict[str, Any]:
        if self._mode == "tools":
            return {
                "tools": [tool_for(schema)],
                "tool_choice": {"type": "function", "function": {"name": tool_name(schema)}},
            }
        if self._mode == "json_schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": tool_name(schema), "schema": json_schema(schema)},
                }
            }
        return {"response_format": {"type": "json_object"}}

    @staticmethod
    def _answer_text(completion: _Completion) -> str:
        calls = getattr(completion.message, "tool_calls", None) or []
        for call in calls:
            if getattr(call, "function", None) is not None:
                return call.function.arguments or ""
        return completion.message.content or ""

    # -- one call, retried --------------------------------------------------------------------

    async def _call(
        self,
        role: Role,
        messages: list[Message],
        extra: dict[str, Any],
        *,
        max_tokens: int | None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> tuple[_Completion, CallRecord]:
        settings = self.settings
        model = model or settings.model_for(role)
        temperature = settings.temperature[role] if temperature is None else temperature
        started = time.monotonic()
        queued = 0.0  # time spent waiting for a concurrency slot: neither latency nor part of the total cap
        attempts = 0
        failures: Counter[str] = Counter()
        limit = _process_limit(settings.concurrency)
        # Everything but the model travels as `extra_body`: these are plain JSON already, and openai's
        # typed-parameter transform of messages and tool schemas costs ~2 ms of CPU per call.
        request = {
            "model": model,
            "extra_body": {
                "messages": messages,
                "temperature": temperature,
                "max_tokens": max_tokens or settings.max_tokens_for_provider(),
                **extra,
            },
        }
        try:
            async for attempt in policy(settings.retry):
                with attempt:
                    attempts += 1
                    waiting = time.monotonic()
                    try:
                        async with limit:
                            queued += time.monotonic() - waiting
                            remaining = settings.retry.total_timeout_s - (time.monotonic() - started - queued)
                            timeout = max(0.01, min(settings.timeout_s, remaining))
                            response = await self._openai.chat.completions.create(
                                messages=[], **request, timeout=timeout
                            )
                    except openai.OpenAIError as exc:
                        failures[classify(exc)] += 1
                        raise
            choice = response.choices[0] if response.choices else None
            if choice is None:
                raise LLMCallFailed(f"{role}: the server returned no choices", kind="other", attempts=attempts)
        except openai.OpenAIError as exc:
            kind = classify(exc)
            status = getattr(exc, "status_code", None)
            message = redact(f"{role} call to {model} failed after {attempts} attempt(s): {_short(exc)}", self._secret)
            self._record(role, model, model, 0, 0, started + queued, attempts, failures, error=kind)
            error = ContextLengthExceeded if kind == "context_length" else LLMCallFailed
            raise error(message, kind=kind, attempts=attempts, status=status) from None
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        served = response.model if isinstance(response.model, str) and response.model.strip() else model
        record = self._record(
            role, model, served, prompt_tokens, completion_tokens, started + queued, attempts, failures
        )
        completion = _Completion(choice.message, choice.finish_reason or "stop", prompt_tokens, completion_tokens)
        return completion, record

    def _record(
        self,
        role: Role,
        model: str,
        served_model: str,
        prompt_tokens: int,
        completion_tokens: int,
        started: float,
        attempts: int,
        failures: Counter[str],
        error: str | None = None,
    ) -> CallRecord:
        record = CallRecord(
            role=role,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=time.monotonic() - started,
            attempts=attempts,
            cost_usd=self.settings.cost_usd(model, prompt_tokens, completion_tokens),
            ok=error is None,
            error=error,
            retries_by_kind=tuple(sorted(failures.items())),
            served_model=served_model,
        )
        self.ledger.add(record)
        return record


def _shape_refused(exc: LLMCallFailed) -> bool:
    """The server refused the request's shape (400/404/422), not its length, credentials or rate."""
    return exc.kind == "client_error" and exc.status in _SHAPE_REFUSED


def _short(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {str(exc.message)[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:6]:
            where = ".".join(str(p) for p in err["loc"]) or "(root)"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


def dumps(value: BaseModel) -> str:
    return json.dumps(value.model_dump(mode="json"), ensure_ascii=False)
