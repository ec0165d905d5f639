"""`hypodebate show h-...`: a hypothesis, its scores and its latest transcript."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from agents.embedded import DEMO_WARNING
from agents.settings import EMBEDDED_MODEL
from hypodebate.config import Settings
from store.engine import open_store
from store.models import DebateRow, HypothesisRow, ScoreRow


class NotFound(Exception):
    """No such hypothesis in the database."""


def show_command(hypothesis_id: str, url: str, settings: Settings, *, out: Console) -> int:
    sessions = open_store(url)
    with sessions() as session:
        h = session.get(HypothesisRow, hypothesis_id)
        if h is None:
            raise NotFound(f"{hypothesis_id}: no such hypothesis in {url}")
        out.print(f"[bold]{escape(h.title)}[/bold]  ({h.id})")
        out.print(f"Target: {escape(h.target_label)}   Disease: {escape(', '.join(h.diseases) or '-')}")
        out.print(f"Mechanism: {escape(h.mechanism)}")
        for e in h.evidence:
            out.print(f"  [{e.stance}] {escape(e.claim)}" + (f" ({escape(e.citation)})" if e.citation else ""))
        if h.score is None:
            out.print("Score: not yet debated")
            return 0
        out.print(
            f"Score: [bold]{h.score:.2f}[/bold] ± {h.score_spread or 0:.2f} (n={h.score_n} verdicts, "
            f"{h.debates_completed} debate(s))"
        )
        debate = session.scalars(
            select(DebateRow)
            .where(DebateRow.hypothesis_id == h.id, DebateRow.status == "completed")
            .order_by(DebateRow.finished_at.desc())
        ).first()
        if debate is None:
            return 0
        score = session.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate.id)).one()
        out.print(
            f"\nLatest debate {debate.id}: panel {score.mean:.2f} ± {score.spread:.2f} (n={score.n}), "
            f"rounds {debate.rounds_run}, rubric {debate.rubric_hash}"
        )
        if EMBEDDED_MODEL in debate.models.values():
            out.print(f"[yellow]{DEMO_WARNING}[/yellow]")
        for turn in debate.turns:
            out.print(
                f"\n[bold]{turn.step} · {turn.role} · round {turn.round}[/bold] "
                f"({escape(turn.model)}, {turn.prompt_tokens}+{turn.completion_tokens} tokens)"
            )
            out.print(escape(turn.text))
    sessions.kw["bind"].dispose()
    return 0
