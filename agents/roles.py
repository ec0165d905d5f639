"""The debate roles: proposer (opening, rebuttal), critic (critique) and judge (verdict).

Each role renders its prompt from prompts/, asks for a structured answer, checks the turn, and
re-asks with the reason when the turn is unusable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agents.checks import TurnRejected, check_turn, topic_terms
from agents.client import LLMClient
from agents.judge import VerdictBase, verdict_model
from agents.prompts import PromptSet, Step
from agents.settings import Role
from agents.turns import Critique, Opening, Rebuttal
from agents.usage import CallRecord, combine
from debates.hypotheses import Hypothesis
from scoring.rubric import Rubric

log = logging.getLogger(__name__)

SYSTEM = {
    "proposer": "You are the proposer in a structured scientific debate. Be specific and cite evidence.",
    "critic": "You are the critic in a structured scientific debate. Be rigorous, specific and fair.",
    "judge": "You are an independent judge on a scientific review panel. Score strictly by the rubric.",
}


@dataclass(frozen=True)
class TurnResult:
    step: Step
    role: Role
    round: int
    text: str
    payload: dict[str, Any]
    record: CallRecord
    prompt_hash: str


@dataclass(frozen=True)
class PriorTurn:
    """A turn already in the transcript, as later speakers (and the router) see it."""

    role: str
    step: str
    round: int
    text: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, result: TurnResult) -> PriorTurn:
        return cls(result.role, result.step, result.round, result.text, result.payload)


class TurnFailed(Exception):
    """A role could not produce a usable turn; `step` says where the debate stopped."""

    def __init__(self, step: Step, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class Roles:
    client: LLMClient
    prompts: PromptSet
    rubric: Rubric
    turn_retries: int = 2
    _terms: dict[str, set[str]] = field(default_factory=dict)

    async def opening(self, hypothesis: Hypothesis) -> TurnResult:
        prompt = self.prompts.render("opening", hypothesis=hypothesis, transcript=[])
        return await self._ask("opening", "proposer", 0, prompt, Opening, hypothesis)

    async def critique(
        self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], round: int, rounds: int
    ) -> TurnResult:
        prompt = self.prompts.render(
            "critique", hypothesis=hypothesis, transcript=transcript, round=round, rounds=rounds
        )
        return await self._ask("critique", "critic", round, prompt, Critique, hypothesis, transcript=transcript)

    async def rebuttal(
        self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], round: int, rounds: int
    ) -> TurnResult:
        prompt = self.prompts.render(
            "rebuttal", hypothesis=hypothesis, transcript=transcript, round=round, rounds=rounds
        )
        return await self._ask("rebuttal", "proposer", round, prompt, Rebuttal, hypothesis, transcript=transcript)

    async def verdict(self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], judge: int) -> TurnResult:
        prompt = self.prompts.render(
            "verdict",
            hypothesis=hypothesis,
            transcript=transcript,
            judge=judge,
            scale=self.rubric.scale,
            dimensions=self.rubric.dimensions,
        )
        schema = verdict_model(self.rubric)
        round_ = max((t.round for t in transcript), default=0)
        return await self._ask("verdict", "judge", round_, prompt, schema, hypothesis, seed=judge, on_topic=False)

    async def _ask(
        self,
        step: Step,
        role: Role,
        round: int,
        prompt: str,
        schema: type[BaseModel],
        hypothesis: Hypothesis,
        *,
        seed: int | None = None,
        on_topic: bool = True,
        transcript: Sequence[PriorTurn] = (),
    ) -> TurnResult:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM[role]},
            {"role": "user", "content": prompt},
        ]
        records: list[CallRecord] = []
        # on topic = about the hypothesis or about what has been said in this debate
        terms = self._topic(hypothesis) | topic_terms(*(t.text for t in transcript))
        reason = ""
        for ask in range(self.turn_retries + 1):
            # a re-ask samples afresh: servers that fix the seed would otherwise repeat the rejected turn
            reply = await self.client.structured(role, messages, schema, seed=(seed or 0) * 100 + ask * 10)
            records.append(reply.record)
            value = reply.value
            text = value.text() if isinstance(value, (Opening, Critique, Rebuttal, VerdictBase)) else reply.raw
            try:
                check_turn(text, prompt=prompt, terms=terms, symbols=hypothesis.targets, on_topic=on_topic)
            except TurnRejected as exc:
                reason = str(exc)
                log.info("%s turn rejected (%s): %.200r", step, reason, text)
                messages = [
                    *messages[:2],
                    {"role": "assistant", "content": reply.raw[:4000]},
                    {"role": "user", "content": f"That turn was rejected: {reason}. Answer the task again."},
                ]
                continue
            return TurnResult(
                step=step,
                role=role,
                round=round,
                text=text,
                payload=value.model_dump(mode="json"),
                record=combine(records),
                prompt_hash=self.prompts.hashes[step],
            )
        raise TurnFailed(step, f"{reason} ({self.turn_retries + 1} asks)")

    def _topic(self, hypothesis: Hypothesis) -> set[str]:
        key = hypothesis.content_hash
        if key not in self._terms:
            self._terms[key] = topic_terms(
                hypothesis.title, hypothesis.mechanism, " ".join(hypothesis.diseases), hypothesis.label
            )
        return self._terms[key]
