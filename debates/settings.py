"""The `debate:` section of config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MaterialOrder = Literal["chronological", "critic-first", "proposer-first"]


class DebateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(2, ge=0, le=10)
    judges: int = Field(3, ge=1, le=15)
    replicates: int = Field(1, ge=1, le=100)
    early_stop: bool = True
    concurrency: int = Field(8, ge=1, le=1024)
    lease_s: float = Field(300, gt=0, description="a worker's hold on a debate, renewed while it runs")
    # judge k of a panel speaks as personas[(k-1) % len] (prompts/judge_personas/<name>.md) and reads the
    # debate in judge_orders[(k-1) % len]; its model is llm.models.judges[(k-1) % len] when that is set
    personas: list[str] = Field(
        default_factory=lambda: ["clinician", "geneticist", "medicinal_chemist"], min_length=1, max_length=15
    )
    judge_orders: list[MaterialOrder] = Field(
        default_factory=lambda: ["chronological", "critic-first", "proposer-first"], min_length=1, max_length=15
    )
