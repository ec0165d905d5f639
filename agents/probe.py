"""One small structured call that tells whether a provider works end to end (`hypodebate doctor`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from agents.client import LLMClient


class ProbeAnswer(BaseModel):
    """Answer a short biology question."""

    answer: str = Field(max_length=80, description="the organelle's name")
    confidence: Literal[1, 2, 3, 4, 5] = Field(description="1 = guessing, 5 = certain")


PROBE_MESSAGES = [
    {"role": "system", "content": "You answer briefly and call the provided function."},
    {"role": "user", "content": "Which organelle produces most of a neuron's ATP?"},
]


@dataclass(frozen=True)
class ProbeResult:
    models: list[str] | None
    models_error: str | None
    list_latency_s: float
    answer: ProbeAnswer | None
    answer_error: str | None
    latency_s: float
    attempts: int
    tokens: int


async def probe(client: LLMClient) -> ProbeResult:
    started = time.monotonic()
    models: list[str] | None = None
    models_error = None
    try:
        models = await client.list_models()
    except Exception as exc:  # any failure is the finding here; doctor reports it
        models_error = f"{type(exc).__name__}: {exc}"
    list_latency = time.monotonic() - started
    started = time.monotonic()
    answer = None
    answer_error = None
    attempts = tokens = 0
    try:
        reply = await client.structured("judge", PROBE_MESSAGES, ProbeAnswer, max_tokens=120)
        answer, attempts, tokens = reply.value, reply.record.attempts, reply.record.total_tokens
    except Exception as exc:  # reported, not raised: doctor shows what went wrong
        answer_error = f"{type(exc).__name__}: {exc}"
    return ProbeResult(
        models, models_error, list_latency, answer, answer_error, time.monotonic() - started, attempts, tokens
    )
