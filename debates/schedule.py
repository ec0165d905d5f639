"""Which debates a batch runs and how many at once: every (hypothesis, replicate), replicate by replicate, admitted
apart from call slots so that a free slot always finds a step ready while memory stays flat."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

from debates.hypotheses import Hypothesis

Outcome = TypeVar("Outcome")


def batch_debates(hypotheses: Sequence[Hypothesis], replicates: int) -> list[tuple[Hypothesis, int]]:
    """The batch's (hypothesis, replicate) pairs: every hypothesis once, then again for each further replicate."""
    return [(h, r) for r in range(replicates) for h in hypotheses]


async def debate_here(
    debates: Sequence[tuple[Hypothesis, int]],
    debate: Callable[[Hypothesis, int], Awaitable[Outcome]],
    landed: Callable[[Outcome], None],
    in_flight: int,
) -> None:
    """Run `debate` on each pair in this process, `in_flight` at a time in their order (the client's process-wide
    limit bounds the calls), handing each outcome to `landed` as it lands."""
    waiting = iter(debates)

    async def debate_in_turn() -> None:
        for h, replicate in waiting:
            landed(await debate(h, replicate))

    with _collector_for_the_batch():
        await asyncio.gather(*(debate_in_turn() for _ in range(in_flight)))


@contextlib.contextmanager
def _collector_for_the_batch() -> Iterator[None]:
    """While debates run here, the garbage collector leaves alone the objects alive before (modules, settings, the
    caller's), which its full collections would otherwise re-scan every time, and collects the young generation ten
    times less often (every call allocates thousands of short-lived objects): together they took a seventh of the
    engine's CPU per call (bench/engine_overhead.py). Afterwards everything is as before. Objects frozen already (a
    server before it forks) stay frozen: then only the threshold changes."""
    young, *older = gc.get_threshold()
    frozen_here = gc.get_freeze_count() == 0
    if frozen_here:
        gc.freeze()
    gc.set_threshold(young * 10, *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)
        if frozen_here:
            gc.unfreeze()
