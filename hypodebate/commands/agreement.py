"""`hypodebate agreement`: how reliable one scoreboard's scores are, from its panels and replicates."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from hypodebate.terminal import shown
from safeio.errors import NotFound
from scoring.agreement import krippendorff_alpha, overlap_share, replicate_tau
from scoring.rubric import Rubric
from store import rankings
from store.engine import open_store


class NoScoreboard(NotFound):
    """There is nothing to measure: no scoreboard, or not the one asked for."""


@dataclass(frozen=True)
class Agreement:
    scoreboard: str
    label: str
    demo: bool
    hypotheses: int
    debates: int
    verdicts: int
    judges: int
    replicates: int
    alpha: dict[str, float | None]  # dimension (and "composite") -> Krippendorff's alpha between judges
    tau_mean: float | None
    tau_min: float | None
    tau_max: float | None
    tau_pairs: int
    tau_common: list[int]  # hypotheses both replicates of a pair scored
    overlap: float | None
    overlap_pairs: int


def measure(session: Session, board_id: str | None) -> Agreement:
    boards = rankings.scoreboards(session)
    if not boards:
        raise NoScoreboard("no scores yet: run a batch first")
    board = boards[0] if board_id is None else next((b for b in boards if b.id == board_id), None)
    if board is None:
        known = ", ".join(b.id for b in boards)
        raise NoScoreboard(f"--scoreboard {board_id}: no such scoreboard with scores (known: {known})")
    cells = rankings.board_verdicts(session, board.id)
    dimensions = sorted({d for c in cells for d in c.scores})
    debates = sorted({c.debate_id for c in cells})
    judges = sorted({c.judge for c in cells})
    column = {d: i for i, d in enumerate(debates)}
    alpha: dict[str, float | None] = {}
    for name in [*dimensions, "composite"]:
        matrix: list[list[float | None]] = [[None] * len(debates) for _ in judges]
        for c in cells:
            value = c.composite if name == "composite" else c.scores.get(name)
            matrix[judges.index(c.judge)][column[c.debate_id]] = None if value is None else float(value)
        alpha[name] = krippendorff_alpha(matrix, "interval")
    panels: dict[str, list[float]] = defaultdict(list)
    where: dict[str, tuple[str, int]] = {}
    for c in cells:
        panels[c.debate_id].append(c.composite)
        where[c.debate_id] = (c.hypothesis_id, c.replicate)
    by_replicate: dict[int, dict[str, float]] = defaultdict(dict)
    for d_id, values in panels.items():
        h_id, replicate = where[d_id]
        by_replicate[replicate][h_id] = sum(values) / len(values)
    tau = replicate_tau(by_replicate)
    ranked = rankings.ranking(session, board.id)
    return Agreement(
        scoreboard=board.id,
        label=board.label,
        demo=board.demo,
        hypotheses=len({c.hypothesis_id for c in cells}),
        debates=len(debates),
        verdicts=len(cells),
        judges=len(judges),
        replicates=len(by_replicate),
        alpha=alpha,
        tau_mean=tau.mean,
        tau_min=tau.min,
        tau_max=tau.max,
        tau_pairs=tau.pairs,
        tau_common=list(tau.common),
        overlap=overlap_share([(r.score, r.lo, r.hi) for r in ranked]),
        overlap_pairs=max(0, len(ranked) - 1),
    )


def agreement_command(url: str, *, scoreboard: str | None, json_path: Path | None, out: Console) -> int:
    sessions = open_store(url)
    try:
        with sessions() as session:
            result = measure(session, scoreboard)
    finally:
        sessions.close()
    show(result, out)
    if json_path is not None:
        json_path.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return 0


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def show(a: Agreement, out: Console) -> None:
    out.print(f"[bold]Agreement on scoreboard {shown(a.scoreboard)}[/bold]")
    out.print(shown(a.label))
    if a.demo:
        out.print("[yellow]Demo model: these figures describe a 135M smoke-test model, not a judge.[/yellow]")
    out.print(
        f"{a.hypotheses} hypotheses · {a.debates} debates · {a.verdicts} verdicts · {a.judges} judge seats · "
        f"{a.replicates} replicate(s)"
    )
    table = Table(title="Between judges: Krippendorff's alpha (interval), units = debates", title_justify="left")
    table.add_column("dimension")
    table.add_column("alpha", justify="right")
    for name, value in a.alpha.items():
        table.add_row(shown(Rubric.label(name)), _fmt(value))
    out.print(table)
    out.print(
        f"Between replicates: Kendall's tau-b of the replicate rankings: mean {_fmt(a.tau_mean)} "
        f"(min {_fmt(a.tau_min)}, max {_fmt(a.tau_max)}, {a.tau_pairs} replicate pair(s)"
        + (f" sharing {min(a.tau_common)}-{max(a.tau_common)} hypotheses)" if a.tau_common else ")")
    )
    out.print(
        f"Resolution: {_fmt(a.overlap)} of the {a.overlap_pairs} adjacent pairs in the ranking have overlapping 95% "
        "intervals (1.00: no hypothesis is distinguishable from the next)"
    )
    out.print(
        "[dim]alpha 1 = judges agree perfectly, 0 = no better than chance, undefined = no variation to agree on; "
        "tau needs >= 2 replicates and >= 3 hypotheses.[/dim]"
    )
