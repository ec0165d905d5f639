"""What a tournament is run under and what it tells: its protocol (what makes two comparisons comparable), its
progress as it runs, one comparison's outcome, and its result (the pool's ratings and what the run cost), with the
result as `hypodebate tournament --json` writes it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agents.usage import RunCost
from scoring import ratings
from store import rankings


@dataclass(frozen=True)
class TournamentProtocol:
    """What makes two comparisons comparable: the rubric, the pairwise prompt, the judge models and their
    sampling. The number of judges is not part of it: judge k is a replicate, its comparisons are its own."""

    rubric_hash: str
    prompt_hash: str
    provider: str
    judge_models: tuple[str, ...]  # judge k asks judge_models[(k - 1) % len]
    temperature: float
    reasoning_cap: int
    digests: bool = True  # the judge reads each hypothesis's debate digest (eval's pairwise arm: the statement only)
    design: str = "pairwise"

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "digests": "debate" if self.digests else "none",
            "rubric_hash": self.rubric_hash,
            "prompt_hashes": {"pairwise": self.prompt_hash},
            "provider": self.provider,
            "judge_models": list(self.judge_models),
            "temperature": self.temperature,
            "reasoning_cap": self.reasoning_cap,
        }

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def model(self, judge: int) -> str:
        return self.judge_models[(judge - 1) % len(self.judge_models)]


@dataclass(frozen=True)
class TournamentProgress:
    planned: int  # comparisons asked for so far (each round adds its own)
    done: int
    failed: int
    calls: int
    tokens: int
    cost_usd: float | None  # None: unknown (a model without a price in llm.prices)
    step: str = ""


@dataclass
class TournamentResult(RunCost):
    """What a tournament run returns: the pool's ratings on its scoreboard, and what this run cost."""

    pool: str
    protocol: TournamentProtocol
    tournament_id: str | None
    board: rankings.Board | None
    ratings: list[ratings.Rating]
    titles: dict[str, str]
    comparisons: int  # stored comparisons among the pool's current versions (what the ratings are fitted on)
    matches: int  # (pair, judge)s judged in both orders
    order_inconsistency: float | None  # share of matches whose two orders disagreed
    first_share: ratings.Share | None  # of the comparisons that named a winner, the share won by the first shown
    first_advantage: float | None  # the fitted first-position parameter, in rating points
    rubric_board: rankings.Board | None
    rubric_order: list[str]  # the pool's hypotheses scored on rubric_board, best first
    rubric_scores: dict[str, float]
    asked: int  # comparisons this run judged and stored
    failures: list[tuple[str, str]]  # (comparison id, reason)

    @property
    def agreement(self) -> float | None:
        """Kendall tau-b between the ratings and the rubric scores (over hypotheses with both; None when either
        puts them all level)."""
        return ratings.agreement({r.id: r.rating for r in self.ratings}, self.rubric_scores)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        board = self.board
        return {
            "pool": self.pool,
            "tournament": self.tournament_id,
            "scoreboard": None
            if board is None
            else {
                "id": board.id,
                "judge_models": board.judge_models,
                "rubric_hash": board.rubric_hash,
                "protocol_hash": board.protocol_hash,
                "demo": board.demo,
                "protocol": self.protocol.as_dict(),
            },
            "comparisons": self.comparisons,
            "matches": self.matches,
            "order_inconsistency": self.order_inconsistency,
            "first_position_share": None if self.first_share is None else self.first_share.as_json(),
            "first_position_advantage": None if self.first_advantage is None else round(self.first_advantage, 1),
            "ratings": [
                {
                    "hypothesis_id": r.id,
                    "title": self.titles.get(r.id, ""),
                    "rating": round(r.rating, 1),
                    "lo": round(r.lo, 1),
                    "hi": round(r.hi, 1),
                    "rank": r.ranks.rank,
                    "rank_lo": r.ranks.lo,
                    "rank_hi": r.ranks.hi,
                    "wins": r.wins,
                    "ties": r.ties,
                    "losses": r.losses,
                    "rubric_score": self.rubric_scores.get(r.id),
                }
                for r in self.ratings
            ],
            "rubric": {
                "scoreboard": None if self.rubric_board is None else self.rubric_board.id,
                "kendall_tau": self.agreement,
            },
            "run": {
                "asked": self.asked,
                "failed": len(self.failures),
                "calls": self.calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cached_prompt_tokens": self.cached_prompt_tokens,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
                "wall_s": round(self.wall_s, 2),
                "budget_exhausted": self.budget_exhausted,
            },
        }


Key = tuple[str, str, int]  # (first id, second id, judge)


@dataclass(frozen=True)
class Compared:
    """One comparison's outcome: stored (`comparison`, judged by `model`), or failed with `reason`."""

    id: str
    comparison: ratings.Comparison | None
    model: str | None
    reason: str | None = None
