"""`hypodebate show h-...`: a hypothesis, its versions, its score on each scoreboard and its latest transcript."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.orm import Session

from hypodebate.app.show import check_id, find_hypothesis
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from scoring.measured import interval_text
from store import debates, rankings, repository
from store.demo import DEMO_WARNING
from store.models import HypothesisRow, HypothesisScoreRow
from store.reports import latest_completed_debate


def show_command(ws: Workspace, hypothesis_id: str, *, out: Console) -> int:
    """Print the hypothesis, its versions, its score on each scoreboard and its latest transcript; NotFound for a
    malformed or unknown id."""
    check_id(hypothesis_id)  # before the database is opened
    with ws, ws.store() as session:
        _show(session, find_hypothesis(session, hypothesis_id, ws.url), out)
    return 0


def _rank(session: Session, row: HypothesisScoreRow) -> str:
    """` · rank 2–5 of 12` for a current version's score: the ranks the data allow on its scoreboard."""
    if not row.current:
        return ""
    ranked = rankings.with_ranks(rankings.ranking(session, row.scoreboard_id))
    found = next((r.rank for r in ranked if r.id == row.hypothesis_id), None)
    return "" if found is None else f" · rank {found.text()} of {found.of}"


def _show(session: Session, h: HypothesisRow, out: Console) -> None:
    out.print(f"[bold]{shown(h.title)}[/bold]  ({shown(h.id)}, version {h.version})")
    out.print(f"Target: {shown(h.target_label)}   Disease: {shown(', '.join(h.diseases) or '-')}")
    out.print(f"Mechanism: {shown(h.mechanism)}")
    for e in h.evidence:
        out.print(f"  \\[{shown(e.stance)}] {shown(e.claim)}" + (f" ({shown(e.citation)})" if e.citation else ""))

    versions = repository.versions_of(session, h.id)
    scores = rankings.hypothesis_scores(session, h.id)
    out.print("\n[bold]Versions[/bold]")
    for v in versions:
        mark = " (current)" if v.content_hash == h.content_hash else ""
        origin = {"input": "from input", "revision": f"revision offered in {v.debate_id}", "legacy": "legacy"}
        parent = f", child of {v.parent_id}" if v.parent_id else ""
        out.print(f"  {shown(v.id)}{mark}: {shown(origin.get(v.origin, v.origin))}{shown(parent)}")
        if v.origin == "revision" and v.content:
            out.print(f"    {shown(v.content.get('mechanism', ''))}")
    out.print("\n[bold]Scores[/bold] (one line per scoreboard and version; never averaged across them)")
    if not scores:
        out.print("  not yet debated")
    by_hash = {v.content_hash: v.id for v in versions}
    for row, board in scores:
        out.print(
            f"  {shown(by_hash.get(row.content_hash, '?'))} on {shown(board.label)}\n"
            f"    [bold]{row.mean:.2f}[/bold] {interval_text(row)} · "
            f"{row.debates} debate(s), {row.verdicts} verdict(s)" + _rank(session, row)
        )
        if board.demo:
            out.print(f"    [yellow]{shown(DEMO_WARNING)}[/yellow]")

    debate = latest_completed_debate(session, h.id)
    score = debates.debate_score(session, debate.id) if debate is not None else None
    if debate is None or score is None:
        return
    out.print(
        f"\nLatest debate {shown(debate.id)} ({shown(by_hash.get(debate.hypothesis_hash, 'an older version'))}, "
        f"scoreboard {shown(score.scoreboard_id)}): panel {score.mean:.2f} ± {score.spread:.2f} sd over {score.n} "
        f"judges, rounds {debate.rounds_run}, rubric {shown(debate.rubric_hash)}"
    )
    for verdict in debate.verdicts:
        out.print(
            f"  judge {verdict.judge}: {verdict.composite:.2f} · {shown(verdict.model)} · "
            f"persona {shown(verdict.persona or '-')} · read {shown(verdict.material_order or 'chronological')}"
        )
    for turn in debate.turns:
        out.print(
            f"\n[bold]{shown(turn.step)} · {shown(turn.role)} · round {turn.round}[/bold] "
            f"({shown(turn.model)}, {turn.prompt_tokens}+{turn.completion_tokens} tokens)"
        )
        out.print(shown(turn.text))
