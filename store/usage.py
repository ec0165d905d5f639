"""What LLM calls cost, summed from the usage rows: the one shape every reader of spending gets (the report, the
evaluation, `hypodebate usage`).

A row's cost is NULL when its model had no price (unknown, never $0): a sum over rows is unknown (None) as soon as
one of them is, so every query counts the NULL costs beside the sum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from store.models import BatchRow, DebateRow, UsageRow

GroupBy = Literal["role", "model", "command", "day"]
GROUPS: tuple[GroupBy, ...] = ("role", "model", "command", "day")


@dataclass(frozen=True, slots=True)
class Usage:
    """Calls made, their prompt tokens (`cached_prompt_tokens` of them served from the provider's prompt cache),
    completion tokens and dollars (failed calls included); `cost_usd` None: unknown (a call's model had no price)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cached_prompt_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cached_share(self) -> float | None:
        """The share of prompt tokens the server reported as cached; None without prompt tokens."""
        return self.cached_prompt_tokens / self.prompt_tokens if self.prompt_tokens else None

    def __add__(self, other: Usage) -> Usage:
        """Both sets of calls together (what `sum` of several chunks' usage gives); unknown when either is."""
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd,
            self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


NONE = Usage(0, 0, 0, 0.0)


def _sums() -> tuple[Any, ...]:
    """The columns every usage query sums: calls, prompt, completion and cached tokens, priced dollars, unpriced
    calls."""
    return (
        func.count(UsageRow.id),
        func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
        func.coalesce(func.sum(UsageRow.completion_tokens), 0),
        func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
        func.coalesce(func.sum(UsageRow.cached_prompt_tokens), 0),
        func.coalesce(func.sum(case((UsageRow.cost_usd.is_(None), 1), else_=0)), 0),
    )


def _usage(calls: Any, prompt: Any, completion: Any, cost: Any, cached: Any, unpriced: Any) -> Usage:
    return Usage(int(calls), int(prompt), int(completion), None if int(unpriced) else float(cost), int(cached))


def usage_where(session: Session, condition: Any) -> Usage:
    """The calls whose usage rows meet `condition`, summed in one query."""
    return _usage(*session.execute(select(*_sums()).where(condition)).one())


def of_batch(row: BatchRow) -> ColumnElement[bool]:
    """The usage rows of a batch's calls. Turn-time rows carry only the debate id; completion and failure rows carry
    the batch id too."""
    in_batch = select(DebateRow.id).where(DebateRow.batch_id == row.id)
    return or_(
        UsageRow.batch_id == row.id,
        and_(UsageRow.batch_id.is_(None), UsageRow.debate_id.in_(in_batch), UsageRow.created_at >= row.started_at),
    )


def since(moment: datetime) -> ColumnElement[bool]:
    """The usage rows written at or after `moment` (UTC)."""
    return UsageRow.created_at >= moment


# -- grouped: `hypodebate usage --by` --------------------------------------------------------------------------


class UtcDay(FunctionElement[str]):
    """The UTC calendar day (YYYY-MM-DD) of a timestamp: SQLite's `date()` of the stored UTC text; on PostgreSQL
    the timestamptz is turned to UTC first (its `date()` would use the session's time zone)."""

    type = String()
    inherit_cache = True


@compiles(UtcDay)
def _utc_day(element: UtcDay, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _utc_day_pg(element: UtcDay, compiler: Any, **kw: Any) -> str:
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM-DD')"


def _key(by: GroupBy) -> Any:
    if by == "day":
        return UtcDay(UsageRow.created_at)
    return {"role": UsageRow.role, "model": UsageRow.model, "command": UsageRow.command}[by]


def usage_by(session: Session, by: GroupBy, condition: Any = None) -> list[tuple[str | None, Usage]]:
    """The usage rows meeting `condition` (every row when None), summed per `by` key in one query: (key, usage) by
    key, None (rows without one: a command before the ledger recorded it) last."""
    key = _key(by).label("key")
    query = select(key, *_sums()).group_by(key)
    if condition is not None:
        query = query.where(condition)
    groups = [(_text(row[0]), _usage(*row[1:])) for row in session.execute(query)]
    return sorted(groups, key=lambda g: (g[0] is None, g[0] or ""))


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def total(groups: Sequence[tuple[str | None, Usage]]) -> Usage:
    """Every group's calls together."""
    return sum((u for _, u in groups), start=NONE)
