"""What a finished debate scored: its panel's composite scores (each verdict's composite computed once), the
rounds it ran, the revision it offered and the scoreboard the score lands on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.roles import PriorTurn
from debates.protocol import Protocol, scoreboard
from scoring.composite import PanelScore, composite, panel
from scoring.rubric import Rubric
from store.scoreboards import Board


@dataclass
class Tally:
    """The composites of one debate's verdicts, each computed once: when its verdict is written (`add`), or, for
    a verdict stored before the debate resumed here, when the panel is scored (`of`)."""

    rubric: Rubric
    _by_judge: dict[object, float] = field(default_factory=dict)

    def add(self, verdict: Mapping[str, Any]) -> float:
        """The verdict's composite on the rubric (raises ScoreError on scores the rubric does not accept)."""
        value = composite(verdict["scores"], self.rubric)
        self._by_judge[verdict.get("judge")] = value
        return value

    def of(self, verdict: Mapping[str, Any]) -> float:
        judge = verdict.get("judge")
        return self._by_judge[judge] if judge in self._by_judge else self.add(verdict)


@dataclass(frozen=True)
class Scored:
    """A completed debate as it is stored: its panel score, how far it ran, what it offered and where it lands."""

    score: PanelScore
    rounds_run: int
    early_stopped: bool
    revised: str | None  # the last revised statement offered in a rebuttal
    board: Board


def score_debate(final: Sequence[PriorTurn], tally: Tally, protocol: Protocol) -> Scored:
    """Score a debate's final transcript under `protocol`: the panel of its verdicts' composites, on the scoreboard
    of the judge models that served them."""
    verdicts = [t for t in final if t.step == "verdict"]
    revisions = [t.payload.get("revised_claim") for t in final if t.step == "rebuttal"]
    critiques = [t for t in final if t.step == "critique"]
    served = {str(v.payload.get("model") or protocol.models["judge"]) for v in verdicts}
    return Scored(
        score=panel([tally.of(v.payload) for v in verdicts]),
        rounds_run=len(critiques),
        early_stopped=len(critiques) < protocol.rounds or (len(critiques) > 0 and critiques[-1].payload.get("concede")),
        revised=next((r for r in reversed(revisions) if r), None),
        board=scoreboard(tally.rubric.hash, protocol.hash, protocol.as_dict(), served),
    )
