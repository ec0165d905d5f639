"""Reads and writes behind `hypodebate eval`: labelled items, and the scores and usage of the debates that
scored them under one protocol."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import DebateRow, EvalItemRow, ScoreboardRow, ScoreRow, UsageRow, utcnow
from store.repository import chunks, insert_ignoring
from store.usage import NONE, Usage, usage_where


@dataclass(frozen=True)
class ItemRecord:
    dataset: str
    item_id: str
    variant: str  # evidence | no-evidence
    hypothesis_id: str
    content_hash: str
    label: int
    pair: str | None
    strata: dict[str, Any]
    details: dict[str, Any]


def upsert_items(session: Session, items: Sequence[ItemRecord]) -> int:
    """Store labelled items; a re-imported row updates its label, strata, pair and details in place. Returns how
    many rows were added or changed."""
    fields = ("hypothesis_id", "content_hash", "label", "pair", "strata", "details")
    existing = {
        (r.dataset, r.item_id, r.variant): r
        for r in session.scalars(select(EvalItemRow).where(EvalItemRow.dataset.in_(sorted({i.dataset for i in items}))))
    }
    fresh: list[dict[str, Any]] = []
    changed = 0
    for i in items:
        values = {f: getattr(i, f) for f in fields}
        row = existing.get((i.dataset, i.item_id, i.variant))
        if row is None:
            fresh.append({"dataset": i.dataset, "item_id": i.item_id, "variant": i.variant, **values})
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            changed += 1
    for part in chunks(fresh):
        chunk = [{**r, "updated_at": utcnow()} for r in part]
        session.execute(insert_ignoring(session, EvalItemRow, chunk, ["dataset", "item_id", "variant"]))
    return len(fresh) + changed


@dataclass(frozen=True)
class DebateScore:
    debate_id: str
    content_hash: str
    replicate: int
    mean: float
    scoreboard_id: str | None


def protocol_scores(session: Session, protocol_hash: str, content_hashes: Collection[str]) -> list[DebateScore]:
    """Panel means of the completed debates of `content_hashes` under `protocol_hash`, one per replicate."""
    wanted = sorted(set(content_hashes))
    out: list[DebateScore] = []
    for part in chunks(wanted):
        rows = session.execute(
            select(DebateRow.id, DebateRow.hypothesis_hash, DebateRow.replicate, ScoreRow.mean, ScoreRow.scoreboard_id)
            .join(ScoreRow, ScoreRow.debate_id == DebateRow.id)
            .where(
                DebateRow.protocol_hash == protocol_hash,
                DebateRow.status == "completed",
                DebateRow.hypothesis_hash.in_(part),
            )
        )
        out += [DebateScore(d, h, r, float(m), b) for d, h, r, m, b in rows]
    return out


def protocol_debates(session: Session, protocol_hash: str, content_hashes: Collection[str]) -> list[str]:
    """Ids of every debate (any status) of `content_hashes` under `protocol_hash`."""
    wanted = sorted(set(content_hashes))
    out: list[str] = []
    for part in chunks(wanted):
        out += session.scalars(
            select(DebateRow.id).where(DebateRow.protocol_hash == protocol_hash, DebateRow.hypothesis_hash.in_(part))
        )
    return out


def usage_of(session: Session, debate_ids: Collection[str]) -> Usage:
    """What the LLM calls of these debates cost when they were made (failed calls included)."""
    parts = chunks(sorted(set(debate_ids)))
    return sum((usage_where(session, UsageRow.debate_id.in_(part)) for part in parts), start=NONE)


def scoreboards(session: Session, ids: Collection[str]) -> dict[str, ScoreboardRow]:
    return {b.id: b for b in session.scalars(select(ScoreboardRow).where(ScoreboardRow.id.in_(sorted(set(ids)))))}
