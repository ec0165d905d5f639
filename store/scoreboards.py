"""Scoreboard identity: scores are comparable only when rubric, protocol and judge models (as served) agree."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable


def scoreboard_id(rubric_hash: str, protocol_hash: str, judge_models: Iterable[str]) -> str:
    """`s-` + 8 hex digits of (rubric hash, protocol hash, sorted distinct judge models)."""
    key = json.dumps([rubric_hash, protocol_hash, sorted(set(judge_models))])
    return "s-" + hashlib.sha256(key.encode()).hexdigest()[:8]
