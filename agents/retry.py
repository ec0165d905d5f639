"""Which failures are retried, and how long to wait: one tenacity policy per call."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from agents.settings import RetrySettings

ErrorKind = Literal["rate_limit", "server_error", "timeout", "connection", "context_length", "client_error", "other"]

# How servers say "the prompt does not fit the model": OpenAI's error code, then the wording of
# OpenAI, vLLM, llama.cpp, Ollama, LiteLLM and friends (matched case-insensitively).
_CONTEXT_LENGTH_CODES = frozenset({"context_length_exceeded"})
_CONTEXT_LENGTH_PHRASES = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "too many tokens",
    "exceeds the context",
    "context size",  # llama.cpp: "the request exceeds the available context size"
    "prompt is too long",
)


def classify(exc: BaseException) -> ErrorKind:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "rate_limit"
        if exc.status_code >= 500:
            return "server_error"
        if is_context_length(exc):
            return "context_length"
        return "client_error"
    return "other"


def is_context_length(exc: BaseException) -> bool:
    """A 400 (or 413/422) saying the prompt is too long for the model's context window."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 413, 422):
        return False
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code.lower() in _CONTEXT_LENGTH_CODES:
        return True
    body = getattr(exc, "body", None)
    text = " ".join(str(part) for part in (getattr(exc, "message", ""), body) if part).lower()
    return any(phrase in text for phrase in _CONTEXT_LENGTH_PHRASES)


def is_retryable(exc: BaseException) -> bool:
    return classify(exc) in ("rate_limit", "server_error", "timeout", "connection")


def retry_after_s(exc: BaseException) -> float | None:
    """The server's own wait hint: `retry-after-ms`, then `retry-after` (seconds or an HTTP date)."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    if (value := headers.get("retry-after")) is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    return None


class _WaitRetryAfterOrBackoff:
    def __init__(self, settings: RetrySettings) -> None:
        self.backoff = wait_exponential_jitter(
            multiplier=settings.initial_backoff_s,
            max=settings.max_backoff_s,
            jitter=settings.initial_backoff_s,
        )

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after_s(exc) if exc is not None else None
        return hinted if hinted is not None else self.backoff(state)


Sleep = Callable[[float], Awaitable[None]]


class _StopBeforeTotal(stop_base):
    """Stop when the next wait would end past `total_s`: elapsed time, or the waits so far where the sleep
    is not a real one (an injected `sleep` in tests), whichever is larger, plus the upcoming wait."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s

    def __call__(self, state: RetryCallState) -> bool:
        spent = max(state.seconds_since_start or 0.0, state.idle_for)
        return spent + state.upcoming_sleep >= self.total_s


def policy(settings: RetrySettings, *, max_attempts: int | None = None, sleep: Sleep | None = None) -> AsyncRetrying:
    """Retry 429 (honouring Retry-After), 5xx, timeouts and connection errors; never other 4xx
    (a prompt too long for the context window included).

    `max_attempts` (default: the settings') and `total_timeout_s` bound all attempts of one call together:
    a wait that would end past the total cap is not started. `sleep` waits between attempts (default
    `asyncio.sleep`; tests pass a recorder and never sleep).
    """
    attempts = settings.max_attempts if max_attempts is None else max(1, min(max_attempts, settings.max_attempts))
    return AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(attempts) | _StopBeforeTotal(settings.total_timeout_s),
        wait=_WaitRetryAfterOrBackoff(settings),
        sleep=sleep or asyncio.sleep,
        reraise=True,
    )
