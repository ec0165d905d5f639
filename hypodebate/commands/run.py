"""`hypodebate run`: a batch with a progress bar, then the ranked table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import TextColumn, TimeRemainingColumn
from rich.table import Table

from agents.usage import usd
from debates.inputs import load_hypotheses
from debates.runner import BatchResult
from debates.runner import Progress as BatchProgress
from hypodebate.app import batch
from hypodebate.app.options import DebateOptions
from hypodebate.app.workspace import Workspace
from hypodebate.commands.progress import demo_note, progress_bar
from hypodebate.commands.usage import cached_text
from hypodebate.terminal import shown
from scoring.measured import interval_text

TOP = 25  # rows of a ranked table printed by default: a long ranking is read in the report or an export


def run_command(
    ws: Workspace,
    paths: list[Path],
    options: DebateOptions,
    *,
    versions: list[str],
    out: Console,
    err: Console,
    top: int = TOP,
) -> int:
    """Debate the batch with a progress bar on `err`, then print its `top` best-ranked rows on `out` (0: all); 1 when
    a debate failed."""
    # Read once: bad input fails here, before anything is printed or stored, and the batch reuses what was read.
    loaded = load_hypotheses(paths) if paths else None
    demo_note(ws.settings, err)
    # the step is what runs now: "h-2600483e critique 1/1", "… judge 2/2"
    bar = progress_bar(err, TextColumn("debates"), TextColumn("ETA"), TimeRemainingColumn())
    task = bar.add_task("debates", total=None, status="", step="starting")

    def update(p: BatchProgress) -> None:
        status = (
            f"failed {p.failed} · skipped {p.skipped} · {p.requests} requests · {p.tokens:,} tokens · {usd(p.cost_usd)}"
        )
        done = p.completed + p.failed + p.skipped
        step = p.step if done < p.total else "done"
        bar.update(task, total=p.total, completed=done, status=status, step=step)

    with bar:
        result = ws.run(
            lambda ws: batch.run_batch(ws, paths, options, progress=update, versions=versions, loaded=loaded)
        )
    print_result(result, out, err, top=top)
    return 0 if result.ok else 1


def print_result(result: BatchResult, out: Console, err: Console, *, top: int = TOP) -> None:
    """One ranked table per scoreboard the batch's hypotheses are scored on (scores are never mixed), each of its
    `top` best-ranked rows (0: every row) and a line saying how to see the rest."""
    own = result.board
    for board in sorted(result.boards, key=lambda b: own is None or b.id != own.id):  # this batch's board first
        demo = " [DEMO: scores carry no information]" if board.demo else ""
        table = Table(
            title=f"Batch {shown(result.batch_id)}: ranked on scoreboard {shown(board.id)}{demo}",
            caption=shown(board.label) + "\nrank: the ranks the data allow (2–5: anywhere from 2nd to 5th)",
            title_justify="left",
            caption_justify="left",
        )
        for column, justify in [
            ("rank", "right"),
            ("id", "left"),
            ("v", "right"),
            ("title", "left"),
            ("target", "left"),
            ("score", "right"),
            ("95% interval", "left"),
            ("debates", "right"),
            ("verdicts", "right"),
        ]:
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        ranked = result.rankings.get(board.id, [])
        for position, r in enumerate(ranked[:top] if top else ranked, 1):
            table.add_row(
                r.rank.text() if r.rank else str(position),
                shown(r.id),
                str(r.version),
                shown(r.title),
                shown(r.target_label),
                f"{r.score:.2f}",
                interval_text(r),
                str(r.debates),
                str(r.verdicts),
            )
        out.print(table)
        if top and len(ranked) > top:
            out.print(more_rows(len(ranked) - top, len(ranked), report_command(result)), highlight=False)
    done, failed, skipped = result.count("completed"), result.count("failed"), result.count("skipped")
    err.print(
        f"{done} debated, {failed} failed, {skipped} skipped · {result.calls} calls · "
        f"{result.prompt_tokens + result.completion_tokens:,} tokens "
        f"({cached_text(result.cached_prompt_tokens, result.prompt_tokens)}) · {usd(result.cost_usd)} · "
        f"{result.wall_s:.1f} s" + (" · budget exhausted" if result.budget_exhausted else "")
    )
    if result.evidence is not None:
        n = sum(result.evidence.values())
        tally = " · ".join(f"{count} {status}" for status, count in result.evidence.items())
        err.print(
            f"evidence: {n} citations against {result.bibliography_entries} bibliography entries: {tally} "
            f"(`hypodebate evidence` lists them) · {result.audited} hypotheses audited now, the others' audits were "
            "up to date",
            highlight=False,
        )
    for outcome in result.outcomes:
        if outcome.status == "failed":
            err.print(
                f"[red]failed[/red] {shown(outcome.hypothesis_id)} ({shown(outcome.debate_id)}): "
                f"{shown(outcome.reason)}"
            )


def report_command(result: BatchResult) -> str:
    """The report that holds every row of the batch's ranking: the batch's own when it debated all of them, else
    the report of every debate (a debate skipped as done belongs to the batch that debated it)."""
    if any(o.status == "skipped" for o in result.outcomes):
        return "hypodebate report"
    return f"hypodebate report --batch {shown(result.batch_id)}"


def more_rows(hidden: int, ranked: int, report: str) -> str:
    """The line under a ranked table cut at its top rows: how many are not shown, and where they are."""
    return (
        f"… and {hidden:,} more of {ranked:,} ranked, not shown: `{report}` and `hypodebate export -o scores.jsonl` "
        "have every row, `hypodebate show <id>` one hypothesis; `--top 0` prints them all here"
    )
