"""How reliable one scoreboard's scores are, from its panels and replicates: alpha between judges, tau between
replicates, and what share of adjacent ranks the data separate (`hypodebate agreement`; the Python API and the web
app can ask too).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hypodebate.app.workspace import Workspace
from safeio.errors import NotFound
from scoring import ranks
from scoring.agreement import krippendorff_alpha, replicate_tau
from store import rankings


@dataclass(frozen=True)
class Agreement:
    """One scoreboard's reliability figures (what `hypodebate agreement --json` writes)."""

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
    separated: float | None  # share of adjacent pairs in the ranking whose difference's 95% interval excludes 0
    adjacent_pairs: int


def measure(session: Session, board_id: str | None) -> Agreement:
    """The figures of scoreboard `board_id` (default: the one with the most debates); NotFound when there is none."""
    boards = rankings.scoreboards(session)
    if not boards:
        raise NotFound("no scores yet: run a batch first")
    board = boards[0] if board_id is None else next((b for b in boards if b.id == board_id), None)
    if board is None:
        known = ", ".join(b.id for b in boards)
        raise NotFound(f"--scoreboard {board_id}: no such scoreboard with scores (known: {known})")
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
        separated=ranks.of_scores(ranked, [r.score for r in ranked]).adjacent_share(range(len(ranked))),
        adjacent_pairs=max(0, len(ranked) - 1),
    )


def agreement(ws: Workspace, scoreboard: str | None) -> Agreement:
    """`measure` on the workspace's store."""
    with ws.store() as session:
        return measure(session, scoreboard)
