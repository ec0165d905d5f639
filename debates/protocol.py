"""What makes two debates comparable: the protocol (rounds, panel, rubric, prompts, models), hashed; built from the
settings by `debate_protocol`, with the judges' seats (`judge_seats`); and the scoreboard a score lands on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.prompts import DEBATE_STEPS, PromptSet
from agents.roles import JudgeSeat
from agents.settings import EMBEDDED_MODEL, ROLES, LLMSettings
from debates.settings import DebateSettings
from store.scoreboards import Board


@dataclass(frozen=True)
class Protocol:
    rounds: int
    judges: int
    early_stop: bool
    rubric_hash: str
    prompt_hashes: dict[str, str]
    provider: str
    models: dict[str, str]
    temperatures: dict[str, float]
    seats: tuple[dict[str, Any], ...] = ()  # per judge: model asked, persona, order of the material
    design: str = "symmetric-closing"  # equal turns and caps per side; the critic has the closing word
    verdict_caps: dict[str, int] = field(default_factory=dict)  # characters: reasoning, each rationale, summary
    evidence: dict[str, Any] = field(default_factory=dict)  # the evidence audit the judges read; {}: none

    def as_dict(self) -> dict[str, Any]:
        audit = {"evidence": dict(sorted(self.evidence.items()))} if self.evidence else {}
        return {
            **audit,
            "design": self.design,
            "seats": [dict(seat) for seat in self.seats],
            "rounds": self.rounds,
            "judges": self.judges,
            "early_stop": self.early_stop,
            "rubric_hash": self.rubric_hash,
            "prompt_hashes": dict(sorted(self.prompt_hashes.items())),
            "provider": self.provider,
            "models": dict(sorted(self.models.items())),
            "temperatures": dict(sorted(self.temperatures.items())),
            "verdict_caps": dict(sorted(self.verdict_caps.items())),
        }

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:12]


def debate_id(hypothesis_hash: str, protocol_hash: str, replicate: int) -> str:
    """Deterministic: the same (hypothesis content, protocol, replicate) is always the same debate."""
    key = f"{hypothesis_hash}:{protocol_hash}:{replicate}"
    return "d-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def judge_seats(llm: LLMSettings, settings: DebateSettings, prompts: PromptSet) -> tuple[JudgeSeat, ...]:
    """The panel: judge k asks llm.judge_model(k), speaks as personas[(k-1) % len] and reads the debate in
    judge_orders[(k-1) % len]. An unknown persona fails here, before anything is stored."""
    seats = tuple(
        JudgeSeat(
            index=k,
            model=llm.judge_model(k),
            persona=settings.personas[(k - 1) % len(settings.personas)],
            order=settings.judge_orders[(k - 1) % len(settings.judge_orders)],
        )
        for k in range(1, settings.judges + 1)
    )
    for seat in seats:
        prompts.persona(seat.persona)
    return seats


def debate_protocol(
    llm: LLMSettings,
    settings: DebateSettings,
    *,
    rubric_hash: str,
    prompts: PromptSet,
    seats: tuple[JudgeSeat, ...],
    verdict_caps: dict[str, int],
    design: str,
    evidence: Mapping[str, Any],
) -> Protocol:
    """The protocol a batch's debates run under: the debate's own prompts (its steps and the personas its seats
    use, not the tournament's pairwise judge), the models and sampling of every role, the seats and the design."""
    used = {f"persona:{seat.persona}" for seat in seats}
    return Protocol(
        rounds=settings.rounds,
        judges=settings.judges,
        early_stop=settings.early_stop,
        rubric_hash=rubric_hash,
        prompt_hashes={k: v for k, v in prompts.hashes.items() if k in DEBATE_STEPS or k in used},
        provider=llm.resolved_provider,
        models={r: llm.model_for(r) for r in ROLES},
        temperatures={r: llm.temperature[r] for r in ROLES},
        seats=tuple({"model": t.model, "persona": t.persona, "order": t.order} for t in seats),
        verdict_caps=verdict_caps,
        design=design,
        evidence=dict(evidence),
    )


def scoreboard(rubric_hash: str, protocol_hash: str, protocol: dict[str, Any], served: Iterable[str]) -> Board:
    """The scoreboard of scores under (rubric, protocol, judge models as served); a demo board when the embedded
    model served any of it or the protocol is the embedded provider's."""
    models = tuple(sorted(set(served)))
    return Board(
        rubric_hash=rubric_hash,
        protocol_hash=protocol_hash,
        judge_models=models,
        demo=EMBEDDED_MODEL in models or protocol.get("provider") == "embedded",
        protocol=protocol,
    )
