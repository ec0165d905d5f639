"""The evidence verifier: does a source's abstract support a claim made for a hypothesis? It answers supports,
contradicts, unrelated or insufficient with a span quoted from the abstract, reasoning first. The quote is checked
in code: a label that claims support or contradiction on a span the abstract does not hold (ignoring case and
whitespace) is downgraded to insufficient, so a verifier cannot back its label with invented text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agents.checks import check_turn
from agents.judge import capped_text
from agents.prompts import PromptSet
from agents.roles import ask_or_fail, draw_seed
from agents.usage import CallRecord
from safeio.citations import Support

if TYPE_CHECKING:
    from agents.client import LLMClient

QUOTED: frozenset[str] = frozenset({"supports", "contradicts"})  # labels that stand only on a quoted span
REASONING_CAP = 400
QUOTE_CAP = 400
_SPACE = re.compile(r"\s+")
# typographic variants a model may write for what the abstract has in ASCII, or the other way round
_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‐": "-", "−": "-"})


class Source(Protocol):
    """The cited entry as the verifier reads it."""

    @property
    def title(self) -> str | None: ...

    @property
    def abstract(self) -> str | None: ...


class Verification(BaseModel):
    """The verifier's answer: reasoning, then the label, then the span of the abstract it rests on."""

    model_config = ConfigDict(extra="forbid")

    reasoning: capped_text(REASONING_CAP) = Field(description="why, before the label")  # type: ignore[valid-type]
    label: Support = Field(description="what the abstract does for the claim")
    quote: str = Field(
        "", max_length=QUOTE_CAP, description="a span copied word for word from the abstract; empty if none"
    )


@dataclass(frozen=True)
class ClaimCheck:
    label: Support  # after the quote check
    raw_label: Support  # as the verifier answered
    quote: str
    quote_found: bool
    reasoning: str
    record: CallRecord
    prompt_hash: str
    asks: int


def normalized(text: str) -> str:
    """Case, whitespace and typographic quotes and dashes folded away, for finding a quote in an abstract."""
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    return _SPACE.sub(" ", folded).strip()


def quote_in(quote: str, abstract: str) -> bool:
    """Whether `quote` (at least a few words) appears in `abstract`, ignoring case and whitespace."""
    wanted = normalized(quote).strip(" .\"'")
    return len(wanted) >= 8 and wanted in normalized(abstract)


def checked_label(label: Support, quote: str, abstract: str) -> tuple[Support, bool]:
    """The label kept, and whether the quote was found: supports/contradicts on a quote the abstract does not
    hold become insufficient."""
    found = quote_in(quote, abstract)
    return ("insufficient" if label in QUOTED and not found else label), found


@dataclass
class ClaimVerifier:
    client: LLMClient
    prompts: PromptSet

    @property
    def prompt_hash(self) -> str:
        return self.prompts.hashes["verify"]

    async def check(self, statement: str, claim: str, source: Source, *, draw_key: str) -> ClaimCheck:
        """Judge `claim`, offered as evidence for the hypothesis `statement`, against `source`'s abstract.
        Raises TurnFailed when no valid answer came."""
        abstract = source.abstract or ""
        prompt = self.prompts.render(
            "verify",
            statement=statement,
            claim=claim,
            title=source.title or "untitled",
            abstract=abstract,
            reasoning_cap=REASONING_CAP,
            quote_cap=QUOTE_CAP,
        )

        def check(value: BaseModel) -> None:
            assert isinstance(value, Verification)
            check_turn(value.reasoning, prompt=prompt, terms=set(), symbols=[], on_topic=False)

        seed = draw_seed(draw_key, "verify", 0, 0)
        reply = await ask_or_fail(
            self.client, "verify", "verifier", self.prompts.system, prompt, Verification, seed=seed, check=check
        )
        value = reply.value
        assert isinstance(value, Verification)
        label, found = checked_label(value.label, value.quote, abstract)
        return ClaimCheck(
            label=label,
            raw_label=value.label,
            quote=value.quote.strip(),
            quote_found=found,
            reasoning=value.reasoning,
            record=reply.record,
            prompt_hash=self.prompt_hash,
            asks=reply.asks,
        )
