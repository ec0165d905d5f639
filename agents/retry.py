"""Which failures are retried, and how long to wait: one tenacity policy per call."""

from __future__ import annotations

import email.utils
import time
from typing import Literal

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from agents.settings import RetrySettings

ErrorKind = Literal["rate_limit", "server_error", "timeout", "connection", "client_error", "other"]


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
        return "client_error"
    return "other"


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


def policy(settings: RetrySettings) -> AsyncRetrying:
    """Retry 429 (honouring Retry-After), 5xx, timeouts and connection errors; never other 4xx.

    `max_attempts` and `total_timeout_s` bound all attempts of one call together: a wait that would
    end past the total cap is not started.
    """
    return AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(settings.max_attempts) | stop_before_delay(settings.total_timeout_s),
        wait=_WaitRetryAfterOrBackoff(settings),
        reraise=True,
    )
