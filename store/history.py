"""What past work cost, read for an estimate (`--dry-run`): past debates' turns and calls under one protocol (or
with the same models), past comparisons, claim checks and generator calls, and what planned debates hold already.

Read only: nothing here writes. Rows are read newest first and capped (`limit`): an estimate needs a sample of the
recent past, not all of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AnswerCost, ClaimCheckRow, ComparisonRow, DebateRow, TurnRow, UsageRow
from store.repository import chunks
from store.tournaments import StoredHypothesis, stored_version

RECENT = 200  # past units an estimate reads at most
SCANNED = 2000  # rows looked through for those matching in Python (a JSON column: models)


@dataclass(frozen=True)
class PastTurn:
    """One stored turn: its step, speaker and round, the answers it took, its tokens (re-asks summed) and the
    length of its text (what later speakers read)."""

    debate_id: str
    step: str
    role: str
    round: int
    asks: int
    prompt_tokens: int
    completion_tokens: int
    text_chars: int


@dataclass(frozen=True)
class PastCall:
    """One stored call (a usage row): the unit it was booked to (a debate or comparison id), its role and step,
    tokens and seconds."""

    unit: str | None
    role: str
    model: str
    step: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    latency_s: float


@dataclass(frozen=True)
class PastAnswer:
    """One stored single-call answer (a comparison, a claim check): its tokens and seconds with re-asks summed."""

    asks: int
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    latency_s: float


@dataclass(frozen=True)
class DebateState:
    """A planned debate as stored: its status and, for one that resumes, its turns (step, round, judge)."""

    status: str
    turns: list[tuple[str, int, int]] = field(default_factory=list)


def debate_states(session: Session, ids: Sequence[str]) -> dict[str, DebateState]:
    """The stored state of those of `ids` that are stored; a running debate's turns (it resumes from them)."""
    states: dict[str, DebateState] = {}
    for chunk in chunks(sorted(set(ids))):
        for d_id, status in session.execute(select(DebateRow.id, DebateRow.status).where(DebateRow.id.in_(chunk))):
            states[d_id] = DebateState(status)
    running = sorted(d for d, s in states.items() if s.status == "running")
    for chunk in chunks(running):
        query = select(TurnRow.debate_id, TurnRow.step, TurnRow.round, TurnRow.payload).where(
            TurnRow.debate_id.in_(chunk)
        )
        for d_id, step, round_, payload in session.execute(query):
            judge = int(payload.get("judge", 0)) if step == "verdict" and isinstance(payload, dict) else 0
            states[d_id].turns.append((step, round_, judge))
    return states


def protocol_debates(session: Session, protocol_hash: str, limit: int = RECENT) -> list[str]:
    """The newest completed debates under `protocol_hash`."""
    query = (
        select(DebateRow.id)
        .where(DebateRow.protocol_hash == protocol_hash, DebateRow.status == "completed")
        .order_by(DebateRow.finished_at.desc(), DebateRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def model_debates(session: Session, models: Mapping[str, Any], design: str, limit: int = RECENT) -> list[str]:
    """The newest completed debates of the same design whose roles asked the same `models` (any protocol)."""
    query = (
        select(DebateRow.id, DebateRow.models, DebateRow.protocol)
        .where(DebateRow.status == "completed")
        .order_by(DebateRow.finished_at.desc(), DebateRow.id)
        .limit(SCANNED)
    )
    wanted = dict(models)
    found = [
        d_id
        for d_id, used, protocol in session.execute(query)
        if dict(used or {}) == wanted and (protocol or {}).get("design", "symmetric-closing") == design
    ]
    return found[:limit]


def turns_of(session: Session, debate_ids: Sequence[str]) -> list[PastTurn]:
    """Every stored turn of `debate_ids`."""
    found: list[PastTurn] = []
    for chunk in chunks(sorted(set(debate_ids))):
        query = select(TurnRow).where(TurnRow.debate_id.in_(chunk)).order_by(TurnRow.debate_id, TurnRow.seq)
        found += [
            PastTurn(t.debate_id, t.step, t.role, t.round, t.asks, t.prompt_tokens, t.completion_tokens, len(t.text))
            for t in session.scalars(query)
        ]
    return found


def calls_of(session: Session, units: Sequence[str]) -> list[PastCall]:
    """Every stored call booked to `units` (debate or comparison ids)."""
    found: list[PastCall] = []
    for chunk in chunks(sorted(set(units))):
        found += [_call(row) for row in session.scalars(select(UsageRow).where(UsageRow.debate_id.in_(chunk)))]
    return found


def role_calls(session: Session, role: str, model: str, limit: int = RECENT * 5) -> list[PastCall]:
    """The newest stored calls of `role` to `model` (the generator's, the verifier's, ...)."""
    query = (
        select(UsageRow)
        .where(UsageRow.role == role, UsageRow.model == model, UsageRow.ok.is_(True))
        .order_by(UsageRow.created_at.desc(), UsageRow.id.desc())
        .limit(limit)
    )
    return [_call(row) for row in session.scalars(query)]


def _call(row: UsageRow) -> PastCall:
    return PastCall(
        row.debate_id,
        row.role,
        row.model,
        row.step,
        row.prompt_tokens,
        row.completion_tokens,
        row.cached_prompt_tokens,
        row.latency_s,
    )


def openings(session: Session, proposer: str, prompt_hash: str, limit: int = 20) -> list[tuple[StoredHypothesis, int]]:
    """Calibration pairs for `proposer`: the stored version a past opening (of the template `prompt_hash`) was
    asked about, and the prompt tokens the provider counted for it (openings answered at the first ask only: a
    re-ask's prompt is longer)."""
    query = (
        select(
            DebateRow.id, DebateRow.hypothesis_id, DebateRow.hypothesis_hash, DebateRow.models, DebateRow.prompt_hashes
        )
        .where(DebateRow.status == "completed")
        .order_by(DebateRow.finished_at.desc(), DebateRow.id)
        .limit(SCANNED)
    )
    debates = {
        d: (h, c)
        for d, h, c, models, hashes in session.execute(query)
        if (models or {}).get("proposer") == proposer and (hashes or {}).get("opening") == prompt_hash
    }
    found: list[tuple[StoredHypothesis, int]] = []
    for chunk in chunks(list(debates)):
        query = select(TurnRow.debate_id, TurnRow.prompt_tokens).where(
            TurnRow.debate_id.in_(chunk), TurnRow.step == "opening", TurnRow.asks == 1
        )
        for d_id, tokens in session.execute(query):
            version = stored_version(session, *debates[d_id])
            if version is not None and tokens > 0:
                found.append((version, tokens))
            if len(found) >= limit:
                return found
    return found


def past_comparisons(
    session: Session, *, protocol_hash: str | None = None, model: str | None = None, limit: int = RECENT
) -> list[PastAnswer]:
    """The newest stored comparisons under `protocol_hash`, or judged by `model` (as served)."""
    where = ComparisonRow.protocol_hash == protocol_hash if protocol_hash else ComparisonRow.model == model
    return _answers(session, ComparisonRow, where, limit)


def past_claim_checks(
    session: Session, *, protocol_hash: str | None = None, model: str | None = None, limit: int = RECENT
) -> list[PastAnswer]:
    """The newest stored claim checks under the verifier's `protocol_hash`, or answered by `model` (as served)."""
    where = ClaimCheckRow.protocol_hash == protocol_hash if protocol_hash else ClaimCheckRow.model == model
    return _answers(session, ClaimCheckRow, where, limit)


def _answers(session: Session, model: type[AnswerCost], where: Any, limit: int) -> list[PastAnswer]:
    query = select(model).where(where).order_by(model.created_at.desc()).limit(limit)
    return [
        PastAnswer(r.asks, r.prompt_tokens, r.completion_tokens, r.cached_prompt_tokens, r.latency_s)
        for r in session.scalars(query)
    ]
