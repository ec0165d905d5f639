"""The `debate:` section of config.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DebateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(2, ge=0, le=10)
    judges: int = Field(3, ge=1, le=15)
    replicates: int = Field(1, ge=1, le=100)
    early_stop: bool = True
    turn_retries: int = Field(2, ge=0, le=10)
    concurrency: int = Field(8, ge=1, le=1024)
    lease_s: float = Field(300, gt=0, description="a worker's hold on a debate, renewed at every turn")
