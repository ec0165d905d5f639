"""`hypodebate show h-...`: a hypothesis, where it came from (origin, parents, children), its versions, its score on
each scoreboard and its latest transcript. `show SLUG`: a page with its gaps (the ids `generate --gap` takes) and its
generation runs; `show g-...`: one gap."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.orm import Session

from hypodebate.app.show import find_gap, find_hypothesis, find_page, kind_of
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from scoring.measured import interval_text
from store import debates, lineage, rankings, repository
from store.demo import DEMO_WARNING
from store.models import GapRow, HypothesisRow, HypothesisScoreRow, PageRow
from store.reports import latest_completed_debate


def show_command(ws: Workspace, hypothesis_id: str, *, out: Console) -> int:
    """Print the hypothesis (its origin, versions, score on each scoreboard and latest transcript), or the page
    named by a slug (its gaps and generation runs), or a gap; NotFound for a malformed or unknown name."""
    kind = kind_of(hypothesis_id)  # before the database is opened
    with ws, ws.store() as session:
        if kind == "hypothesis":
            _show(session, find_hypothesis(session, hypothesis_id, ws.url), out)
        elif kind == "gap":
            gap = find_gap(session, hypothesis_id, ws.url)
            _show_gap(gap, find_page(session, gap.page_slug, ws.url), out)
        else:
            _show_page(session, find_page(session, hypothesis_id, ws.url), out)
    return 0


def source_text(kind: str | None, source: str | None, gaps: dict[str, GapRow]) -> str:
    """Where a generated hypothesis or a run came from, in words: `gap g-1a2b3c4d (Title)`, `page SLUG`, `goal: …`."""
    if kind == "gap" and source in gaps:
        return f"gap {source} ({gaps[source].title})"
    if kind == "goal":
        return f"goal: {source}"
    return f"{kind or 'source'} {source or '?'}"


def _show_origin(session: Session, h: HypothesisRow, out: Console) -> None:
    """Origin (imported | generated | evolved), how it was made, its parents and its children."""
    found = lineage.origins(session, [h.id])[h.id]
    kids = lineage.children(session, [h.id]).get(h.id, [])
    out.print(f"\n[bold]Origin[/bold]: {shown(found.origin)} · generation {found.generation}")
    if found.origin != lineage.IMPORTED:
        gaps = lineage.gaps_by_id(session, [found.source] if found.source_kind == "gap" and found.source else [])
        source = source_text(found.source_kind, found.source, gaps)
        out.print(f"  strategy {shown(found.strategy or '-')} · from {shown(source)}")
        out.print(
            f"  generator {shown(found.model or '-')} (as served) · prompt {shown(found.prompt_hash or '-')} · "
            f"run {shown(found.run_id or '-')}"
        )
    out.print(f"  parents: {shown(', '.join(found.parents) or '-')}")
    out.print(f"  children: {shown(', '.join(kids) or '-')}")


def _show_page(session: Session, page: PageRow, out: Console) -> None:
    kind = f", {page.entity_type}" if page.entity_type else ""
    out.print(f"[bold]{shown(page.title)}[/bold]  ({shown(page.slug + kind)})")
    out.print(f"File: {shown(page.source_path)}   Entities: {shown(', '.join(map(str, page.entities)) or '-')}")
    gaps = lineage.gaps_of(session, page.slug)
    out.print(
        f"\n[bold]Gaps[/bold] (Related Analyses: {len(gaps)}; generate from one with `hypodebate generate --gap ID`)"
    )
    if not gaps:
        out.print("  none listed on the page")
    for gap in gaps:
        out.print(f"  {shown(gap.id)}  {shown(gap.title)}" + (f"  ({shown(gap.link)})" if gap.link else ""))
    _show_runs(session, page.slug, out)


def _show_gap(gap: GapRow, page: PageRow, out: Console) -> None:
    out.print(f"[bold]{shown(gap.title)}[/bold]  ({shown(gap.id)}, a gap of page {shown(page.slug)})")
    out.print(f"Link: {shown(gap.link or '-')}   Page: {shown(page.title)}")
    out.print(f"Generate from it: hypodebate generate --gap {shown(gap.id)}")


def _show_runs(session: Session, slug: str, out: Console) -> None:
    runs = lineage.runs_for_page(session, slug)
    if not runs:
        return
    gaps = lineage.gaps_by_id(session, [r.source for r in runs if r.source_kind == "gap"])
    out.print("\n[bold]Generation runs[/bold]")
    for run in runs:
        source = source_text(run.source_kind, run.source, gaps)
        stopped = f" · stopped: {run.stopped}" if run.stopped else ""
        detail = f" ({run.stop_detail})" if run.stop_detail else ""
        out.print(f"  {shown(run.id)}  {shown(source)} · {shown(run.status + stopped + detail)}")


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
    _show_origin(session, h, out)

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
