"""`hypodebate show h-...`: a hypothesis, its versions, its score on each scoreboard and its latest transcript."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.embedded import DEMO_WARNING
from hypodebate.commands.run import interval_text
from hypodebate.config import Settings
from store import rankings, repository
from store.engine import open_store
from store.models import DebateRow, HypothesisRow, ScoreRow


class NotFound(Exception):
    """No such hypothesis in the database."""


def show_command(hypothesis_id: str, url: str, settings: Settings, *, out: Console) -> int:
    sessions = open_store(url)
    try:
        with sessions() as session:
            h = session.get(HypothesisRow, hypothesis_id)
            if h is None:
                raise NotFound(f"{hypothesis_id}: no such hypothesis in {sessions.kw['bind'].url!r}")
            _show(session, h, out)
    finally:
        sessions.kw["bind"].dispose()
    return 0


def _show(session: Session, h: HypothesisRow, out: Console) -> None:
    out.print(f"[bold]{escape(h.title)}[/bold]  ({h.id}, version {h.version})")
    out.print(f"Target: {escape(h.target_label)}   Disease: {escape(', '.join(h.diseases) or '-')}")
    out.print(f"Mechanism: {escape(h.mechanism)}")
    for e in h.evidence:
        out.print(f"  [{e.stance}] {escape(e.claim)}" + (f" ({escape(e.citation)})" if e.citation else ""))

    versions = repository.versions_of(session, h.id)
    scores = rankings.hypothesis_scores(session, h.id)
    out.print("\n[bold]Versions[/bold]")
    for v in versions:
        mark = " (current)" if v.content_hash == h.content_hash else ""
        origin = {"input": "from input", "revision": f"revision offered in {v.debate_id}", "legacy": "legacy"}
        parent = f", child of {v.parent_id}" if v.parent_id else ""
        out.print(f"  {v.id}{mark}: {origin.get(v.origin, v.origin)}{parent}")
        if v.origin == "revision" and v.content:
            out.print(f"    {escape(str(v.content.get('mechanism', '')))}")
    out.print("\n[bold]Scores[/bold] (one line per scoreboard and version; never averaged across them)")
    if not scores:
        out.print("  not yet debated")
    by_hash = {v.content_hash: v.id for v in versions}
    for row, board in scores:
        out.print(
            f"  {by_hash.get(row.content_hash, '?')} on {escape(board.label)}\n"
            f"    [bold]{row.mean:.2f}[/bold] {interval_text(row.lo, row.hi, row.interval)} · "
            f"{row.debates} debate(s), {row.verdicts} verdict(s)"
        )
        if board.demo:
            out.print(f"    [yellow]{escape(DEMO_WARNING)}[/yellow]")

    debate = session.scalars(
        select(DebateRow)
        .where(DebateRow.hypothesis_id == h.id, DebateRow.status == "completed")
        .order_by(DebateRow.finished_at.desc())
    ).first()
    if debate is None:
        return
    score = session.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate.id)).one()
    out.print(
        f"\nLatest debate {debate.id} ({by_hash.get(debate.hypothesis_hash, 'an older version')}, "
        f"scoreboard {score.scoreboard_id}): panel {score.mean:.2f} ± {score.spread:.2f} sd over {score.n} judges, "
        f"rounds {debate.rounds_run}, rubric {debate.rubric_hash}"
    )
    for verdict in debate.verdicts:
        out.print(
            f"  judge {verdict.judge}: {verdict.composite:.2f} · {escape(verdict.model)} · "
            f"persona {verdict.persona or '-'} · read {verdict.material_order or 'chronological'}"
        )
    for turn in debate.turns:
        out.print(
            f"\n[bold]{turn.step} · {turn.role} · round {turn.round}[/bold] "
            f"({escape(turn.model)}, {turn.prompt_tokens}+{turn.completion_tokens} tokens)"
        )
        out.print(escape(turn.text))
