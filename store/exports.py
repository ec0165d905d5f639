"""The export's reads: every hypothesis (with its origin, generation and parents), scoreboard, hypothesis score,
debate, panel score, verdict and turn, streamed in chunks, each with a `kind`. `report.export.export_rows` writes
them as JSON Lines or CSV."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from store.lineage import IMPORTED
from store.models import (
    DebateRow,
    EvidenceRow,
    HypothesisRow,
    HypothesisScoreRow,
    HypothesisVersionRow,
    LineageRow,
    ProvenanceRow,
    ScoreboardRow,
    ScoreRow,
    TurnRow,
    VerdictRow,
)


def export_records(session: Session, *, chunk: int = 500) -> Iterator[dict[str, Any]]:
    """Rows for analysis elsewhere, each with a `kind`: hypothesis, scoreboard, hypothesis_score, debate, score,
    verdict, turn. Scores are only comparable within a scoreboard: every score row names its `scoreboard_id`."""
    evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in session.execute(select(EvidenceRow).order_by(EvidenceRow.hypothesis_id, EvidenceRow.position)).scalars():
        evidence[e.hypothesis_id].append({"claim": e.claim, "citation": e.citation, "stance": e.stance})
    origins = _origins(session)
    parents = _parents(session)
    for h in session.scalars(select(HypothesisRow).order_by(HypothesisRow.id).execution_options(yield_per=chunk)):
        origin, generation = origins.get(h.id, (IMPORTED, 0))
        yield {
            "kind": "hypothesis",
            "hypothesis_id": h.id,
            "version": h.version,
            "content_hash": h.content_hash,
            "title": h.title,
            "targets": list(h.targets),
            "target_label": h.target_label,
            "diseases": list(h.diseases),
            "mechanism": h.mechanism,
            "evidence": evidence.get(h.id, []),
            "origin": origin,
            "generation": generation,
            "parents": parents.get(h.id, []),
        }
    boards = select(
        ScoreboardRow.id.label("scoreboard_id"), *(getattr(ScoreboardRow, c) for c in _SCOREBOARD_COLUMNS)
    ).order_by(ScoreboardRow.id)
    yield from _stream(session, "scoreboard", boards, chunk)
    version_id = HypothesisVersionRow.id.label("version_id")
    hypothesis_scores = (
        select(version_id, *(getattr(HypothesisScoreRow, c) for c in _HYPOTHESIS_SCORE_COLUMNS))
        .outerjoin(
            HypothesisVersionRow,
            and_(
                HypothesisVersionRow.hypothesis_id == HypothesisScoreRow.hypothesis_id,
                HypothesisVersionRow.content_hash == HypothesisScoreRow.content_hash,
            ),
        )
        .order_by(HypothesisScoreRow.scoreboard_id, HypothesisScoreRow.hypothesis_id, HypothesisScoreRow.content_hash)
    )
    yield from _stream(session, "hypothesis_score", hypothesis_scores, chunk)
    debate_columns = [
        DebateRow.id.label("debate_id"),
        *(getattr(DebateRow, c) for c in _DEBATE_COLUMNS),
    ]
    debates = select(*debate_columns).order_by(DebateRow.hypothesis_id, DebateRow.id)
    yield from _stream(session, "debate", debates, chunk)
    score_columns = [ScoreRow.mean.label("score"), *(getattr(ScoreRow, c) for c in _SCORE_COLUMNS)]
    yield from _stream(session, "score", select(*score_columns).order_by(ScoreRow.debate_id), chunk)
    verdicts = (
        select(DebateRow.hypothesis_id, *(getattr(VerdictRow, c) for c in _VERDICT_COLUMNS))
        .join(DebateRow, DebateRow.id == VerdictRow.debate_id)
        .order_by(VerdictRow.debate_id, VerdictRow.judge)
    )
    yield from _stream(session, "verdict", verdicts, chunk)
    turns = (
        select(DebateRow.hypothesis_id, *(getattr(TurnRow, c) for c in _TURN_COLUMNS))
        .join(DebateRow, DebateRow.id == TurnRow.debate_id)
        .order_by(TurnRow.debate_id, TurnRow.seq)
    )
    yield from _stream(session, "turn", turns, chunk)


_SCOREBOARD_COLUMNS = ("rubric_hash", "protocol_hash", "judge_models", "demo", "legacy", "created_at")
_HYPOTHESIS_SCORE_COLUMNS = (
    "scoreboard_id", "hypothesis_id", "content_hash", "current", "mean", "lo", "hi", "interval", "se", "df",
    "debates", "verdicts", "updated_at",
)  # fmt: skip
_DEBATE_COLUMNS = (
    "hypothesis_id", "batch_id", "replicate", "protocol_hash", "rubric_hash", "status", "failure_reason",
    "failed_step", "rounds_run", "early_stopped", "revised_statement", "models", "attempts", "started_at",
    "finished_at",
)  # fmt: skip
_SCORE_COLUMNS = (
    "debate_id", "hypothesis_id", "scoreboard_id", "content_hash", "spread", "n", "rubric_hash", "judge_models",
    "created_at",
)  # fmt: skip
_VERDICT_COLUMNS = (
    "debate_id", "judge", "model", "persona", "material_order", "composite", "scores", "rationales", "reasoning",
    "summary", "rubric_hash", "created_at",
)  # fmt: skip
_TURN_COLUMNS = (
    "debate_id", "seq", "round", "role", "step", "model", "text", "payload", "prompt_tokens", "completion_tokens",
    "latency_s", "cost_usd", "attempts", "created_at",
)  # fmt: skip


def _origins(session: Session) -> dict[str, tuple[str, int]]:
    """hypothesis id -> (origin, generation) for every generated or evolved hypothesis (the rest were imported)."""
    query = select(ProvenanceRow.hypothesis_id, ProvenanceRow.origin, ProvenanceRow.generation)
    return {hid: (origin, generation) for hid, origin, generation in session.execute(query)}


def _parents(session: Session) -> dict[str, list[str]]:
    """hypothesis id -> its parents in order, for every evolved hypothesis."""
    out: dict[str, list[str]] = defaultdict(list)
    query = select(LineageRow.child_id, LineageRow.parent_id).order_by(LineageRow.child_id, LineageRow.position)
    for child, parent in session.execute(query):
        out[child].append(parent)
    return out


def _stream(session: Session, kind: str, query: Select[Any], chunk: int) -> Iterator[dict[str, Any]]:
    for row in session.execute(query.execution_options(yield_per=chunk)).mappings():
        yield {"kind": kind, **row}
