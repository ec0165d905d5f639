"""Coverage and width of the score intervals on simulated scoreboards whose true means are known.

    .venv/bin/python -m bench.interval_coverage              # 400 scoreboards per row
    .venv/bin/python -m bench.interval_coverage --boards 100

A scoreboard holds 12 hypotheses with true means drawn from U(0.3, 0.7); each is debated D times by a panel of K
fixed judge seats (seat effects drawn once per board, sd 0.03); each debate adds a debate effect with sd
`debate_sd` and each verdict a judge error with sd `judge_sd` (composites clipped to [0, 1]). The table gives, per
design, the share of 95% intervals that contain the true mean (coverage), their mean width, and the kind of
interval shown, for the pooled model (scoring.aggregate) and for the per-hypothesis Student-t interval it replaced
(k − 1 degrees of freedom over the debates; one debate: the judges' spread only; clamped to [0, 1]). The tests
(tests/test_pooled_intervals.py) assert the pooled model's coverage from the same simulation.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.common import print_table
from scoring.aggregate import BoardVerdict, board_scores

HYPOTHESES = 12


@dataclass(frozen=True)
class Design:
    debates: int | tuple[int, int]  # per hypothesis: fixed, or drawn uniformly from (lo, hi)
    judges: int
    debate_sd: float
    judge_sd: float

    @property
    def cells(self) -> list[str]:
        d = str(self.debates) if isinstance(self.debates, int) else f"{self.debates[0]}–{self.debates[1]}"
        return [d, str(self.judges), f"{self.debate_sd:.2f}", f"{self.judge_sd:.2f}"]


@dataclass(frozen=True)
class Coverage:
    coverage: float | None  # share of shown intervals containing the true mean (None: none shown)
    width: float | None  # mean width of the shown intervals
    kinds: Counter[str]


def simulate_board(rng: np.random.Generator, design: Design) -> tuple[np.ndarray, list[BoardVerdict]]:
    """True means and every verdict of one simulated scoreboard."""
    means = rng.uniform(0.3, 0.7, HYPOTHESES)
    seats = rng.normal(0, 0.03, design.judges)
    seats -= seats.mean()
    verdicts: list[BoardVerdict] = []
    for h in range(HYPOTHESES):
        n = design.debates if isinstance(design.debates, int) else int(rng.integers(*design.debates, endpoint=True))
        for d in range(n):
            effect = rng.normal(0, design.debate_sd)
            noise = rng.normal(0, design.judge_sd, design.judges)
            values = np.clip(means[h] + seats + effect + noise, 0, 1)
            verdicts += [BoardVerdict(h, f"{h}-{d}", j, float(v)) for j, v in enumerate(values)]
    return means, verdicts


def per_hypothesis_t(panels: list[list[float]]) -> tuple[float, float] | None:
    """The replaced interval: Student-t over debate means (k − 1 df), or over one debate's judges; clamped."""
    sample = [statistics.fmean(p) for p in panels] if len(panels) >= 2 else panels[0]
    if len(sample) < 2:
        return None
    mean = statistics.fmean([statistics.fmean(p) for p in panels])
    scale = float(stats.sem(sample)) if min(sample) != max(sample) else 0.0
    if scale == 0.0:
        return mean, mean
    lo, hi = stats.t.interval(0.95, len(sample) - 1, loc=mean, scale=scale)
    return max(0.0, float(lo)), min(1.0, float(hi))


def coverage(design: Design, boards: int, seed: int = 1, method: str = "pooled") -> Coverage:
    """Coverage of the true means by `method` ("pooled" or "per-hypothesis") over `boards` simulated boards."""
    rng = np.random.default_rng(seed)
    hits: list[bool] = []
    widths: list[float] = []
    kinds: Counter[str] = Counter()
    for _ in range(boards):
        means, verdicts = simulate_board(rng, design)
        if method == "pooled":
            for h, score in board_scores(verdicts).items():
                kinds[score.interval] += 1
                if score.lo is not None and score.hi is not None:
                    hits.append(score.lo <= means[h] <= score.hi)
                    widths.append(score.hi - score.lo)
            continue
        panels: dict[int, dict[str, list[float]]] = {}
        for v in verdicts:
            panels.setdefault(int(v.unit), {}).setdefault(v.debate, []).append(v.composite)  # type: ignore[call-overload]
        for h, debates in panels.items():
            interval = per_hypothesis_t(list(debates.values()))
            kinds["between-debates" if len(debates) >= 2 else "panel" if interval else "none"] += 1
            if interval is not None:
                hits.append(interval[0] <= means[h] <= interval[1])
                widths.append(interval[1] - interval[0])
    return Coverage(statistics.fmean(hits) if hits else None, statistics.fmean(widths) if widths else None, kinds)


DESIGNS = [
    Design(d, k, debate_sd, judge_sd)
    for d in (1, 2, 3, 5, (1, 5))
    for k in (2, 3)
    for debate_sd, judge_sd in ((0.05, 0.05), (0.10, 0.02), (0.02, 0.10))
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", type=int, default=400, help="simulated scoreboards per design")
    args = parser.parse_args()
    rows = []
    for design in DESIGNS:
        pooled = coverage(design, args.boards)
        old = coverage(design, args.boards, method="per-hypothesis")
        rows.append(
            [
                *design.cells,
                _fmt(pooled.coverage),
                _fmt(pooled.width),
                ", ".join(sorted(pooled.kinds)),
                _fmt(old.coverage),
                _fmt(old.width),
            ]
        )
    print_table(
        f"95% intervals on simulated scoreboards ({HYPOTHESES} hypotheses, {args.boards} boards per row)",
        ["debates", "judges", "sd debate", "sd judge", "coverage", "width", "kind", "old coverage", "old width"],
        rows,
        left={"kind"},
        width=140,
        caption="old: the per-hypothesis Student-t interval the pooled model replaced",
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
