"""Call slots: the process-wide bound on simultaneous LLM calls, granted by priority.

`CallSlots` is used like `asyncio.Semaphore` (`async with slots: ...`), except in whom it lets in next: when calls
wait for a slot, the one with the highest priority goes first, and calls of equal priority go in the order they
asked. A call's priority is `call_priority` in the context it asks from. The debate graph sets it per step to the
step's ordinal in its debate, the judges highest (debates/graph.py), so a debate near its end is not kept waiting
behind the openings of debates just started. Calls made outside a debate (tournament, eval's baseline, the evidence
verifier) ask with DEFAULT_PRIORITY.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
from types import TracebackType

DEFAULT_PRIORITY = 0
call_priority: contextvars.ContextVar[int] = contextvars.ContextVar("call_priority", default=DEFAULT_PRIORITY)


class CallSlots:
    """`size` slots; waiters are served by priority (higher first), then in order of arrival."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"call slots must be at least 1, got {size}")
        self.size = size
        self._free = size
        # a heap of (-priority, arrival, grant): its first entry is the highest priority, earliest arrival
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def free(self) -> int:
        """Slots neither held nor handed to a waiter."""
        return self._free

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot."""
        return sum(1 for _, _, grant in self._waiting if not grant.done())

    async def acquire(self, priority: int = DEFAULT_PRIORITY) -> None:
        """Take a slot, waiting behind every waiter of higher priority and every earlier one of the same."""
        if self._free:  # a free slot means nobody waits: release hands a slot to a waiter before freeing it
            self._free -= 1
            return
        grant: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (-priority, next(self._arrivals), grant)
        heapq.heappush(self._waiting, entry)
        try:
            await grant
        except asyncio.CancelledError:
            if grant.cancelled():  # cancelled while waiting: leave the queue
                if entry in self._waiting:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
            else:  # cancelled just after a slot was handed over: pass it on, or it would be lost
                self.release()
            raise

    def release(self) -> None:
        """Hand the slot to the first waiter, or free it when nobody waits."""
        while self._waiting:
            grant = heapq.heappop(self._waiting)[2]
            if not grant.done():  # a waiter cancelled a moment ago is still queued: skip it
                grant.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire(call_priority.get())

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
