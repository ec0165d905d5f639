"""`hypodebate tournament`: rank a pool by pairwise comparison and print its ratings beside the rubric ranking."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import TextColumn
from rich.table import Table

from agents.usage import usd
from debates.tournament_result import TournamentProgress, TournamentResult
from hypodebate.app.options import DebateOptions, Pool
from hypodebate.app.tournament import run_tournament
from hypodebate.app.workspace import Workspace
from hypodebate.commands.progress import demo_note, progress_bar
from hypodebate.commands.usage import cached_text
from hypodebate.terminal import shown
from safeio.errors import InputError
from safeio.files import write_atomic

TOP = 25  # ratings printed by default: a long tournament is read in full in its JSON or the report


def tournament_command(
    ws: Workspace,
    pool: Pool,
    options: DebateOptions,
    *,
    matches: int | None,
    queue: bool,
    out: Console,
    err: Console,
    json_path: Path | None,
    top: int = TOP,
) -> int:
    """Rank the pool with a bar on `err`, print its `top` best ratings on `out` (0: all; `json_path` gets every one);
    1 when a comparison failed."""
    if queue and options.budget_usd is not None:
        raise InputError("--queue: budgets count one process's spending, and the workers spend it; run without --queue")
    demo_note(ws.settings, err)
    bar = progress_bar(err, TextColumn("comparisons"))
    task = bar.add_task("comparisons", total=0, step="", status="")

    def update(p: TournamentProgress) -> None:
        status = f"failed {p.failed} · {p.tokens:,} tokens · {usd(p.cost_usd)}"
        bar.update(task, total=p.planned, completed=p.done + p.failed, status=status, step=p.step)

    with bar:
        result = ws.run(lambda ws: run_tournament(ws, pool, options, matches=matches, progress=update, queue=queue))
    print_tournament(result, out, top=top)
    if json_path is not None:
        write_atomic(json_path, (json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        err.print(f"wrote {shown(str(json_path))}")
    for cid, reason in result.failures:
        err.print(f"[red]failed[/red] {shown(cid)}: {shown(reason)}", highlight=False)
    if result.budget_exhausted:
        err.print("[yellow]budget reached:[/yellow] some comparisons were not asked; run again to go on")
    return 1 if result.failures else 0


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _first_shown(result: TournamentResult) -> str:
    """The judge's lean: the first-shown share of decided comparisons with its interval, and the fitted parameter."""
    share = result.first_share
    if share is None:
        return "first shown won — (no comparison named a winner)"
    advantage = (
        "" if result.first_advantage is None else f"; fitted first-position advantage {result.first_advantage:+.0f}"
    )
    return (
        f"position bias: first shown won {_percent(share.value)} [{_percent(share.lo)}, {_percent(share.hi)}] of "
        f"{share.n} decided comparisons (50% = no lean){advantage}"
    )


def print_tournament(result: TournamentResult, out: Console, *, top: int = TOP) -> None:
    """The ratings as a table (rank range, rating ± interval, wins/ties/losses, the rubric score beside) of its `top`
    best (0: every one), then how many more there are, its provenance and the judge's lean."""
    board = result.board
    demo = " [DEMO: the embedded model's judgements are noise]" if board is not None and board.demo else ""
    table = Table(
        title=(
            f"Tournament {shown(result.pool)}: {len(result.ratings)} hypotheses, {result.comparisons} comparisons{demo}"
        ),
        caption=(
            "Bradley-Terry ratings on an Elo-like scale (1500 + 400·log10 odds), every judged order its own "
            "observation with a first-position parameter and a tie model; 95% intervals robust to a judge consistent "
            "across orders. Rank: the ranks the data allow (1–5: not separated from its neighbours). "
            "W/T/L count judged orders."
        ),
        title_justify="left",
        caption_justify="left",
    )
    rubric = f"rubric score ({result.rubric_board.id})" if result.rubric_board is not None else "rubric score"
    for column in ("rank", "hypothesis", "rating [95%]", "W", "T", "L", rubric):
        table.add_column(column, justify="left" if column == "hypothesis" else "right")
    for r in result.ratings[:top] if top else result.ratings:
        score = result.rubric_scores.get(r.id)
        table.add_row(
            r.ranks.text(),
            f"{shown(result.titles.get(r.id, ''))} ({r.id})",
            f"{r.rating:.0f} [{r.lo:.0f}, {r.hi:.0f}]",
            str(r.wins),
            str(r.ties),
            str(r.losses),
            "—" if score is None else f"{score:.2f}",
        )
    out.print(table)
    if top and len(result.ratings) > top:
        out.print(
            f"… and {len(result.ratings) - top:,} more of {len(result.ratings):,} rated, not shown: `--json FILE` "
            "writes every rating (`hypodebate report --batch b-...` shows a batch's); `--top 0` prints them all here",
            highlight=False,
        )
    if board is not None:
        out.print(
            f"scoreboard {board.id} · judges {shown(', '.join(board.judge_models))} · rubric {board.rubric_hash}"
            f" · protocol {board.protocol_hash} (pairwise)",
            highlight=False,
        )
    out.print(
        f"comparisons {result.comparisons} ({result.asked} asked now, {len(result.failures)} failed) · "
        f"{result.matches} matches · order inconsistency {_percent(result.order_inconsistency)} of matches "
        "(the two orders disagreed)",
        highlight=False,
    )
    out.print(_first_shown(result), highlight=False)
    tau = result.agreement
    if result.rubric_board is not None:
        agreement = "not defined (the ratings, or the scores, are all level)" if tau is None else f"{tau:.2f}"
        out.print(
            f"rubric scores: {shown(result.rubric_board.label)}; agreement with the ratings: Kendall tau {agreement}",
            highlight=False,
        )
    out.print(
        f"this run: {result.calls} calls · {result.prompt_tokens + result.completion_tokens:,} tokens "
        f"({cached_text(result.cached_prompt_tokens, result.prompt_tokens)}) · {usd(result.cost_usd)} · "
        f"{result.wall_s:.1f} s",
        highlight=False,
    )
