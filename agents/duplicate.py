"""The duplicate check: do two hypotheses make the same claim? Asked only for the close calls that embeddings and
fields cannot settle (debates/dedup.py): a pair in the band below certainty, or one whose texts claim opposite
effects on a shared target.

The answer is structured, reasoning first: `same_claim` (same | different) and the main `difference` (none, target,
disease, mechanism, direction, other). An answer that says "same" while naming a difference contradicts itself and
counts as different: a merge needs both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agents.checks import check_turn
from agents.judge import capped_text
from agents.prompts import PromptSet
from agents.roles import ask_or_fail, draw_seed
from agents.usage import CallRecord

if TYPE_CHECKING:
    from agents.client import LLMClient

REASONING_CAP = 400
SameClaim = Literal["same", "different"]
Difference = Literal["none", "target", "disease", "mechanism", "direction", "other"]


class Claimed(Protocol):
    """What the duplicate check reads of a hypothesis (debates.hypotheses.Hypothesis has it)."""

    @property
    def title(self) -> str: ...

    @property
    def targets(self) -> Sequence[str]: ...

    @property
    def diseases(self) -> Sequence[str]: ...

    @property
    def mechanism(self) -> str: ...

    @property
    def content_hash(self) -> str: ...


class DuplicateAnswer(BaseModel):
    """Whether hypotheses A and B make the same claim, and if not, the main difference."""

    model_config = ConfigDict(extra="forbid")

    reasoning: capped_text(REASONING_CAP) = Field(  # type: ignore[valid-type]
        description="compare targets, diseases, mechanisms and the direction of the effect, before deciding"
    )
    same_claim: SameClaim = Field(description="same: one claim, reworded; different: anything else")
    difference: Difference = Field(description="none when same; else the main difference")


@dataclass(frozen=True)
class DuplicateVerdict:
    same: bool  # the decision: "same" with no difference named
    same_claim: SameClaim  # as the model answered
    difference: Difference
    reasoning: str
    record: CallRecord
    prompt_hash: str
    asks: int


@dataclass
class DuplicateCheck:
    client: LLMClient
    prompts: PromptSet

    @property
    def prompt_hash(self) -> str:
        return self.prompts.hashes["duplicate"]

    async def check(self, first: Claimed, second: Claimed) -> DuplicateVerdict:
        """Does `second` make the claim `first` makes? `first` is shown as A (the earlier hypothesis), `second` as
        B. Raises TurnFailed when no valid answer came."""
        prompt = self.prompts.render("duplicate", first=first, second=second, reasoning_cap=REASONING_CAP)

        def check(value: DuplicateAnswer) -> None:
            check_turn(value.reasoning, prompt=prompt, terms=set(), symbols=[], on_topic=False)

        seed = draw_seed(f"{first.content_hash}:{second.content_hash}", "duplicate", 0, 0)
        system = self.prompts.system
        reply = await ask_or_fail(
            self.client, "duplicate", "deduplicator", system, prompt, DuplicateAnswer, seed=seed, check=check
        )
        value = reply.value
        return DuplicateVerdict(
            same=value.same_claim == "same" and value.difference == "none",
            same_claim=value.same_claim,
            difference=value.difference,
            reasoning=value.reasoning,
            record=reply.record,
            prompt_hash=self.prompt_hash,
            asks=reply.asks,
        )
