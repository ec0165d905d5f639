"""What makes two debates comparable: the protocol (rounds, panel, rubric, prompts, models), hashed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


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
