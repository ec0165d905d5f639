"""The bridge from blocking code to a coroutine: `asyncio.run`, or a worker thread where a loop already runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_to_completion(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run(make()), or, when this thread already runs a loop (a notebook), the same on a worker thread.

    The coroutine is created where it runs, so nothing is left un-awaited if the run cannot start. An interrupt
    (Ctrl-C, a notebook's stop button) cancels the run; what it finished stays stored."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    running: dict[str, Any] = {}

    async def main() -> T:
        running["loop"], running["task"] = asyncio.get_running_loop(), asyncio.current_task()
        return await make()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hypodebate-run-batch")
    future = pool.submit(lambda: asyncio.run(main()))
    try:
        return future.result()
    except BaseException:
        if not future.done() and "task" in running:
            running["loop"].call_soon_threadsafe(running["task"].cancel)
        raise
    finally:
        pool.shutdown(wait=False)
