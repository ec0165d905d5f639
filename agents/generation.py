"""The generator role: new hypotheses from a page, a gap or a research goal (`propose`), children of ranked
parents (`evolve`: operators and parents in agents/evolution.py), and the meta-review of a generation's debates
(`meta_review`, also in agents/evolution.py).

Each answer is structured, reasoning first, in a schema built per call (`proposal_model`): title, targets (gene
or protein symbols), diseases, mechanism, a falsifiable prediction and evidence items. When a bibliography is
offered, each citation is an enum of exactly its keys ("@key") or null, so a grammar-constrained server cannot
invent one; the check refuses one outside them on servers that ignore the enum. The check also refuses non-symbol
and duplicate targets, empty or echoed text, a title already in the pool, and a child titled like its parent; the
client re-asks with the reason. Lengths are capped in the schema (`maxLength`, `maxItems`) and checked in code;
the embedded demo model gets tighter caps (`EMBEDDED_CAPS`), as its verdicts do.

Everything a prompt shows between <page>, <gap>, <goal>, <references>, <existing>, <review>, <hypothesis> and
<debate> tags is data, escaped by the prompt set so it cannot close its block (agents/prompts.py: `data_text`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field, StringConstraints, WithJsonSchema, create_model

from agents.checks import TurnRejected, check_turn
from agents.evolution import (
    EMBEDDED_CAPS,
    Caps,
    DebateNotes,
    Operator,
    Parent,
    Review,
    ask_generator,
    check_parents,
    clip,
    echoes,
    instructions_only,
    no_control_text,
    normal,
    parent_citations,
    review_debates,
    view,
)
from agents.judge import capped_text
from agents.prompts import PromptSet, Step
from agents.usage import CallRecord

if TYPE_CHECKING:
    from agents.client import LLMClient

__all__ = [
    "EMBEDDED_CAPS",
    "BibItem",
    "Brief",
    "Caps",
    "DebateNotes",
    "Generator",
    "Operator",
    "Parent",
    "Proposal",
    "Review",
    "Strategy",
]

Strategy = Literal["grounded", "gap", "goal"]
STRATEGIES: tuple[Strategy, ...] = ("grounded", "gap", "goal")
SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}")  # a gene or protein symbol, as hypothesis files take it
MECHANISM_WORDS, PREDICTION_WORDS = 6, 5  # the fewest words of a mechanism and of a falsifiable prediction
CITATION_START = ("pmid:", "doi:", "10.", "@", "http://", "https://", "nct")  # the forms evidence may cite


@dataclass(frozen=True)
class BibItem:
    """A bibliography entry offered as a citation (cited as "@key")."""

    key: str
    title: str
    year: int | None


@dataclass(frozen=True)
class Brief:
    """What the generator reads."""

    source_kind: Literal["page", "gap", "goal"]
    goal: str  # the gap's title, the goal's words, or for a page "the open questions of <page title>"
    page_title: str | None = None
    page_text: str | None = None  # the page's Markdown; the prompt shows at most `Caps.page` characters of it
    entities: Sequence[str] = ()  # canonical ids "GENE:SIRT1", "DISEASE:alzheimers"
    gaps: Sequence[str] = ()  # the page's gap titles
    bibliography: Sequence[BibItem] = ()  # when non-empty: the only allowed citations
    existing: Sequence[str] = ()  # titles already in the pool: not to be repeated
    meta_review: str | None = None  # the previous generation's meta-review (`Review.text()`)


@dataclass(frozen=True)
class Proposal:
    """One generator or evolution answer, validated."""

    hypothesis: dict[str, Any]  # title, targets, diseases, mechanism (+ "Falsifiable prediction: ..."), evidence
    reasoning: str
    prediction: str
    record: CallRecord
    prompt_hash: str
    asks: int


class ProposalBase(BaseModel):
    """A new therapeutic hypothesis, reasoning first.

    Then its name (the title), targets, diseases, mechanism, falsifiable prediction and evidence."""

    def fields(self) -> dict[str, Any]:
        return self.model_dump()

    def hypothesis(self) -> dict[str, Any]:
        """The fields of debates.hypotheses.Hypothesis; the prediction closes the mechanism. A title is one line
        (a model's line breaks inside it become spaces)."""
        data = self.model_dump()
        return {
            "title": " ".join(data["name"].split()),
            "targets": list(data["targets"]),
            "diseases": list(data["diseases"]),
            "mechanism": f"{data['mechanism']}\n\nFalsifiable prediction: {data['prediction']}",
            "evidence": [
                {"claim": e["claim"], "citation": e["citation"], "stance": e["stance"]} for e in data["evidence"]
            ],
        }


def _citation(keys: frozenset[str], value: Any) -> Any:
    """A citation as written, leniently: blank or "null" is none; an offered key without its "@" gets it."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.lower() in {"", "null", "none"}:
        return None
    return f"@{value}" if keys and not value.startswith("@") and f"@{value}" in keys else value


def proposal_model(caps: Caps, keys: Sequence[str] = ()) -> type[ProposalBase]:
    """`Proposal`'s schema; with `keys`, each citation is one of them or null."""
    return _proposal_model(caps, tuple(dict.fromkeys(keys)))


@functools.cache
def _proposal_model(caps: Caps, keys: tuple[str, ...]) -> type[ProposalBase]:
    choice: dict[str, Any] = {"type": "string", "enum": list(keys)} if keys else {"type": "string", "maxLength": 120}
    citation = Annotated[
        str | None,
        BeforeValidator(functools.partial(_citation, frozenset(keys))),
        WithJsonSchema({"anyOf": [choice, {"type": "null"}]}),
    ]
    claim = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=caps.claim)]
    item = create_model(
        "EvidenceItem",
        claim=(claim, Field(...)),
        citation=(citation, Field(..., description="one offered key, or null" if keys else "a PMID or DOI, or null")),
        stance=(Literal["for", "against"], Field(...)),
    )
    title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=caps.title)]
    # the pattern lets a grammar-constrained server (llama.cpp) write only symbols; the check covers the others
    symbol = Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
        WithJsonSchema({"type": "string", "pattern": f"^{SYMBOL.pattern}$", "maxLength": 40}),
    ]
    disease = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)]
    return create_model(
        "Proposal",
        __base__=ProposalBase,
        __doc__=ProposalBase.__doc__,
        reasoning=(capped_text(caps.reasoning), Field(..., description="your reasoning, before the hypothesis")),
        # `name`, not `title`: agents.structured.json_schema drops every "title" key, a property's too; an
        # answer that writes `title` is read all the same
        name=(title, Field(..., validation_alias=AliasChoices("name", "title"), description="a short title")),
        targets=(list[symbol], Field(..., min_length=1, max_length=caps.targets, description="gene symbols")),
        diseases=(list[disease], Field(..., min_length=1, max_length=caps.diseases)),
        mechanism=(capped_text(caps.mechanism), Field(..., description="the mechanism, step by step")),
        prediction=(capped_text(caps.prediction), Field(..., description="a falsifiable prediction")),
        evidence=(list[item], Field(..., max_length=caps.evidence)),  # type: ignore[valid-type]
    )


def page_excerpt(text: str, cap: int) -> str:
    """At most `cap` characters of a page, cut at a paragraph (else a word) and marked when cut."""
    text = text.strip()
    if len(text) <= cap:
        return text
    head = text[: cap - 6]
    paragraph = head.rfind("\n\n")
    if paragraph >= cap // 3:
        return head[:paragraph].rstrip() + "\n\n[…]"
    return clip(text, cap)


@dataclass(frozen=True)
class Rules:
    """What one proposal's check refuses, besides the schema."""

    instructions: str  # the prompt without its data
    existing: frozenset[str]  # normalised pool titles
    parents: frozenset[str] = frozenset()  # normalised parent titles (evolution)
    mechanisms: frozenset[str] = frozenset()  # normalised parent mechanisms (evolution)
    keys: frozenset[str] | None = None  # the offered citations, when a bibliography is offered


def _text_field(name: str, text: str, rules: Rules, *, words: int) -> None:
    """An empty, too short (under `words` words) or echoed mechanism or prediction is refused, naming the field."""
    try:
        check_turn(text, prompt=rules.instructions, terms=set(), symbols=[], on_topic=False)
    except TurnRejected as exc:
        raise TurnRejected(f"{name}: {exc}") from None
    if len(text.split()) < words:
        raise TurnRejected(f"{name}: write at least {words} words, as a full sentence")


def _check_targets(targets: Sequence[str]) -> None:
    seen: set[str] = set()
    for target in targets:
        if not SYMBOL.fullmatch(target):
            raise TurnRejected(
                f"target {target[:60]!r} is not a gene or protein symbol: write symbols such as SIRT1 or TREM2 "
                "(letters, digits, '-' and '.', no spaces, at most 40 characters)"
            )
        if target.casefold() in seen:
            raise TurnRejected(f"target {target!r} is listed twice")
        seen.add(target.casefold())


def _check_citations(evidence: Sequence[dict[str, Any]], keys: frozenset[str] | None) -> None:
    for number, item in enumerate(evidence, 1):
        cited = item["citation"]
        if cited is None:
            continue
        if keys is not None and cited not in keys:
            raise TurnRejected(
                f"evidence {number} cites {cited[:60]!r}, which is not among the offered references: "
                "cite only an offered key, or null"
            )
        written = cited.replace(": ", ":", 1)  # "PMID: 12345" is a form evidence takes
        if keys is None and (len(cited) > 120 or " " in written or not written.lower().startswith(CITATION_START)):
            raise TurnRejected(
                f"evidence {number} cites {cited[:60]!r}: write a PMID (PMID:12345), a DOI (10.xxxx/...) or null"
            )


def check_proposal(value: ProposalBase, rules: Rules) -> None:
    """Raise TurnRejected (a ValueError: the client re-asks with its reason) when `value` is not usable."""
    data = value.fields()
    texts = [data["reasoning"], data["name"], data["mechanism"], data["prediction"], *data["targets"]]
    texts += data["diseases"] + [e["claim"] for e in data["evidence"]]
    no_control_text(texts + [e["citation"] for e in data["evidence"] if e["citation"]])
    title = normal(data["name"])
    if title in rules.existing:
        raise TurnRejected(f"the title {data['name'][:80]!r} is already in the pool: propose a different hypothesis")
    if title in rules.parents:
        raise TurnRejected("the child repeats its parent's title: write a new hypothesis, not the parent")
    if echoes(data["name"], rules.instructions):
        raise TurnRejected("name: the answer repeats the instructions instead of answering them")
    _check_targets(data["targets"])
    if len(data["name"].split()) < 2:
        raise TurnRejected("name: a title names the target and the effect, in at least two words")
    _text_field("mechanism", data["mechanism"], rules, words=MECHANISM_WORDS)
    _text_field("prediction", data["prediction"], rules, words=PREDICTION_WORDS)
    if normal(data["mechanism"]) in rules.mechanisms:
        raise TurnRejected("mechanism: the child copies its parent's mechanism: change it as the operator asks")
    _check_citations(data["evidence"], rules.keys)


@dataclass
class Generator:
    """The generator role. `caps` replaces every limit; by default `Caps(reasoning_cap, page_cap)`, or
    `EMBEDDED_CAPS` (capped by these two) on the embedded model."""

    client: LLMClient
    prompts: PromptSet
    reasoning_cap: int = 1200
    page_cap: int = 4000
    caps: Caps | None = None

    def limits(self) -> Caps:
        if self.caps is not None:
            return self.caps
        if self.client.settings.resolved_provider == "embedded":
            page, reasoning = min(self.page_cap, EMBEDDED_CAPS.page), min(self.reasoning_cap, EMBEDDED_CAPS.reasoning)
            return replace(EMBEDDED_CAPS, page=page, reasoning=reasoning)
        return Caps(reasoning=self.reasoning_cap, page=self.page_cap)

    async def propose(self, brief: Brief, strategy: Strategy, *, draw_key: str, model: str | None = None) -> Proposal:
        """A new hypothesis by `strategy`. ValueError for a strategy the brief cannot serve (grounded without page
        text); TurnFailed when no valid answer came."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown generation strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
        if strategy == "grounded" and not (brief.page_text or "").strip():
            raise ValueError("the grounded strategy needs the page's text")
        caps = self.limits()
        references = _references(brief, caps)
        keys = tuple(f"@{item.key}" for item in references)
        prompt = self.prompts.render(
            "generate",
            strategy=strategy,
            page_text=page_excerpt(brief.page_text, caps.page) if brief.page_text else None,
            **_shared(brief, caps, references),
        )
        rules = Rules(instructions_only(prompt), _titles(brief.existing), keys=frozenset(keys) if keys else None)
        return await self._propose("generate", prompt, caps, keys, rules, draw_key, model)

    async def evolve(
        self,
        brief: Brief,
        operator: Operator,
        parents: Sequence[Parent],
        *,
        draw_key: str,
        model: str | None = None,
    ) -> Proposal:
        """A child of `parents` by `operator`. ValueError when the operator cannot take these parents (combine
        takes two); TurnFailed when no valid answer came. With a bibliography, a child may cite its keys and the
        citations its parents already carry."""
        check_parents(operator, parents)
        caps = self.limits()
        references = _references(brief, caps)
        keys = (
            tuple(dict.fromkeys([*(f"@{i.key}" for i in references), *parent_citations(parents)])) if references else ()
        )
        prompt = self.prompts.render(
            "evolve",
            operator=operator,
            parents=[view(p, caps.claim) for p in parents],
            **_shared(brief, caps, references),
        )
        rules = Rules(
            instructions_only(prompt),
            _titles(brief.existing),
            parents=_titles(p.title for p in parents),
            mechanisms=_titles(p.mechanism for p in parents),
            keys=frozenset(keys) if keys else None,
        )
        return await self._propose("evolve", prompt, caps, keys, rules, draw_key, model)

    async def meta_review(self, notes: Sequence[DebateNotes], *, draw_key: str, model: str | None = None) -> Review:
        """The recurring critique themes of `notes` (a generation's debates). ValueError without debates;
        TurnFailed when no valid answer came."""
        return await review_debates(self.client, self.prompts, notes, self.limits(), draw_key=draw_key, model=model)

    async def _propose(
        self,
        step: Step,
        prompt: str,
        caps: Caps,
        keys: tuple[str, ...],
        rules: Rules,
        draw_key: str,
        model: str | None,
    ) -> Proposal:
        schema = proposal_model(caps, keys)

        def check(value: ProposalBase) -> None:
            check_proposal(value, rules)

        reply = await ask_generator(
            self.client,
            self.prompts,
            step,
            prompt,
            schema,
            check,
            draw_key=draw_key,
            model=model,
            tokens=caps.answer_tokens(),
        )
        data = reply.value.fields()
        return Proposal(
            hypothesis=reply.value.hypothesis(),
            reasoning=data["reasoning"],
            prediction=data["prediction"],
            record=reply.record,
            prompt_hash=self.prompts.hashes[step],
            asks=reply.asks,
        )


def _references(brief: Brief, caps: Caps) -> tuple[BibItem, ...]:
    """The bibliography entries offered (each key once, without a leading "@"), at most `caps.references`."""
    offered: dict[str, BibItem] = {}
    for item in brief.bibliography:
        key = item.key.strip().lstrip("@")
        if key and key not in offered:
            offered[key] = replace(item, key=key)
    return tuple(offered.values())[: caps.references]


def _shared(brief: Brief, caps: Caps, references: Sequence[BibItem]) -> dict[str, Any]:
    """The variables both generator prompts take."""
    return {
        "goal": brief.goal,
        "source_kind": brief.source_kind,
        "page_title": brief.page_title,
        "entities": list(brief.entities),
        "gaps": list(brief.gaps),
        "references": list(references),
        "existing": list(brief.existing)[-caps.existing :] if caps.existing else [],
        "meta_review": brief.meta_review,
        "caps": caps,
    }


def _titles(titles: Iterable[str]) -> frozenset[str]:
    return frozenset(normal(t) for t in titles if t and t.strip())
