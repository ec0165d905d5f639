"""Was the embedded demo model used? One answer for the report, the web app and the command line.

The demo model's scores carry no information, and everything that shows them says so. A debate counts as a
demo debate when its scoreboard is marked demo (a judge served by the demo model), its batch ran on the
embedded provider, or the demo model argued or judged it (by the name the server gave it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from store.models import BatchRow, DebateRow, ScoreboardRow, ScoreRow

DEMO_MODEL = "SmolLM2-135M-Instruct"  # the name the embedded server gives its model (agents.settings.EMBEDDED_MODEL)
DEMO_WARNING = (
    f"Scores from the embedded demo model ({DEMO_MODEL}, 135M parameters) carry no information; "
    "point hypodebate at a real model for research use."
)


def models_are_demo(models: dict[str, Any]) -> bool:
    """A role → model mapping (a batch's or a debate's) names the demo model."""
    return any(str(m) == DEMO_MODEL for m in models.values())


def demo_used(session: Session, debate_ids: Select[Any]) -> bool:
    """Any debate `debate_ids` selects was argued or judged by the demo model."""
    on_demo_board = (
        select(ScoreRow.id)
        .join(ScoreboardRow, ScoreboardRow.id == ScoreRow.scoreboard_id)
        .where(ScoreRow.debate_id.in_(debate_ids), ScoreboardRow.demo.is_(True))
        .limit(1)
    )
    if session.scalar(on_demo_board) is not None:
        return True
    embedded_batch = (
        select(BatchRow.id)
        .join(DebateRow, DebateRow.batch_id == BatchRow.id)
        .where(DebateRow.id.in_(debate_ids), BatchRow.provider == "embedded")
        .limit(1)
    )
    if session.scalar(embedded_batch) is not None:
        return True
    # the models column is JSON (role -> served name): read it, do not match its text in SQL
    query = select(DebateRow.models).where(DebateRow.id.in_(debate_ids))
    return any(models_are_demo(m or {}) for m in session.scalars(query.execution_options(yield_per=500)))
