"""The pairwise judge: two hypotheses, each with a digest of its debate (never its score), and one preference per
rubric dimension and overall (A, B or tie) with a confidence. Reasoning comes first in the schema, so the judge
reasons before it prefers. Who was shown first is the caller's business: it asks both orders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agents.checks import check_turn
from agents.client import LLMClient
from agents.judge import capped_text
from agents.prompts import PromptSet
from agents.roles import PriorTurn, ask_or_fail, draw_seed
from agents.subject import Subject
from agents.turns import Closing, Critique
from agents.usage import CallRecord
from scoring.rubric import Rubric

Choice = Literal["A", "B", "tie"]
Confidence = Literal["low", "medium", "high"]
POSITION = {"A": "first", "B": "second", "tie": "tie"}  # what a choice means, by the order the pair was shown
SEVERITY = {"fatal": 0, "major": 1, "minor": 2}


@dataclass(frozen=True)
class JudgeNote:
    """One judge's verdict as the pairwise judge reads it: the summary and the per-dimension rationales."""

    summary: str
    rationales: Mapping[str, str]


@dataclass(frozen=True)
class DebateDigest:
    """What the pairwise judge reads of a hypothesis's debate: the critic's strongest unresolved point and the
    judges' rationales (never a score). `held` is False when the hypothesis was never debated."""

    held: bool = False
    strongest_point: str | None = None
    conceded: bool = False
    judges: Sequence[JudgeNote] = field(default_factory=tuple)


def digest(transcript: Sequence[PriorTurn], judges: Sequence[JudgeNote]) -> DebateDigest:
    """The digest of one stored debate. The strongest unresolved point is the most severe point of the last
    critique that the critic's closing did not mark resolved (else its first remaining concern); none when the
    critic conceded or every point was resolved."""
    critiques = [t for t in transcript if t.step == "critique"]
    closings = [t for t in transcript if t.step == "closing"]
    if not critiques:
        return DebateDigest(held=bool(judges), judges=tuple(judges))
    last = Critique.model_validate(critiques[-1].payload)
    if last.concede:
        return DebateDigest(held=True, conceded=True, judges=tuple(judges))
    resolved: set[int] = set()
    concerns: list[str] = []
    if closings:
        closing = Closing.model_validate(closings[-1].payload)
        resolved = {a.point for a in closing.assessments if a.resolved}
        concerns = list(closing.remaining_concerns)
    open_points = [p for number, p in enumerate(last.points, 1) if number not in resolved]
    strongest = min(open_points, key=lambda p: SEVERITY[p.severity], default=None)
    point = f"{strongest.label()} {strongest.point}" if strongest is not None else concerns[0] if concerns else None
    return DebateDigest(held=True, strongest_point=point, judges=tuple(judges))


class PairwiseBase(BaseModel):
    """A pairwise judgement: which of hypotheses A and B is stronger, per dimension and overall."""

    def dimension_map(self) -> dict[str, str]:
        return dict(self.model_dump()["dimensions"])

    @property
    def overall_choice(self) -> str:
        return str(self.model_dump()["overall"])

    @property
    def reasoning_text(self) -> str:
        return str(self.model_dump()["reasoning"])

    @property
    def confidence_level(self) -> str:
        return str(self.model_dump()["confidence"])


def pairwise_model(rubric: Rubric, reasoning_cap: int) -> type[PairwiseBase]:
    """`Pairwise`: `reasoning`, `dimensions.<dimension>: A|B|tie`, `overall: A|B|tie`, `confidence`."""
    return _pairwise_model(tuple(rubric.dimensions), reasoning_cap)


@cache
def _pairwise_model(dimensions: tuple[str, ...], reasoning_cap: int) -> type[PairwiseBase]:
    fields: dict[str, Any] = {name: (Choice, Field(...)) for name in dimensions}
    return create_model(
        "Pairwise",
        __base__=PairwiseBase,
        __doc__=PairwiseBase.__doc__,
        reasoning=(
            capped_text(reasoning_cap),
            Field(..., description="your comparison of A and B, before any preference"),
        ),
        dimensions=(create_model("Preferences", **fields), Field(...)),
        overall=(Choice, Field(..., description="the stronger hypothesis overall: A, B or tie")),
        confidence=(Confidence, Field(...)),
    )


@dataclass(frozen=True)
class Judgement:
    """One judged order of a pair, by position: `preferred` is first | second | tie."""

    preferred: str
    dimensions: dict[str, str]
    confidence: str
    reasoning: str
    record: CallRecord
    prompt_hash: str
    asks: int


@dataclass
class PairwiseJudge:
    client: LLMClient
    prompts: PromptSet
    rubric: Rubric
    reasoning_cap: int

    @property
    def prompt_hash(self) -> str:
        return self.prompts.hashes["pairwise"]

    async def compare(
        self,
        first: Subject,
        second: Subject,
        first_digest: DebateDigest,
        second_digest: DebateDigest,
        *,
        judge: int,
        model: str,
        draw_key: str,
    ) -> Judgement:
        """Judge `first` (shown as A) against `second` (shown as B). Raises TurnFailed when no valid answer came."""
        prompt = self.prompts.render(
            "pairwise",
            first=first,
            second=second,
            first_digest=first_digest,
            second_digest=second_digest,
            judge=judge,
            dimensions=self.rubric.dimensions,
            reasoning_cap=self.reasoning_cap,
        )
        schema = pairwise_model(self.rubric, self.reasoning_cap)

        def check(value: BaseModel) -> None:
            assert isinstance(value, PairwiseBase)
            check_turn(value.reasoning_text, prompt=prompt, terms=set(), symbols=[], on_topic=False)

        seed = draw_seed(draw_key, "pairwise", judge, 0)
        reply = await ask_or_fail(
            self.client, "pairwise", "judge", self.prompts.system, prompt, schema, seed=seed, check=check, model=model
        )
        value = reply.value
        assert isinstance(value, PairwiseBase)
        return Judgement(
            preferred=POSITION[value.overall_choice],
            dimensions={name: POSITION[choice] for name, choice in value.dimension_map().items()},
            confidence=value.confidence_level,
            reasoning=value.reasoning_text,
            record=reply.record,
            prompt_hash=self.prompt_hash,
            asks=reply.asks,
        )
