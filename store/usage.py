"""What LLM calls cost, summed from the usage rows: the one shape every reader of spending gets (the report, the
evaluation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import UsageRow


@dataclass(frozen=True, slots=True)
class Usage:
    """Calls made, their prompt and completion tokens and their dollars (failed calls included)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        """Both sets of calls together (what `sum` of several chunks' usage gives)."""
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost_usd + other.cost_usd,
        )


NONE = Usage(0, 0, 0, 0.0)


def usage_where(session: Session, condition: Any) -> Usage:
    """The calls whose usage rows meet `condition`, summed in one query."""
    calls, prompt, completion, cost = session.execute(
        select(
            func.count(UsageRow.id),
            func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRow.completion_tokens), 0),
            func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
        ).where(condition)
    ).one()
    return Usage(int(calls), int(prompt), int(completion), float(cost))
