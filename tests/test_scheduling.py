"""Call slots served by priority (agents/slots.py), and debates admitted apart from call slots (debates/runner.py)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from agents.client import LLMClient, _process_limit
from agents.prompts import load_prompts
from agents.slots import CallSlots, call_priority
from debates.inputs import load_hypotheses
from debates.runner import BatchRunner
from debates.settings import DebateSettings
from scoring.rubric import Rubric
from store.engine import open_store
from tests.fakes import FakeDebater, completion_json, fast_settings
from tests.helpers import EXAMPLE, OPEN_ENGINES

# -- the limiter --------------------------------------------------------------------------------------------


async def _queue_behind_a_held_slot(slots: CallSlots, waiters: list[tuple[str, int]]) -> list[str]:
    """Hold the only slot while `waiters` (name, priority) queue in this order, then let them through one by one;
    returns the order they were served in."""
    served: list[str] = []

    async def call(name: str, priority: int) -> None:
        call_priority.set(priority)  # as the debate graph sets it per step
        async with slots:
            served.append(name)

    await slots.acquire()
    tasks = [asyncio.create_task(call(name, priority)) for name, priority in waiters]
    await asyncio.sleep(0)  # each task runs up to its wait for the slot, in the order created
    slots.release()
    await asyncio.gather(*tasks)
    return served


async def test_the_highest_priority_waiter_is_served_first_and_equal_priorities_in_arrival_order():
    slots = CallSlots(1)
    waiters = [("opening a", 0), ("verdict x", 4), ("critique b", 1), ("verdict y", 4), ("opening c", 0)]
    served = await _queue_behind_a_held_slot(slots, waiters)
    assert served == ["verdict x", "verdict y", "critique b", "opening a", "opening c"]
    assert slots.free == 1


async def test_calls_outside_a_debate_wait_in_arrival_order():
    slots = CallSlots(1)
    served: list[str] = []

    async def call(name: str) -> None:  # no priority set: the default, as for a tournament or the verifier
        async with slots:
            served.append(name)

    await slots.acquire()
    tasks = [asyncio.create_task(call(name)) for name in ("first", "second", "third")]
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks)
    assert served == ["first", "second", "third"]


async def test_a_waiter_cancelled_while_queued_gives_no_slot_away_and_takes_none():
    slots = CallSlots(2)
    await slots.acquire()
    await slots.acquire()
    cancelled = asyncio.create_task(slots.acquire(5))
    behind = asyncio.create_task(slots.acquire(0))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slots.release()  # goes to the waiter still queued, not to the cancelled one
    await behind
    assert slots.free == 0
    slots.release()
    slots.release()
    assert slots.free == 2  # every slot came back: none lost, none made up


async def test_a_waiter_cancelled_as_its_slot_is_handed_over_passes_the_slot_on():
    slots = CallSlots(1)
    await slots.acquire()
    first = asyncio.create_task(slots.acquire(3))
    second = asyncio.create_task(slots.acquire(1))
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `first`, which has not run since
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await second  # the slot went on to the next waiter
    assert slots.free == 0
    slots.release()
    assert slots.free == 1


# -- the batch runner ----------------------------------------------------------------------------------------


@dataclass
class Observed:
    """What the fake server saw, in the order it saw it."""

    log: list[tuple[str, str, str]] = field(default_factory=list)  # ("asked" | "answered", step, hypothesis title)
    peak_at_once: int = 0  # the most requests the server held at once

    def finished(self) -> int:
        """Debates whose verdict was answered (1 judge)."""
        return sum(1 for event, step, _ in self.log if event == "answered" and step == "verdict")

    def asked(self, step: str) -> list[int]:
        """Where the requests for `step` arrived among all requests."""
        arrivals = [s for event, s, _ in self.log if event == "asked"]
        return [i for i, s in enumerate(arrivals) if s == step]

    def peak_debates_in_flight(self) -> int:
        """The most debates begun (a request seen) and not finished (their verdict not answered) at any arrival."""
        begun: set[str] = set()
        finished: set[str] = set()
        peak = 0
        for event, step, title in self.log:
            if event == "asked":
                begun.add(title)
                peak = max(peak, len(begun - finished))
            elif step == "verdict":
                finished.add(title)
        return peak


async def _batch_through_the_fake(tmp_path: Path, *, debates: int, call_slots: int, in_flight: int) -> Observed:
    """`debates` debates (1 round, 1 judge) through the real client against a fake that answers its oldest request
    only once every debate in flight holds a call slot or waits for one (as a model slower than the engine would),
    with `call_slots` call slots and `in_flight` debates admitted. Which call gets a freed slot is then up to the
    slots alone, whatever the event loop runs in between."""
    seen = Observed()
    debater = FakeDebater()
    held: list[object] = []  # requests at the server, oldest first

    async def answer(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        step = body["tools"][0]["function"]["name"]
        title = re.search(r"^Title: (.+)$", body["messages"][-1]["content"], re.MULTILINE)
        key = (step, title.group(1) if title else "")
        seen.log.append(("asked", *key))
        turn = object()
        held.append(turn)
        seen.peak_at_once = max(seen.peak_at_once, len(held))
        slots = _process_limit(call_slots)
        while held[0] is not turn or len(held) + slots.waiting < min(in_flight, debates - seen.finished()):
            await asyncio.sleep(0)
        held.pop(0)
        seen.log.append(("answered", *key))
        return httpx2.Response(200, json=completion_json(debater(body), body["model"]))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer), base_url="http://fake.local/v1")
    sessions = open_store(f"sqlite:///{tmp_path / 'slots.db'}")
    OPEN_ENGINES.append(sessions.engine)
    runner = BatchRunner(
        client=LLMClient(fast_settings(concurrency=call_slots), http_client=http),
        sessions=sessions,
        settings=DebateSettings(rounds=1, judges=1, early_stop=False, in_flight=in_flight),
        rubric=Rubric(),
        prompts=load_prompts(),
    )
    try:
        result = await runner.run(load_hypotheses([EXAMPLE])[:debates], source="example")
    finally:
        await runner.client.aclose()
    assert result.count("completed") == debates
    return seen


async def test_more_debates_than_call_slots_are_in_flight_at_once(tmp_path):
    seen = await _batch_through_the_fake(tmp_path, debates=6, call_slots=2, in_flight=6)
    assert seen.peak_at_once == 2  # the call slots hold
    assert seen.peak_debates_in_flight() > 2  # while debates are admitted beyond them


async def test_a_judge_call_is_served_before_the_openings_of_new_debates_queued_ahead_of_it(tmp_path):
    seen = await _batch_through_the_fake(tmp_path, debates=6, call_slots=2, in_flight=6)
    # all six debates were admitted at once, so every opening was waiting for a slot before any debate reached its
    # judge: first come, first served would send every opening before the first verdict
    assert len(seen.asked("opening")) == 6
    assert seen.asked("verdict")[0] < seen.asked("opening")[-1]
