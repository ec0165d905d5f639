"""Scoreboards: scores are comparable only when rubric, protocol and judge models (as served) agree.

`Board` is the one scoreboard type above the row (`store.models.ScoreboardRow`): a writer builds one to say where
a completed debate's or a tournament's scores go (its id follows from what produced them), and every reader (the
rankings, the report, the pages) gets one back, with the counts of the scope it was read for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def scoreboard_id(rubric_hash: str, protocol_hash: str, judge_models: Iterable[str]) -> str:
    """`s-` + 8 hex digits of (rubric hash, protocol hash, sorted distinct judge models)."""
    key = json.dumps([rubric_hash, protocol_hash, sorted(set(judge_models))])
    return "s-" + hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Board:
    """A scoreboard: what produced its scores (rubric, protocol, judge models as served) and, as a reader sees
    it, how much it holds in the scope it was read for (everything, a batch's hypotheses, or a page's).

    Built by a writer, its id is derived from the rubric, protocol and judge models; read from the store, it is
    the row's id (a legacy scoreboard's judge models are as configured, not as served)."""

    rubric_hash: str
    protocol_hash: str
    judge_models: Sequence[str]
    demo: bool = False  # judged by the embedded demo model: its scores carry no information
    protocol: Mapping[str, Any] = field(default_factory=dict)  # the protocol's settings, as stored
    legacy: bool = False  # migrated from before scoreboards: judge models as configured, not as served
    id: str = ""  # empty: derived from the rubric, protocol and judge models
    debates: int = -1  # in the scope read; -1 where not counted
    hypotheses: int = -1

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", scoreboard_id(self.rubric_hash, self.protocol_hash, self.judge_models))

    @property
    def design(self) -> str:
        """The protocol in words: `1 round, 3 judges`, or `pairwise, judges m1, m2` for a tournament's ratings."""
        protocol = self.protocol
        parts = []
        if protocol.get("design") == "pairwise":  # a tournament's ratings: no rounds, judges named by model
            parts.append("pairwise")
            named = protocol.get("judge_models")
            if isinstance(named, list) and named:
                parts.append(f"judges {', '.join(str(m) for m in named)}")
        for key, noun in (("rounds", "round"), ("judges", "judge")):
            if isinstance(protocol.get(key), int):
                parts.append(f"{protocol[key]} {noun}{'s' if protocol[key] != 1 else ''}")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """One line: id, judges, rubric, protocol (and its design), demo and legacy tags."""
        judges = ", ".join(self.judge_models) or "unknown judges"
        tags = (" · demo model: scores carry no information" if self.demo else "") + (
            " · legacy (judge models as configured)" if self.legacy else ""
        )
        design = f" ({self.design})" if self.design else ""
        return f"{self.id} · judges {judges} · rubric {self.rubric_hash} · protocol {self.protocol_hash}{design}{tags}"
