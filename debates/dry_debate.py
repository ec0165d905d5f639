"""A debate's prompts as its roles would render them, asked of no one (`--dry-run`).

Every turn of every scenario of the plan (debates/estimate.py) is rendered by the runner's own roles on a
`PromptCapture` client: the opening as it will be sent, each later step with the turns before it in the transcript
(stand-in text of the length history gives for that step, else a typical turn the step's schema allows, and the
prompt's range from short to full turns before it), the
judges with their seats, personas and orders, and the evidence audit they read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from agents.audit import Auditor
from agents.dry_run import SIZES, Rendered, TokenCounter, filler, rendered, turn_text_of
from agents.roles import JudgeSeat, PriorTurn, Roles
from agents.subject import Subject
from debates.estimate import DebatePlan, Instance


async def render_debate(
    roles: Roles,
    hypothesis: Subject,
    plan: DebatePlan,
    *,
    rounds: int,
    seats: Sequence[JudgeSeat],
    counter: TokenCounter,
    text_chars: Mapping[str, float | None],
    version_id: str,
    auditor: Auditor | None = None,
    draw_key: str = "dry-run",
) -> dict[Instance, Rendered]:
    """Every turn of `plan` rendered and counted. `text_chars`: step -> characters of its turn as later speakers
    read it (None: a typical turn its schema allows, the range from short to full turns)."""
    out: dict[Instance, Rendered] = {}
    texts: dict[str, tuple[str, ...]] = {}  # step -> its turn's text (short, typical, full)
    tokens: dict[str, tuple[int, ...]] = {}
    for instance in plan.instances():
        before = plan.transcript_before(instance)
        transcript = [PriorTurn(t.role, t.step, t.round, texts[t.step][1], {}) for t in before]
        ask = _asking(roles, hypothesis, instance, transcript, rounds, seats, version_id, auditor, draw_key)
        one, request = await rendered(ask(), counter)
        value = one.prompt[1]
        shorter = sum(tokens[t.step][0] - tokens[t.step][1] for t in before)
        longer = sum(tokens[t.step][2] - tokens[t.step][1] for t in before)
        out[instance] = replace(one, prompt=(value + shorter, value, value + longer))
        if instance.step not in texts:
            chars = text_chars.get(instance.step)
            sized = [turn_text_of(request.schema, size) for size in SIZES] if chars is None else [stand_in(chars)] * 3
            texts[instance.step] = tuple(sized)
            tokens[instance.step] = tuple(counter.text(text) for text in sized)
    return out


def stand_in(chars: float) -> str:
    """Turn text of `chars` characters, in words."""
    return filler(max(1, round(chars)))


def _asking(
    roles: Roles,
    hypothesis: Subject,
    instance: Instance,
    transcript: list[PriorTurn],
    rounds: int,
    seats: Sequence[JudgeSeat],
    version_id: str,
    auditor: Auditor | None,
    draw_key: str,
) -> Callable[[], Awaitable[object]]:
    """The role call that renders `instance`'s prompt."""
    step, round_ = instance.step, instance.round
    if step == "opening":
        return lambda: roles.opening(hypothesis, draw_key)
    if step == "critique":
        return lambda: roles.critique(hypothesis, transcript, round_, rounds, draw_key)
    if step == "rebuttal":
        return lambda: roles.rebuttal(hypothesis, transcript, round_, rounds, draw_key)
    if step == "closing":
        return lambda: roles.closing(hypothesis, transcript, round_, draw_key)
    audit = auditor.brief(hypothesis, [t.text for t in transcript]) if auditor is not None else None
    return lambda: roles.verdict(
        hypothesis, transcript, seats[instance.judge - 1], draw_key=draw_key, version_id=version_id, audit=audit
    )
