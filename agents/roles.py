"""The debate roles: proposer (opening, rebuttal), critic (critique, closing) and judge (verdict).

Each role renders its prompt from prompts/, asks for a structured answer, checks the turn, and
re-asks with the reason when the turn is unusable. Every ask carries a seed drawn from (debate, step,
judge, ask), so replicates and re-asks are independent draws even on a deterministic server.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from agents.checks import TurnRejected, check_turn, topic_terms
from agents.client import LLMClient
from agents.judge import CAPS, VerdictBase, verdict_model
from agents.prompts import PromptSet, Step
from agents.settings import Role
from agents.turns import Closing, Critique, Opening, Rebuttal
from agents.usage import CallRecord, combine
from debates.hypotheses import Hypothesis
from scoring.rubric import Rubric

log = logging.getLogger(__name__)

MaterialOrder = Literal["chronological", "critic-first", "proposer-first"]
ORDER_NOTES: dict[MaterialOrder, str] = {
    "chronological": "",
    "critic-first": "grouped by side: the critic's turns first, then the proposer's (each labelled with its round)",
    "proposer-first": "grouped by side: the proposer's turns first, then the critic's (each labelled with its round)",
}

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


def draw_seed(draw_key: str, step: str, judge: int, ask: int) -> int:
    """A sampling seed for one ask: independent across debates (replicates) and their retries (`draw_key`),
    steps, judges and re-asks."""
    digest = hashlib.sha256(f"{draw_key}:{step}:{judge}:{ask}".encode()).hexdigest()
    return int(digest[:8], 16) % 2**31


def arrange(transcript: Sequence[PriorTurn], order: MaterialOrder) -> list[PriorTurn]:
    """The debate as one judge reads it: in order, or grouped by side with one side first."""
    if order == "chronological":
        return list(transcript)
    first = "critic" if order == "critic-first" else "proposer"
    return [t for t in transcript if t.role == first] + [t for t in transcript if t.role != first]


@dataclass(frozen=True)
class JudgeSeat:
    """Who judge `index` of a panel is: the model asked, the persona it speaks as, the order it reads."""

    index: int
    model: str
    persona: str
    order: MaterialOrder


@dataclass
class Roles:
    client: LLMClient
    prompts: PromptSet
    rubric: Rubric
    turn_retries: int = 2
    _terms: dict[str, set[str]] = field(default_factory=dict)

    async def opening(self, hypothesis: Hypothesis, draw_key: str) -> TurnResult:
        prompt = self.prompts.render("opening", hypothesis=hypothesis, transcript=[])
        return await self._ask("opening", "proposer", 0, prompt, Opening, hypothesis, draw=(draw_key, "opening", 0))

    async def critique(
        self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], round: int, rounds: int, draw_key: str
    ) -> TurnResult:
        prompt = self.prompts.render(
            "critique", hypothesis=hypothesis, transcript=transcript, round=round, rounds=rounds
        )
        draw = (draw_key, f"critique{round}", 0)
        return await self._ask("critique", "critic", round, prompt, Critique, hypothesis, transcript, draw=draw)

    async def rebuttal(
        self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], round: int, rounds: int, draw_key: str
    ) -> TurnResult:
        prompt = self.prompts.render(
            "rebuttal", hypothesis=hypothesis, transcript=transcript, round=round, rounds=rounds
        )
        draw = (draw_key, f"rebuttal{round}", 0)
        return await self._ask("rebuttal", "proposer", round, prompt, Rebuttal, hypothesis, transcript, draw=draw)

    async def closing(
        self, hypothesis: Hypothesis, transcript: Sequence[PriorTurn], round: int, draw_key: str
    ) -> TurnResult:
        prompt = self.prompts.render("closing", hypothesis=hypothesis, transcript=transcript)
        draw = (draw_key, "closing", 0)
        return await self._ask("closing", "critic", round, prompt, Closing, hypothesis, transcript, draw=draw)

    async def verdict(
        self,
        hypothesis: Hypothesis,
        transcript: Sequence[PriorTurn],
        seat: JudgeSeat,
        *,
        draw_key: str,
        version_id: str,
    ) -> TurnResult:
        prompt = self.prompts.render(
            "verdict",
            hypothesis=hypothesis,
            transcript=arrange(transcript, seat.order),
            order_note=ORDER_NOTES[seat.order],
            judge=seat.index,
            version_id=version_id,
            scale=self.rubric.scale,
            dimensions=self.rubric.dimensions,
            caps=CAPS,
        )
        schema = verdict_model(self.rubric)
        round_ = max((t.round for t in transcript), default=0)
        result = await self._ask(
            "verdict",
            "judge",
            round_,
            prompt,
            schema,
            hypothesis,
            draw=(draw_key, "verdict", seat.index),
            on_topic=False,
            system=self.prompts.persona(seat.persona),
            model=seat.model,
        )
        result.payload.update(
            judge=seat.index, persona=seat.persona, order=seat.order, model=result.record.served_model
        )
        return result

    async def _ask(
        self,
        step: Step,
        role: Role,
        round: int,
        prompt: str,
        schema: type[BaseModel],
        hypothesis: Hypothesis,
        transcript: Sequence[PriorTurn] = (),
        *,
        draw: tuple[str, str, int],
        on_topic: bool = True,
        system: str | None = None,
        model: str | None = None,
    ) -> TurnResult:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system or SYSTEM[role]},
            {"role": "user", "content": prompt},
        ]
        records: list[CallRecord] = []
        # on topic = about the hypothesis or about what has been said in this debate
        terms = self._topic(hypothesis) | topic_terms(*(t.text for t in transcript))
        reason = ""
        for ask in range(self.turn_retries + 1):
            # a re-ask samples afresh: servers that fix the seed would otherwise repeat the rejected turn
            seed = draw_seed(*draw, ask)
            reply = await self.client.structured(role, messages, schema, seed=seed, model=model)
            records.append(reply.record)
            value = reply.value
            text = value.text() if isinstance(value, (Opening, Critique, Rebuttal, Closing, VerdictBase)) else reply.raw
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
