"""The debate protocol as a LangGraph graph.

    START ─▶ next_step ─▶ open_debate ─▶ critique ─▶ rebut ─▶ critique ... ─▶ close ─▶ judge ─▶ END
                               (rounds, early stop when the critic concedes or has nothing new)

Both sides get the same number of turns: the proposer opens and rebuts each critique, the critic
critiques each round and has the closing word (which assesses, point by point, whether the rebuttal
resolved it). A debate that stops early after a critique already has equal turns and the critic last.

Every edge goes through `next_step`, which reads only the transcript. So a debate resumes from
its stored turns: the runner rebuilds the transcript and the graph continues where it stopped.
Each node's turn is persisted by `DebateContext.record` as it lands (one write per turn), which is
the resume point; no separate checkpoint is written.

The "single-judge" design (eval's baseline) holds no debate: START ─▶ judge ─▶ END, the judges scoring the
hypothesis as stated.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal, NotRequired, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents.audit import Auditor
from agents.roles import JudgeSeat, PriorTurn, Roles, TurnFailed, TurnResult
from agents.slots import call_priority
from debates.hypotheses import Hypothesis

NodeName = Literal["open_debate", "critique", "rebut", "close", "judge", "__end__"]


Design = Literal["symmetric-closing", "single-judge"]
DESIGNS: tuple[Design, ...] = ("symmetric-closing", "single-judge")


class DebateState(TypedDict):
    transcript: Annotated[list[PriorTurn], operator.add]
    rounds: int
    judges: int
    early_stop: bool
    design: NotRequired[
        Design
    ]  # "single-judge": no debate, the judges score the hypothesis as stated (eval's baseline)


@dataclass(frozen=True)
class DebateContext:
    roles: Roles
    hypothesis: Hypothesis
    record: Callable[[TurnResult], Awaitable[None]]
    draw_key: str  # what seeds derive from: the debate id, and its attempt when a failed debate is retried
    version_id: str  # what the judges are told they score, e.g. h-2600483e.v2
    seats: tuple[JudgeSeat, ...]
    announce: Callable[[str], None] = lambda step: None  # what starts now, e.g. "critique" or "judge 2/3"
    auditor: Auditor | None = None  # the evidence audit the judges read (evidence/, through the front door)


def _debate_turns(state: DebateState) -> list[PriorTurn]:
    return [t for t in state["transcript"] if t.step != "verdict"]


def _points(turn: PriorTurn) -> set[str]:
    return {re.sub(r"\W+", " ", p.get("point", "")).strip().lower() for p in turn.payload.get("points", [])}


def critic_has_nothing_new(state: DebateState) -> bool:
    critiques = [t for t in state["transcript"] if t.step == "critique"]
    last = critiques[-1]
    if last.payload.get("concede"):
        return True
    points = _points(last) - {""}
    earlier = set().union(*(_points(c) for c in critiques[:-1])) if len(critiques) > 1 else set()
    return not points or points <= earlier


def step_priority(state: DebateState, node: NodeName) -> int:
    """The call priority of a step (agents/slots.py): its ordinal in the debate (opening 0, first critique 1, ...),
    the judges above every turn, so that call slots serve debates near their end before debates just opened."""
    if node == "judge":
        return 2 * state["rounds"] + 2  # past the critic's closing, 2 * rounds + 1
    return len(state["transcript"])  # no verdict is in it before the judges


def next_step(state: DebateState) -> NodeName:
    """Where the debate goes next, from its transcript alone."""
    turns = _debate_turns(state)
    verdicts = len(state["transcript"]) - len(turns)
    if state.get("design") == "single-judge":
        return "judge" if verdicts < state["judges"] else END
    if not turns:
        return "open_debate"
    if verdicts >= state["judges"]:
        return END
    if verdicts:
        return "judge"
    last = turns[-1]
    critiques = sum(1 for t in turns if t.step == "critique")
    if last.step == "closing":
        return "judge"
    if last.step == "critique":
        return "judge" if state["early_stop"] and critic_has_nothing_new(state) else "rebut"
    return "close" if critiques >= state["rounds"] else "critique"


async def _turn(
    state: DebateState, ctx: DebateContext, node: NodeName, announced: str, speak: Callable[[], Awaitable[TurnResult]]
) -> dict[str, list[PriorTurn]]:
    """One speaker's turn: its calls get the step's priority, it is announced, asked, and recorded as it lands."""
    call_priority.set(step_priority(state, node))
    ctx.announce(announced)
    result = await speak()
    await ctx.record(result)
    return {"transcript": [PriorTurn.of(result)]}


def _critiques(state: DebateState) -> int:
    return sum(1 for t in state["transcript"] if t.step == "critique")


async def open_debate(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, list[PriorTurn]]:
    ctx = runtime.context
    return await _turn(state, ctx, "open_debate", "opening", partial(ctx.roles.opening, ctx.hypothesis, ctx.draw_key))


async def critique(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, list[PriorTurn]]:
    return await _exchange(state, runtime.context, "critique", _critiques(state) + 1)


async def rebut(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, list[PriorTurn]]:
    return await _exchange(state, runtime.context, "rebut", _critiques(state))


async def _exchange(
    state: DebateState, ctx: DebateContext, node: Literal["critique", "rebut"], round_: int
) -> dict[str, list[PriorTurn]]:
    """Round `round_`'s critique or its rebuttal, each side reading the transcript so far."""
    ask, named = (ctx.roles.critique, "critique") if node == "critique" else (ctx.roles.rebuttal, "rebuttal")
    speak = partial(ask, ctx.hypothesis, state["transcript"], round_, state["rounds"], ctx.draw_key)
    return await _turn(state, ctx, node, f"{named} {round_}/{state['rounds']}", speak)


async def close(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, list[PriorTurn]]:
    """The critic's closing word, so that neither side has more turns or the last word by design."""
    ctx = runtime.context
    speak = partial(ctx.roles.closing, ctx.hypothesis, state["transcript"], _critiques(state), ctx.draw_key)
    return await _turn(state, ctx, "close", "closing", speak)


async def judge(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, list[PriorTurn]]:
    """The panel's missing verdicts, asked independently and concurrently; each is kept as it lands."""
    ctx = runtime.context
    debate = _debate_turns(state)
    done = {t.payload.get("judge") for t in state["transcript"] if t.step == "verdict"}
    missing = [j for j in range(1, state["judges"] + 1) if j not in done]
    landed = len(done)
    call_priority.set(step_priority(state, "judge"))  # before the verdicts' tasks start: they copy the context
    ctx.announce(f"judge {landed + 1}/{state['judges']}")

    auditor = ctx.auditor
    audit = auditor.brief(ctx.hypothesis, [t.text for t in debate]) if auditor is not None else None
    penalty = auditor.penalty if auditor is not None else None

    async def one(seat: JudgeSeat) -> PriorTurn:
        nonlocal landed
        result = await ctx.roles.verdict(
            ctx.hypothesis,
            debate,
            seat,
            draw_key=ctx.draw_key,
            version_id=ctx.version_id,
            audit=audit,
            penalty=penalty,
        )
        await ctx.record(result)
        landed += 1
        if landed < state["judges"]:
            ctx.announce(f"judge {landed + 1}/{state['judges']}")
        return PriorTurn.of(result)

    outcomes = await asyncio.gather(*(one(ctx.seats[j - 1]) for j in missing), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return {"transcript": [o for o in outcomes if isinstance(o, PriorTurn)]}


def build_graph() -> object:
    graph = StateGraph(DebateState, context_schema=DebateContext)
    graph.add_node("open_debate", open_debate)
    graph.add_node("critique", critique)
    graph.add_node("rebut", rebut)
    graph.add_node("close", close)
    graph.add_node("judge", judge)
    graph.add_conditional_edges(START, next_step)
    for node in ("open_debate", "critique", "rebut", "close", "judge"):
        graph.add_conditional_edges(node, next_step)
    return graph.compile(name="debate")


GRAPH = build_graph()


async def run_debate(
    context: DebateContext,
    *,
    rounds: int,
    judges: int,
    early_stop: bool,
    transcript: list[PriorTurn],
    design: Design = "symmetric-closing",
) -> list[PriorTurn]:
    """Run (or resume, from `transcript`) one debate to its verdicts; raises TurnFailed on an unusable turn."""
    state: DebateState = {
        "transcript": transcript,
        "rounds": rounds,
        "judges": judges,
        "early_stop": early_stop,
        "design": design,
    }
    final = await GRAPH.ainvoke(state, context=context, config={"recursion_limit": 4 * rounds + 14})  # type: ignore[attr-defined]
    return list(final["transcript"])


__all__ = ["DESIGNS", "DebateContext", "DebateState", "Design", "TurnFailed", "next_step", "run_debate"]
