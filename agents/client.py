"""The one path to every language model: openai.AsyncOpenAI + tenacity + structured output + accounting.

`LLMClient.structured()` returns a validated pydantic object. It is the one re-ask loop: an answer that
fails the schema, or the caller's `check` (a debate turn that is empty, echoed or off-topic), is asked
again from a fresh context (the original messages and the reason, never the rejected answer) with a new
seed, until `max_requests` HTTP requests (default `llm.max_requests_per_turn`) are spent. Transport
retries (tenacity: 429, 5xx, timeouts, dropped connections) count against the same budget, so one turn
never costs more requests than that. Every request is recorded as a `CallRecord` (tokens, latency,
attempts = HTTP requests, cost, requested and served model) in the client's ledger.

openai (about half a second to import, and more to tear down at exit) and tenacity are imported, and openai's
client made, when the first request is sent: a command that asks nothing (a finished batch run again) pays for
neither.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from agents.errors import AnswerRejected, ContextLengthExceeded, LLMCallFailed, StructuredOutputError, redact
from agents.settings import LLMSettings, Role
from agents.slots import CallSlots
from agents.structured import extract_json, json_schema, tool_for, tool_name
from agents.usage import CallRecord, Ledger, combine

if TYPE_CHECKING:
    import httpx2
    import openai

    from agents.retry import Sleep

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

# One limit per process (per event loop), shared by every client and every call; waiters are served by priority.
_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CallSlots] = weakref.WeakKeyDictionary()


def _process_limit(size: int) -> CallSlots:
    loop = asyncio.get_running_loop()
    if loop not in _LIMITS:
        _LIMITS[loop] = CallSlots(size)
    return _LIMITS[loop]


@dataclass(frozen=True, slots=True)
class StructuredReply(Generic[T]):
    value: T
    raw: str
    record: CallRecord  # every request made for this answer, summed (re-asks and transport retries included)
    asks: int = 1  # answers asked for: 1 when the first answer was kept


class _Budget:
    """HTTP requests left for one answer; every attempt of every call spends one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return self.limit - self.used


@dataclass(frozen=True, slots=True)
class _Completion:
    message: dict[str, Any]  # the choice's message as the server sent it (JSON)
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
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep  # waits between transport retries (None: asyncio.sleep); tests record them instead
        self.ledger = ledger if ledger is not None else Ledger()
        self._secret = settings.api_key.get_secret_value() if settings.api_key else None
        self._http_client = http_client
        self._api: openai.AsyncOpenAI | None = None
        self._mode: StructuredMode = "tools" if settings.structured_mode == "auto" else settings.structured_mode

    @property
    def _openai(self) -> openai.AsyncOpenAI:
        """openai's client, made on first use (openai is imported then)."""
        if self._api is None:
            import openai

            self._api = openai.AsyncOpenAI(
                api_key=self._secret or "not-needed",
                base_url=self.settings.base_url or ("http://embedded.local/v1" if self._http_client else None),
                max_retries=0,
                timeout=self.settings.timeout_s,
                http_client=self._http_client,
            )
        return self._api

    @property
    def base_url(self) -> str:
        return str(self._openai.base_url)

    async def aclose(self) -> None:
        """Close openai's client, or the HTTP client given to it when no request was ever sent."""
        if self._api is not None:
            await self._api.close()
        elif self._http_client is not None:
            await self._http_client.aclose()

    async def list_models(self) -> list[str]:
        page = await self._openai.models.list()
        return [m.id for m in page.data]

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
        check: Callable[[T], None] | None = None,
        max_requests: int | None = None,
    ) -> StructuredReply[T]:
        """Ask for an instance of `schema` that `check` (if given) accepts; re-ask, then raise.

        `check` raises ValueError with a reason to reject a valid answer. Each re-ask starts from `messages`
        again (the rejected answer is not shown back: small models copy it) with the reason appended, and
        samples afresh (`seed + ask - 1`). At most `max_requests` HTTP requests in all (default
        `llm.max_requests_per_turn`), transport retries included. `model`/`temperature` replace the role's
        configured ones for this call. Raises StructuredOutputError (AnswerRejected when the last answer
        validated but `check` refused it), or LLMCallFailed when the transport gave up.
        """
        budget = _Budget(max_requests or self.settings.max_requests_per_turn)
        conversation = list(messages)
        raw = ""
        last_error = ""
        rejected = False
        asks = 0
        records: list[CallRecord] = []
        while budget.left > 0:
            asks += 1
            ask_seed = None if seed is None else (seed + asks - 1) % 2**31  # each re-ask samples afresh
            completion, record = await self._structured_call(
                role, conversation, schema, max_tokens, ask_seed, budget, model=model, temperature=temperature
            )
            records.append(record)
            raw = self._answer_text(completion)
            rejected = False
            try:
                if completion.finish_reason == "length":
                    raise ValueError("the answer was cut off at the token limit")
                value = schema.model_validate(extract_json(raw))
            except (ValueError, ValidationError) as exc:
                last_error = _describe(exc)
                log.info("structured answer from %s invalid (ask %d): %s", role, asks, last_error)
            else:
                try:
                    if check is not None:
                        check(value)
                    return StructuredReply(value=value, raw=raw, record=combine(records), asks=asks)
                except ValueError as exc:
                    last_error, rejected = str(exc), True
                    log.info("answer from %s rejected (ask %d): %s: %.200r", role, asks, last_error, raw)
            conversation = _reask(messages, last_error, schema)
        summary = f"{asks} asks, {budget.used} requests (llm.max_requests_per_turn = {budget.limit})"
        error = AnswerRejected if rejected else StructuredOutputError
        raise error(
            f"{role}: no valid {schema.__name__} after {summary}: {last_error}",
            attempts=asks,
            raw=raw,
            reason=last_error,
            requests=budget.used,
        )

    async def _structured_call(
        self,
        role: Role,
        messages: list[Message],
        schema: type[T],
        max_tokens: int | None,
        seed: int | None,
        budget: _Budget,
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
                    role, messages, extra, budget, max_tokens=max_tokens, model=model, temperature=temperature
                )
            except LLMCallFailed as exc:
                fallback = _FALLBACK[self._mode]
                # Only a server that refuses the request shape may support the next mode; a prompt too long
                # for the context window (kind "context_length"), auth, rate limits and the rest never switch it.
                if (
                    self.settings.structured_mode != "auto"
                    or fallback is None
                    or not _shape_refused(exc)
                    or budget.left <= 0
                ):
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
        for call in _items(completion.message.get("tool_calls")):
            if isinstance(function := call.get("function"), dict):
                arguments = function.get("arguments") or ""
                return arguments if isinstance(arguments, str) else json.dumps(arguments)  # some servers send objects
        content = completion.message.get("content")
        return content if isinstance(content, str) else ""

    # -- one call, retried --------------------------------------------------------------------

    async def _call(
        self,
        role: Role,
        messages: list[Message],
        extra: dict[str, Any],
        budget: _Budget,
        *,
        max_tokens: int | None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> tuple[_Completion, CallRecord]:
        import openai  # here, not at the top: see the docstring

        from agents.retry import classify, policy

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
            async for attempt in policy(settings.retry, max_attempts=budget.left, sleep=self._sleep):
                with attempt:
                    attempts += 1
                    budget.used += 1
                    waiting = time.monotonic()
                    try:
                        async with limit:
                            queued += time.monotonic() - waiting
                            remaining = settings.retry.total_timeout_s - (time.monotonic() - started - queued)
                            timeout = max(0.01, min(settings.timeout_s, remaining))
                            response = await self._openai.chat.completions.with_raw_response.create(
                                messages=[], **request, timeout=timeout
                            )
                    except openai.OpenAIError as exc:
                        failures[classify(exc)] += 1
                        raise
            # The completion is read from its JSON: openai's typed objects cost ~0.5 ms of CPU per call to build,
            # for the five fields read here.
            body = _json_object(response.http_response)
            choice = next(iter(_items(body.get("choices"))), None)
            if choice is None:
                raise LLMCallFailed(f"{role}: the server returned no choices", kind="other", attempts=attempts)
        except openai.OpenAIError as exc:
            kind = classify(exc)
            status = getattr(exc, "status_code", None)
            message = redact(f"{role} call to {model} failed after {attempts} attempt(s): {_short(exc)}", self._secret)
            self._record(role, model, model, 0, 0, started + queued, attempts, failures, error=kind)
            error = ContextLengthExceeded if kind == "context_length" else LLMCallFailed
            raise error(message, kind=kind, attempts=attempts, status=status) from None
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        prompt_tokens, completion_tokens = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = min(_count(details.get("cached_tokens")), prompt_tokens) if isinstance(details, dict) else 0
        named = body.get("model")
        served = named if isinstance(named, str) and named.strip() else model
        record = self._record(
            role, model, served, prompt_tokens, completion_tokens, started + queued, attempts, failures, cached=cached
        )
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        completion = _Completion(message, choice.get("finish_reason") or "stop", prompt_tokens, completion_tokens)
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
        cached: int = 0,
    ) -> CallRecord:
        cost = self.settings.cost_usd(model, prompt_tokens, completion_tokens, cached)
        if cost is None:
            warn_unpriced(model)
        record = CallRecord(
            role=role,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=time.monotonic() - started,
            attempts=attempts,
            cost_usd=cost,
            ok=error is None,
            error=error,
            retries_by_kind=tuple(sorted(failures.items())),
            served_model=served_model,
            cached_prompt_tokens=cached,
        )
        self.ledger.add(record)
        return record


_WARNED: set[str] = set()


def warn_unpriced(model: str) -> None:
    """Warn once per process that `model` has no price: its calls' cost is unknown (shown as —), never $0."""
    if model not in _WARNED:
        _WARNED.add(model)
        log.warning("%s has no price in llm.prices: its cost is unknown (shown as —); add it to config.yaml", model)


def _json_object(response: httpx2.Response) -> dict[str, Any]:
    """The response's JSON object; an empty one when the body is not a JSON object."""
    try:
        body = response.json()
    except ValueError:  # not JSON (json.JSONDecodeError), or not text
        return {}
    return body if isinstance(body, dict) else {}


def _items(value: object) -> list[dict[str, Any]]:
    """The objects of a JSON list (`choices`, `tool_calls`); nothing when it is not one."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _count(value: object) -> int:
    """A token count as the server sent it; 0 when it sent none (or not a number)."""
    return value if isinstance(value, int) else 0


def _shape_refused(exc: LLMCallFailed) -> bool:
    """The server refused the request's shape (400/404/422), not its length, credentials or rate."""
    return exc.kind == "client_error" and exc.status in _SHAPE_REFUSED


def _short(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {str(exc.message)[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _reask(messages: list[Message], reason: str, schema: type[BaseModel]) -> list[Message]:
    """A fresh context for a re-ask: the original messages, the last one followed by why the answer failed."""
    note = (
        f"\n\nAn earlier answer to this task was rejected as invalid: {reason}\n"
        f"Answer the task again with one JSON object that matches the {tool_name(schema)} schema exactly."
    )
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last.get('content') or ''}{note}"}]


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:6]:
            where = ".".join(str(p) for p in err["loc"]) or "(root)"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)
