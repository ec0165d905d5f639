"""Spending from the usage table (`hypodebate usage`): every call any process or worker made on this database,
summed per role, model, command or day, for one batch, since a day, or in all (reads the store only); and `books`,
which books the calls of an application entry to its command."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ParamSpec, TypeVar

from agents.usage import running_command
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store.models import BatchRow
from store.usage import GROUPS, GroupBy, Usage, of_batch, since, total, usage_by

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
NOT_RECORDED = "(not recorded)"  # a call stored before the ledger kept its command and step (migration 0013)
P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def booked_to(command: str) -> Iterator[None]:
    """Inside the block, every usage row is booked to `command` (`agents.usage.running_command`; the tasks started
    here copy it), unless an enclosing entry books them already: a generation run's debates are `generate`'s."""
    if running_command.get() is not None:
        yield
        return
    token = running_command.set(command)
    try:
        yield
    finally:
        running_command.reset(token)


def books(command: str) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """An application entry whose calls are booked to `command` (`booked_to` around it)."""

    def wrap(entry: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(entry)
        async def booked(*args: P.args, **kwargs: P.kwargs) -> T:
            with booked_to(command):
                return await entry(*args, **kwargs)

        return booked

    return wrap


@dataclass(frozen=True)
class UsageReport:
    """The calls of `scope`, summed per `by` key (`groups`, in key order; None: not recorded) and in all (`total`)."""

    by: GroupBy
    scope: str  # in words: "every call", "batch b-1a2b3c4d", "since 2026-01-31 (UTC)"
    groups: list[tuple[str | None, Usage]]
    total: Usage

    def as_json(self) -> dict[str, Any]:
        """`{"calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "cost_usd", "groups": [{"key",
        ...the same fields}]}`; `cost_usd` null: unknown (some call's model had no price)."""
        return {
            "by": self.by,
            "scope": self.scope,
            **_figures(self.total),
            "groups": [{"key": key, **_figures(usage)} for key, usage in self.groups],
        }


def _figures(usage: Usage) -> dict[str, Any]:
    return {
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "cached_prompt_tokens": usage.cached_prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": None if usage.cost_usd is None else round(usage.cost_usd, 6),
    }


def parse_day(text: str) -> date:
    """`--since`'s day: YYYY-MM-DD, else an InputError that says so."""
    wrong = InputError(f"--since {text!r}: expected a day as YYYY-MM-DD, e.g. 2026-01-31")
    if not DAY.fullmatch(text):
        raise wrong
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        raise wrong from None


def usage_report(ws: Workspace, *, by: str = "role", batch: str | None = None, day: str | None = None) -> UsageReport:
    """The spending of one batch (`batch`, b-...), of the calls made since the start of `day` (YYYY-MM-DD, UTC), or
    of every call in the database, summed per `by` (role, model, command or day) in one query."""
    if by not in GROUPS:
        raise InputError(f"--by {by!r}: expected one of {', '.join(GROUPS)}")
    if batch is not None and day is not None:
        raise InputError("give --batch or --since, not both")
    start = parse_day(day) if day is not None else None
    with ws.store() as session:
        if batch is not None:
            row = session.get(BatchRow, batch)
            if row is None:
                raise InputError(f"--batch: no batch {batch!r} in the database (`hypodebate status` lists batches)")
            condition, scope = of_batch(row), f"batch {batch}"
        elif start is not None:
            moment = datetime(start.year, start.month, start.day, tzinfo=UTC)
            condition, scope = since(moment), f"since {start.isoformat()} (UTC)"
        else:
            condition, scope = None, "every call"
        groups = usage_by(session, by, condition)  # type: ignore[arg-type]
    return UsageReport(by, scope, groups, total(groups))  # type: ignore[arg-type]
