"""Errors raised by the LLM seam.

    LLMError
    ├── ProviderUnavailable      the embedded model is not installed, or the server cannot be reached
    ├── LLMCallFailed            a call gave up: non-retryable status, or retries/total cap exhausted
    │   └── ContextLengthExceeded    the prompt does not fit the model's context window (never retried)
    └── StructuredOutputError    no answer validated against the schema within the request budget
        └── AnswerRejected           the last answer validated, but the caller's check refused it (e.g. off-topic)

Messages never contain an API key: `redact` is applied to anything that came from the wire.
"""

from __future__ import annotations

from safeio.errors import HypodebateError


class LLMError(HypodebateError):
    """Base class for every failure of the LLM seam."""


class ProviderUnavailable(LLMError):
    pass


class LLMCallFailed(LLMError):
    def __init__(self, message: str, *, kind: str, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.attempts = attempts
        self.status = status


class ContextLengthExceeded(LLMCallFailed):
    """The server refused the prompt as too long for the model: shorten it or pick a larger model."""


class StructuredOutputError(LLMError):
    """`attempts`: answers asked for; `requests`: HTTP requests spent; `reason`: why the last answer failed."""

    def __init__(self, message: str, *, attempts: int, raw: str, reason: str = "", requests: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.raw = raw
        self.reason = reason or message
        self.requests = requests


class AnswerRejected(StructuredOutputError):
    """The answer matched the schema, but the caller's check refused it (empty, echoed, off-topic turn)."""


def redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text
