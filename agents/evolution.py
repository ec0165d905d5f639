"""What carries one generation into the next: the ranked parents and operators evolution starts from, and the
meta-review of a generation's debates; with the limits (`Caps`), the asking and the text checks that the
generator's three steps share (the role is `agents.generation.Generator`).

Four operators, after the AI co-scientist's evolution strategies: `combine` two parents into one hypothesis,
`simplify` one, `strengthen` one against the critic's strongest unresolved point, and `out-of-box` (a different
mechanism for the same disease goal). A child is a new hypothesis beside its parents, never a replacement.

The meta-review reads each debate's critique points and the judges' rationales (never a score) and answers,
reasoning first, a summary, the weaknesses raised most often and what the judges rewarded; the next
generation's prompts read it as "What the last generation's debates found".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field, create_model

from agents.checks import TurnRejected, check_turn, instruction_lines, placeholders
from agents.judge import capped_text
from agents.prompts import PromptSet, Step
from agents.roles import ask_or_fail, draw_seed
from agents.usage import CallRecord
from safeio.text import no_controls

if TYPE_CHECKING:
    from agents.client import LLMClient, StructuredReply

T = TypeVar("T", bound=BaseModel)
Operator = Literal["combine", "simplify", "strengthen", "out-of-box"]
OPERATORS: tuple[Operator, ...] = ("combine", "simplify", "strengthen", "out-of-box")
PARENTS: dict[Operator, tuple[int, int]] = {  # how many parents each operator takes: (fewest, most)
    "combine": (2, 2),
    "simplify": (1, 1),
    "strengthen": (1, 1),
    "out-of-box": (1, 5),
}
# a data block of the generator's prompts; its text is escaped (no '<' inside), so this scan is linear
_DATA = re.compile(r"<(page|gap|goal|references|existing|review|hypothesis|debate)>[^<]*</\1>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Caps:
    """Length limits (characters, items) of the generator's answers and of the material its prompts show."""

    reasoning: int = 1200
    title: int = 200
    mechanism: int = 800
    prediction: int = 300
    claim: int = 200
    targets: int = 6
    diseases: int = 4
    evidence: int = 6
    summary: int = 600  # the meta-review's summary
    theme: int = 200  # one weakness or rewarded item of the meta-review
    themes: int = 6  # weaknesses (and rewarded items) at most
    page: int = 4000  # characters of page text shown
    references: int = 40  # bibliography entries offered
    existing: int = 40  # pool titles shown (the check reads them all)
    notes: int = 6000  # characters of debate notes shown to the meta-reviewer

    def answer_tokens(self) -> int:
        """A token ceiling for a proposal written to every cap (about 3 characters a token, plus the JSON)."""
        chars = self.reasoning + self.title + self.mechanism + self.prediction
        chars += self.evidence * (self.claim + 60) + self.targets * 40 + self.diseases * 80
        return chars // 3 + 150

    def review_tokens(self) -> int:
        return (self.reasoning + self.summary + 2 * self.themes * self.theme) // 3 + 100


# The 135M demo model writes every field to its cap: these keep its answer inside `llm.embedded.max_tokens` (640)
# and its prompt short; every check stays as strict as for real models.
EMBEDDED_CAPS = Caps(
    reasoning=200, title=120, mechanism=300, prediction=150, claim=100, targets=3, diseases=2, evidence=2,
    summary=200, theme=80, themes=3, page=1500, references=8, existing=10, notes=1500,
)  # fmt: skip


# -- parents and operators ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parent:
    """A ranked hypothesis evolution starts from."""

    id: str
    title: str
    targets: Sequence[str]
    diseases: Sequence[str]
    mechanism: str
    evidence: Sequence[Mapping[str, Any]]  # {"claim", "citation", "stance"}
    strongest_point: str | None  # the critic's strongest unresolved point (agents.pairwise.digest gives it)
    score: float | None


@dataclass(frozen=True)
class ParentView:
    """A parent as the evolve prompt shows it (every field present, so the template needs no defaults)."""

    id: str
    title: str
    targets: tuple[str, ...]
    diseases: tuple[str, ...]
    mechanism: str
    evidence: tuple[tuple[str, str, str | None], ...]  # (stance, claim, citation)
    strongest_point: str | None


def check_parents(operator: Operator, parents: Sequence[Parent]) -> None:
    """ValueError when `operator` cannot take `parents` (the caller's mistake: no model is asked)."""
    if operator not in PARENTS:
        raise ValueError(f"unknown evolution operator {operator!r} (known: {', '.join(OPERATORS)})")
    fewest, most = PARENTS[operator]
    if not fewest <= len(parents) <= most:
        wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise ValueError(f"{operator} takes {wanted} parent(s), not {len(parents)}")
    ids = [p.id for p in parents]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{operator}: a parent is given twice ({', '.join(ids)})")


def view(parent: Parent, claim_cap: int) -> ParentView:
    """`parent` for the prompt, each evidence claim cut to `claim_cap` characters."""
    evidence = tuple(
        (
            "against" if item.get("stance") == "against" else "for",
            clip(str(item.get("claim") or ""), claim_cap),
            str(item["citation"]) if item.get("citation") else None,
        )
        for item in parent.evidence
    )
    return ParentView(
        id=parent.id,
        title=parent.title,
        targets=tuple(parent.targets),
        diseases=tuple(parent.diseases),
        mechanism=parent.mechanism,
        evidence=evidence,
        strongest_point=parent.strongest_point,
    )


def parent_citations(parents: Sequence[Parent]) -> tuple[str, ...]:
    """The citations the parents already carry, in order, each once: a child may keep them."""
    found = (str(item.get("citation") or "").strip() for p in parents for item in p.evidence)
    return tuple(dict.fromkeys(c for c in found if c))


# -- the meta-review --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebateNotes:
    """What the meta-reviewer reads of one debate (never its scores)."""

    title: str
    critique_points: Sequence[str]  # the critic's points
    judge_rationales: Sequence[str]  # the judges' summaries and rationales


@dataclass(frozen=True)
class Review:
    """A generation's meta-review: its debates' recurring critique themes."""

    summary: str
    weaknesses: list[str]  # recurring critique themes, most frequent first
    rewarded: list[str]  # what the judges rewarded
    record: CallRecord
    prompt_hash: str
    asks: int

    def text(self) -> str:
        """The form the next generation's prompts read."""
        lines = [self.summary]
        if self.weaknesses:
            lines += ["Weaknesses raised most often:", *(f"- {w}" for w in self.weaknesses)]
        if self.rewarded:
            lines += ["What the judges rewarded:", *(f"- {r}" for r in self.rewarded)]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "weaknesses": list(self.weaknesses), "rewarded": list(self.rewarded)}


class ReviewBase(BaseModel):
    """A meta-review: the recurring critique themes of a generation's debates."""

    def fields(self) -> dict[str, Any]:
        return self.model_dump()


@functools.cache
def review_model(caps: Caps) -> type[ReviewBase]:
    """`MetaReview`: `reasoning`, `summary`, `weaknesses` (most frequent first), `rewarded`."""
    theme = capped_text(caps.theme)
    return create_model(
        "MetaReview",
        __base__=ReviewBase,
        __doc__=ReviewBase.__doc__,
        reasoning=(capped_text(caps.reasoning), Field(..., description="your reading of the debates, first")),
        summary=(capped_text(caps.summary), Field(...)),
        weaknesses=(list[theme], Field(..., max_length=caps.themes, description="most frequent first")),  # type: ignore[valid-type]
        rewarded=(list[theme], Field(..., max_length=caps.themes)),  # type: ignore[valid-type]
    )


def check_review(value: ReviewBase, instructions: str, *, weaknesses_expected: bool) -> None:
    """Raise TurnRejected for an empty or echoed summary or theme, control characters, or no weakness at all
    when the critics raised points."""
    data = value.fields()
    try:
        check_turn(data["summary"], prompt=instructions, terms=set(), symbols=[], on_topic=False)
    except TurnRejected as exc:
        raise TurnRejected(f"summary: {exc}") from None
    no_control_text([data["reasoning"], data["summary"], *data["weaknesses"], *data["rewarded"]])
    if any(echoes(t, instructions) for t in [*data["weaknesses"], *data["rewarded"]]):
        raise TurnRejected("a theme repeats the instructions instead of answering them")
    if weaknesses_expected and not data["weaknesses"]:
        raise TurnRejected("weaknesses: the critics raised points; list the ones raised most often")


@dataclass(frozen=True)
class NotesView:
    """One debate as the meta-review prompt shows it."""

    title: str
    points: tuple[str, ...]
    rationales: tuple[str, ...]


def notes_view(notes: Sequence[DebateNotes], budget: int) -> tuple[list[NotesView], int]:
    """The debates the meta-reviewer is shown, each within an equal share of `budget` characters, and how many
    more there were."""
    shown = list(notes[: max(1, budget // 250)])
    share = budget // len(shown)
    item_cap = max(60, min(300, share // 3))
    views = []
    for note in shown:
        left = share
        kept: list[list[str]] = [[], []]
        for column, items in enumerate((note.critique_points, note.judge_rationales)):
            for item in items:
                text = clip(item, item_cap)
                if text and len(text) <= left:
                    kept[column].append(text)
                    left -= len(text)
        views.append(NotesView(clip(note.title, 200), tuple(kept[0]), tuple(kept[1])))
    return views, len(notes) - len(shown)


async def review_debates(
    client: LLMClient, prompts: PromptSet, notes: Sequence[DebateNotes], caps: Caps, *, draw_key: str, model: str | None
) -> Review:
    """The meta-review of `notes`. ValueError without debates; TurnFailed when no valid answer came."""
    if not notes:
        raise ValueError("a meta-review needs at least one debate")
    debates, more = notes_view(notes, caps.notes)
    prompt = prompts.render("meta_review", debates=debates, more=more, caps=caps)
    instructions = instructions_only(prompt)
    expected = any(n.critique_points for n in notes)

    def check(value: ReviewBase) -> None:
        check_review(value, instructions, weaknesses_expected=expected)

    schema = review_model(caps)
    reply = await ask_generator(
        client,
        prompts,
        "meta_review",
        prompt,
        schema,
        check,
        draw_key=draw_key,
        model=model,
        tokens=caps.review_tokens(),
    )
    data = reply.value.fields()
    return Review(
        summary=data["summary"],
        weaknesses=once(data["weaknesses"]),
        rewarded=once(data["rewarded"]),
        record=reply.record,
        prompt_hash=prompts.hashes["meta_review"],
        asks=reply.asks,
    )


# -- shared by the generator's steps ------------------------------------------------------------------


async def ask_generator(
    client: LLMClient,
    prompts: PromptSet,
    step: Step,
    prompt: str,
    schema: type[T],
    check: Callable[[T], None],
    *,
    draw_key: str,
    model: str | None,
    tokens: int,
) -> StructuredReply[T]:
    """agents.roles.ask_or_fail for the generator role, with room for an answer written to every cap (`tokens`, or
    the configured per-call limit when larger). The seed is `draw_seed(draw_key, step, 0, 0)`."""
    max_tokens = max(tokens, client.settings.max_tokens_for_provider())
    seed = draw_seed(draw_key, step, 0, 0)
    return await ask_or_fail(
        client,
        step,
        "generator",
        prompts.system,
        prompt,
        schema,
        seed=seed,
        check=check,
        model=model,
        max_tokens=max_tokens,
    )


def instructions_only(prompt: str) -> str:
    """The prompt without its data blocks: what an answer must not echo."""
    return _DATA.sub(" ", prompt)


def normal(text: str) -> str:
    """`text` with its spacing collapsed and its case folded, for comparing titles and themes."""
    return _SPACE.sub(" ", text).strip().casefold()


def echoes(text: str, instructions: str) -> bool:
    """Whether `text` copies one of the instructions' sentences or placeholders."""
    body = normal(text)
    return any(line in body for line in instruction_lines(instructions) + placeholders(instructions))


def no_control_text(texts: Sequence[str]) -> None:
    """TurnRejected when a text holds a control character (hypothesis files refuse them)."""
    for text in texts:
        try:
            no_controls(text)
        except ValueError as exc:
            raise TurnRejected(f"the answer {exc}") from None


def once(items: Sequence[str]) -> list[str]:
    """`items` without repeats (ignoring case and spacing), in order."""
    kept: dict[str, str] = {}
    for item in items:
        kept.setdefault(normal(item), item)
    return list(kept.values())


def clip(text: str, cap: int) -> str:
    """`text` cut to at most `cap` characters at a word boundary, marked with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= cap:
        return text
    cut = text[: max(1, cap - 1)]
    space = cut.rfind(" ")
    if space >= cap // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
