"""The debate roles: proposer (opening, rebuttal), critic (critique, closing) and judge (verdict).

Each role renders its prompt from prompts/ and asks the client for a structured answer that passes the
turn checks (agents/checks.py). The client's one re-ask loop asks again, from a fresh context and with a
new seed, until `llm.max_requests_per_turn` HTTP requests are spent. The first ask's seed is drawn from
(debate, step, judge), so replicates and re-asks are independent draws even on a deterministic server.

Roles take the hypothesis as `agents.subject.Subject` (a Protocol), never a type from a part above.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from agents.audit import EvidenceBrief, Penalty, apply_penalty
from agents.checks import check_turn, topic_terms
from agents.errors import AnswerRejected, StructuredOutputError
from agents.judge import CAPS, VerdictBase, verdict_model
from agents.prompts import PromptSet, Step
from agents.settings import Role
from agents.subject import Subject
from agents.turns import NO_TARGET, Closing, Critique, Opening, Rebuttal, critique_model
from agents.usage import CallRecord
from safeio.errors import HypodebateError
from scoring.rubric import Rubric

if TYPE_CHECKING:
    from agents.client import LLMClient, StructuredReply

T = TypeVar("T", bound=BaseModel)
MaterialOrder = Literal["chronological", "critic-first", "proposer-first"]
ORDER_NOTES: dict[MaterialOrder, str] = {
    "chronological": "",
    "critic-first": "grouped by side: the critic's turns first, then the proposer's (each labelled with its round)",
    "proposer-first": "grouped by side: the proposer's turns first, then the critic's (each labelled with its round)",
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
    asks: int = 1  # answers asked for this turn: more than 1 when it needed re-asks


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


class TurnFailed(HypodebateError):
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


async def ask_or_fail(
    client: LLMClient,
    step: Step,
    role: Role,
    system: str,
    prompt: str,
    schema: type[T],
    *,
    seed: int,
    check: Callable[[T], None],
    model: str | None = None,
    max_tokens: int | None = None,
) -> StructuredReply[T]:
    """One structured answer to `prompt` (after the shared system message), re-asked by the client until it passes
    `check`; TurnFailed(step) when none did. `max_tokens`: room for the answer (default: the configured limit)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    try:
        return await client.structured(
            role, messages, schema, seed=seed, model=model, check=check, max_tokens=max_tokens
        )
    except AnswerRejected as exc:
        raise TurnFailed(step, f"{exc.reason} ({exc.attempts} asks, {exc.requests} requests)") from None
    except StructuredOutputError as exc:
        raise TurnFailed(step, str(exc)) from None


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
    _terms: dict[str, set[str]] = field(default_factory=dict)

    async def opening(self, hypothesis: Subject, draw_key: str) -> TurnResult:
        prompt = self.prompts.render("opening", hypothesis=hypothesis, transcript=[])
        return await self._ask("opening", "proposer", 0, prompt, Opening, hypothesis, draw=(draw_key, "opening", 0))

    def _round(
        self, step: str, hypothesis: Subject, transcript: Sequence[PriorTurn], round: int, rounds: int, draw_key: str
    ) -> tuple[str, tuple[str, str, int]]:
        """A critique's or rebuttal's prompt and its draw (its seed's key)."""
        prompt = self.prompts.render(step, hypothesis=hypothesis, transcript=transcript, round=round, rounds=rounds)
        return prompt, (draw_key, f"{step}{round}", 0)

    async def critique(
        self, hypothesis: Subject, transcript: Sequence[PriorTurn], round: int, rounds: int, draw_key: str
    ) -> TurnResult:
        prompt, draw = self._round("critique", hypothesis, transcript, round, rounds, draw_key)
        schema = critique_model(tuple(hypothesis.targets) or (NO_TARGET,), citations(hypothesis))
        return await self._ask("critique", "critic", round, prompt, schema, hypothesis, transcript, draw=draw)

    async def rebuttal(
        self, hypothesis: Subject, transcript: Sequence[PriorTurn], round: int, rounds: int, draw_key: str
    ) -> TurnResult:
        prompt, draw = self._round("rebuttal", hypothesis, transcript, round, rounds, draw_key)
        return await self._ask("rebuttal", "proposer", round, prompt, Rebuttal, hypothesis, transcript, draw=draw)

    async def closing(
        self, hypothesis: Subject, transcript: Sequence[PriorTurn], round: int, draw_key: str
    ) -> TurnResult:
        prompt = self.prompts.render("closing", hypothesis=hypothesis, transcript=transcript)
        draw = (draw_key, "closing", 0)
        return await self._ask("closing", "critic", round, prompt, Closing, hypothesis, transcript, draw=draw)

    async def verdict(
        self,
        hypothesis: Subject,
        transcript: Sequence[PriorTurn],
        seat: JudgeSeat,
        *,
        draw_key: str,
        version_id: str,
        audit: EvidenceBrief | None = None,
        penalty: Penalty | None = None,
    ) -> TurnResult:
        """One judge's verdict. With `audit`, the judge reads the evidence audit; with `penalty` too, a flagged
        audit caps the penalised dimension in code (the payload says what was capped and why)."""
        caps = self.verdict_caps()
        prompt = self.prompts.render(
            "verdict",
            hypothesis=hypothesis,
            transcript=arrange(transcript, seat.order),
            order_note=ORDER_NOTES[seat.order],
            judge=seat.index,
            version_id=version_id,
            scale=self.rubric.scale,
            dimensions=self.rubric.dimensions,
            caps=caps,
            persona=self.prompts.persona(seat.persona),
            audit=audit,
        )
        schema = verdict_model(self.rubric, caps)
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
            model=seat.model,
        )
        result.payload.update(
            judge=seat.index, persona=seat.persona, order=seat.order, model=result.record.served_model
        )
        if audit is not None:
            result.payload["evidence_audit"] = audit.as_dict()
            capped = apply_penalty(result.payload["scores"], audit, penalty)
            if capped is not None:
                result.payload["evidence_capped"] = capped
        return result

    async def _ask(
        self,
        step: Step,
        role: Role,
        round: int,
        prompt: str,
        schema: type[BaseModel],
        hypothesis: Subject,
        transcript: Sequence[PriorTurn] = (),
        *,
        draw: tuple[str, str, int],
        on_topic: bool = True,
        model: str | None = None,
    ) -> TurnResult:
        # on topic = about the hypothesis or about what has been said in this debate
        terms = self._topic(hypothesis) | topic_terms(*(t.text for t in transcript))

        def check(value: BaseModel) -> None:
            said = value.said() if isinstance(value, Critique) else turn_text(value)
            check_turn(said, prompt=prompt, terms=terms, symbols=list(hypothesis.targets), on_topic=on_topic)

        reply = await ask_or_fail(
            self.client,
            step,
            role,
            self.prompts.system,
            prompt,
            schema,
            seed=draw_seed(*draw, 0),
            check=check,
            model=model,
        )
        return TurnResult(
            step=step,
            role=role,
            round=round,
            text=turn_text(reply.value),
            payload=reply.value.model_dump(mode="json"),
            record=reply.record,
            prompt_hash=self.prompts.hashes[step],
            asks=reply.asks,
        )

    def verdict_caps(self) -> dict[str, int]:
        """The verdict's length caps: `CAPS`, or the embedded model's tighter `llm.embedded.verdict_caps`."""
        settings = self.client.settings
        if settings.resolved_provider != "embedded":
            return CAPS
        return settings.embedded.verdict_caps.model_dump()

    def _topic(self, hypothesis: Subject) -> set[str]:
        key = hypothesis.content_hash
        if key not in self._terms:
            self._terms[key] = topic_terms(
                hypothesis.title, hypothesis.mechanism, " ".join(hypothesis.diseases), hypothesis.label
            )
        return self._terms[key]


def turn_text(value: BaseModel) -> str:
    """What later speakers and the judges read of a turn."""
    if isinstance(value, (Opening, Critique, Rebuttal, Closing, VerdictBase)):
        return value.text()
    return value.model_dump_json()


def citations(hypothesis: Subject) -> tuple[str, ...]:
    """The citations given with the hypothesis, in order, each once: what a critique may name."""
    return tuple(dict.fromkeys(e.citation for e in hypothesis.evidence if e.citation))
