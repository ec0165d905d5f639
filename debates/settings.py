"""The `debate:` and `queue:` sections of config.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MaterialOrder = Literal["chronological", "critic-first", "proposer-first"]
IN_FLIGHT_PER_CALL_SLOT = 4
Rounds = Annotated[int, Field(ge=0, le=10)]  # critique and rebuttal rounds of a debate
Judges = Annotated[int, Field(ge=1, le=15)]  # judges on a panel (and judge k's number)


class DebateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: Rounds = 2
    judges: Judges = 3
    replicates: int = Field(1, ge=1, le=100)
    early_stop: bool = True
    # debates in flight; 0: IN_FLIGHT_PER_CALL_SLOT per call slot (llm.concurrency), so that some step of some debate
    # is ready whenever a slot frees (a debate makes one call at a time until its judges)
    in_flight: int = Field(0, ge=0, le=4096)
    # judge k of a panel speaks as personas[(k-1) % len] (prompts/judge_personas/<name>.md) and reads the
    # debate in judge_orders[(k-1) % len]; its model is llm.models.judges[(k-1) % len] when that is set
    personas: list[str] = Field(
        default_factory=lambda: ["clinician", "geneticist", "medicinal_chemist"], min_length=1, max_length=15
    )
    judge_orders: list[MaterialOrder] = Field(
        default_factory=lambda: ["chronological", "critic-first", "proposer-first"], min_length=1, max_length=15
    )

    def debates_in_flight(self, call_slots: int) -> int:
        """How many debates a batch runs at once, given the process's LLM call slots."""
        return self.in_flight or IN_FLIGHT_PER_CALL_SLOT * call_slots


class QueueSettings(BaseModel):
    """The `queue:` section of config.yaml: how workers share a PostgreSQL store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heartbeat_s: float = Field(10, gt=0, description="a worker's heartbeat interval")
    stalled_s: float = Field(30, gt=0, description="a worker silent this long is gone: its jobs are retried")
    recover_every_s: int = Field(10, ge=1, le=59, description="how often a worker looks for stalled jobs")
    grace_s: float = Field(60, ge=0, description="a stopping worker's time to finish its jobs before handing them back")
    poll_s: float = Field(5, gt=0, description="a worker's poll for jobs, besides LISTEN/NOTIFY")
    max_attempts: int = Field(
        20, ge=1, description="runs of a job that can succeed later: stops, busy debates, lost connections"
    )
    retry_wait_s: int = Field(2, ge=0, description="added wait before each further attempt (linear)")
