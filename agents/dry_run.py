"""What a call would send, without sending it (`--dry-run`): the roles render their real prompts through a stand-in
client that keeps the request and stops there, and the request is counted in tokens.

    capture = PromptCapture(settings)
    request = await captured(Roles(capture, prompts, rubric).opening(hypothesis, draw_key="d-1"))
    tokens = counter_for(settings).prompt(request)

`PromptCapture.structured` raises `Captured` (the role, model, messages, answer schema and token room of the call)
instead of asking: nothing leaves the process, nothing is recorded. Tokens are counted by the embedded model's own
tokenizer (its chat template, without the tool: llama.cpp constrains the answer by grammar and never shows the
schema), loaded vocabulary-only and only when the estimate is for the embedded provider; for any other provider as
characters / 4 of what the provider reads (the messages and the tool's schema), which a caller calibrates against
its history. `answer_of` sizes an answer a schema allows: "full" (every string at its cap, every list at its
longest: what a model that writes to every cap answers), "typical" (the strings at their caps, the lists halfway)
and "short" (half the caps, the fewest items): without history an estimate takes the typical answer, in the range
from the short to the full one.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from agents.roles import turn_text
from agents.settings import LLMSettings, Role
from agents.structured import json_schema, tool_for
from agents.usage import Ledger
from safeio.errors import HypodebateError

CHARS_PER_TOKEN = 4.0  # English prose in OpenAI's tokenizers, about; a caller calibrates it on its history
MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message (role markers), about
FILLER = "the target and its mechanism in the disease, with the evidence for it and its consequences "
UNCAPPED_STRING = 200  # characters of a string the schema does not cap (an upper bound has to assume something)
UNCAPPED_LIST = 2  # items of a list the schema does not cap


class Captured(HypodebateError):
    """The request a role was about to send, kept instead of sent."""

    def __init__(
        self, role: Role, model: str, messages: list[dict[str, Any]], schema: type[BaseModel], max_tokens: int
    ) -> None:
        super().__init__(f"{role} request to {model} captured (dry run)")
        self.role = role
        self.model = model
        self.messages = messages
        self.schema = schema
        self.max_tokens = max_tokens


class NotCaptured(HypodebateError):
    """A role answered without asking the client: there was no request to count."""


class PromptCapture:
    """Stands in for `agents.client.LLMClient` where a command only estimates: it has the client's settings and a
    ledger (the runners read both), and every structured call raises `Captured` with its request."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.ledger = Ledger()

    async def structured(
        self,
        role: Role,
        messages: list[dict[str, Any]],
        schema: type[BaseModel],
        *,
        max_tokens: int | None = None,
        model: str | None = None,
        **ignored: Any,
    ) -> Any:
        room = max_tokens or self.settings.max_tokens_for_provider()
        raise Captured(role, model or self.settings.model_for(role), list(messages), schema, room)

    async def aclose(self) -> None:
        """Nothing to close: nothing was opened."""


async def captured(asking: Awaitable[object]) -> Captured:
    """The request `asking` (a role's call on a PromptCapture) was about to send."""
    try:
        await asking
    except Captured as request:
        return request
    raise NotCaptured("the role answered without a request")


@dataclass(frozen=True)
class Rendered:
    """A request as rendered: the model it asks, its prompt tokens and the completion tokens of its answer, each
    as (short, typical, full): the prompt after a transcript of short, typical or full turns (the same three when
    its transcript is known), the answer at that size (within the call's token room)."""

    model: str
    prompt: tuple[int, int, int]
    answer: tuple[int, int, int]


async def rendered(asking: Awaitable[object], counter: TokenCounter) -> tuple[Rendered, Captured]:
    """The request `asking` would send, counted; with the request itself (its schema, its messages)."""
    request = await captured(asking)
    answers = tuple(min(request.max_tokens, counter.answer(answer_of(request.schema, size))) for size in SIZES)
    tokens = counter.prompt(request)
    return Rendered(request.model, (tokens, tokens, tokens), answers), request  # type: ignore[arg-type]


class TokenCounter(Protocol):
    exact: bool  # a real tokenizer (no calibration needed)

    def prompt(self, request: Captured) -> int:
        """The prompt tokens the provider would count for `request`."""
        ...

    def answer(self, answer: dict[str, Any]) -> int:
        """The completion tokens of `answer` written as JSON."""
        ...

    def text(self, text: str) -> int:
        """The tokens of `text` inside a prompt."""
        ...


class CharCounter:
    """Characters / CHARS_PER_TOKEN of what a hosted provider reads: the messages and the tool's schema."""

    exact = False

    def prompt(self, request: Captured) -> int:
        text = sum(len(str(m.get("content") or "")) for m in request.messages)
        tool = len(json.dumps(tool_for(request.schema)))
        return math.ceil((text + tool) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD * len(request.messages)

    def answer(self, answer: dict[str, Any]) -> int:
        return math.ceil(len(json.dumps(answer)) / CHARS_PER_TOKEN)

    def text(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN)


class EmbeddedCounter:
    """The embedded model's tokenizer on its chat template, as llama.cpp's server builds the prompt."""

    exact = True

    def __init__(self) -> None:
        from llama_cpp import Llama
        from llama_cpp._utils import suppress_stdout_stderr
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from agents.embedded import model_path

        path = str(model_path())
        with suppress_stdout_stderr(disable=False):  # llama.cpp warns on stderr of the context it never uses
            self.model = Llama(model_path=path, vocab_only=True, verbose=False)
        vocab = self.model._model  # what llama_cpp.Llama itself reads its special tokens' text from
        eos, bos = (vocab.token_get_text(t) if t != -1 else "" for t in (vocab.token_eos(), vocab.token_bos()))
        template = self.model.metadata["tokenizer.chat_template"]
        self.chat = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def prompt(self, request: Captured) -> int:
        formatted = self.chat(messages=request.messages)  # type: ignore[arg-type]
        text = formatted.prompt.encode("utf-8")
        return len(self.model.tokenize(text, add_bos=not formatted.added_special, special=True))

    def answer(self, answer: dict[str, Any]) -> int:
        return self.text(json.dumps(answer))

    def text(self, text: str) -> int:
        return len(self.model.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def counter_for(settings: LLMSettings) -> TokenCounter:
    """The embedded model's tokenizer for the embedded provider (loaded once, vocabulary only), else characters."""
    return _embedded_counter() if settings.resolved_provider == "embedded" else CharCounter()


@functools.cache
def _embedded_counter() -> EmbeddedCounter:
    return EmbeddedCounter()


Size = Literal["short", "typical", "full"]
SIZES: tuple[Size, ...] = ("short", "typical", "full")


@functools.cache
def answer_of(schema: type[BaseModel], size: Size) -> dict[str, Any]:
    """An answer `schema` allows, at a size: "full" is the biggest (every string at its cap, every list at its
    longest), what a model that writes to every cap answers; "typical" has its strings at their caps and its lists
    halfway between their fewest and most items; "short" its strings at half their caps and its lists at their
    fewest items. The first of every choice. Cached per schema class: callers must not change it."""
    value = _answer(json_schema(schema), size)
    return value if isinstance(value, dict) else {}


@functools.cache
def turn_text_of(schema: type[BaseModel], size: Size) -> str:
    """What later speakers read of a turn of `schema` at `size` (its `text()`), or its strings joined."""
    answer = answer_of(schema, size)
    try:
        return turn_text(schema.model_validate(answer))
    except ValidationError:
        return "\n".join(_strings(answer))


def _answer(node: dict[str, Any], size: Size) -> Any:
    if "enum" in node:
        return node["enum"][0]
    if "anyOf" in node:
        return _answer(node["anyOf"][0], size)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: _answer(sub, size) for name, sub in node.get("properties", {}).items()}
    if kind == "array":
        fewest, most = node.get("minItems", 0), node.get("maxItems", UNCAPPED_LIST)
        items = {"short": fewest, "typical": math.ceil((fewest + most) / 2), "full": most}[size]
        return [_answer(node.get("items", {}), size) for _ in range(items)]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return node.get("minimum", 1)
    cap = node.get("maxLength", UNCAPPED_STRING)
    if size == "short":
        cap = max(node.get("minLength", 0), cap // 2)
    return filler(cap)


def filler(chars: int) -> str:
    """Words, `chars` characters of them (no trailing space: schemas strip it)."""
    text = (FILLER * (chars // len(FILLER) + 1))[:chars]
    return text[:-1] + "s" if text.endswith(" ") else text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
