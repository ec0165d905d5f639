"""Reads and writes of the evidence audit: bibliography entries, the verifier's claim checks, each hypothesis
version's audited citations, and the online resolvers' cache."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from store.models import (
    BibEntryRow,
    CitationAuditRow,
    ClaimCheckRow,
    DebateRow,
    HypothesisRow,
    ResolverCacheRow,
    TurnRow,
    utcnow,
)
from store.repository import add_usage, chunks, insert_ignoring
from store.tournaments import StoredHypothesis, current_versions

ENTRY_FIELDS = (
    "kind",
    "title",
    "authors",
    "more_authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "pmcid",
    "nct",
    "url",
    "abstract",
    "source",
    "content_hash",
)


@dataclass(frozen=True)
class ImportCounts:
    added: int
    updated: int
    unchanged: int


def upsert_entries_commit(
    session: Session, entries: Sequence[dict[str, Any]], *, keep_others: bool = False
) -> ImportCounts:
    """Store one bibliography's entries together (all or nothing): new keys are added, a key whose content
    changed is updated in place, the same content is left as it is. `keep_others`: a key another source holds
    is left to it (a page's References section never overwrites an imported bibliography)."""
    keys = [e["key"] for e in entries]
    stored: dict[str, BibEntryRow] = {}
    for chunk in chunks(keys):
        stored.update((r.key, r) for r in session.scalars(select(BibEntryRow).where(BibEntryRow.key.in_(chunk))))
    added = updated = 0
    for entry in entries:
        row = stored.get(entry["key"])
        if row is None:
            session.add(BibEntryRow(**entry))
            added += 1
        elif keep_others and row.source != entry["source"]:
            continue
        elif row.content_hash != entry["content_hash"] or row.source != entry["source"]:
            for name in ENTRY_FIELDS:
                setattr(row, name, entry[name])
            updated += 1
    session.commit()
    return ImportCounts(added, updated, len(entries) - added - updated)


def entries(session: Session) -> list[BibEntryRow]:
    """Every bibliography entry, by key."""
    return list(session.scalars(select(BibEntryRow).order_by(BibEntryRow.key)))


def entry_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BibEntryRow)) or 0


# -- claim checks ---------------------------------------------------------------------------------------------------


def claim_checks(session: Session, ids: Iterable[str]) -> dict[str, ClaimCheckRow]:
    found: dict[str, ClaimCheckRow] = {}
    for chunk in chunks(sorted(set(ids))):
        found.update((r.id, r) for r in session.scalars(select(ClaimCheckRow).where(ClaimCheckRow.id.in_(chunk))))
    return found


def claim_labels(session: Session, protocol_hash: str) -> dict[str, tuple[str, str]]:
    """Every claim check of one verifier protocol: id -> (label, quote)."""
    query = select(ClaimCheckRow.id, ClaimCheckRow.label, ClaimCheckRow.quote).where(
        ClaimCheckRow.protocol_hash == protocol_hash
    )
    return {cid: (label, quote) for cid, label, quote in session.execute(query)}


def add_claim_check_commit(session: Session, row: dict[str, Any], usage: Sequence[dict[str, Any]]) -> bool:
    """Store a claim check and the calls it cost; False when another run stored the same check first (its calls
    are still recorded: they were spent)."""
    inserted = session.execute(insert_ignoring(session, ClaimCheckRow, [row], ["id"])).rowcount
    add_usage(session, usage)
    session.commit()
    return bool(inserted)


# -- what the audit reads, and its rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CitedTurn:
    debate_id: str
    seq: int
    role: str
    step: str
    text: str


def audited_ids(session: Session, ids: Sequence[str] | None = None) -> list[str]:
    """`ids` that exist, or every stored hypothesis, in id order."""
    query = select(HypothesisRow.id).order_by(HypothesisRow.id)
    if ids is None:
        return list(session.scalars(query))
    found: set[str] = set()
    for chunk in chunks(sorted(set(ids))):
        found.update(session.scalars(query.where(HypothesisRow.id.in_(chunk))))
    return [i for i in ids if i in found]


def versions_with_turns(session: Session, ids: Sequence[str]) -> list[tuple[StoredHypothesis, list[CitedTurn]]]:
    """Each hypothesis's current version with the turns of its completed debates (in debate and turn order)."""
    hypotheses = current_versions(session, ids)
    wanted = {(h.id, h.content_hash) for h in hypotheses}
    turns: dict[str, list[CitedTurn]] = defaultdict(list)
    for chunk in chunks(sorted({h.id for h in hypotheses})):
        query = (
            select(DebateRow.hypothesis_id, DebateRow.hypothesis_hash, TurnRow)
            .join(TurnRow, TurnRow.debate_id == DebateRow.id)
            .where(DebateRow.hypothesis_id.in_(chunk), DebateRow.status == "completed")
            .order_by(DebateRow.id, TurnRow.seq)
        )
        for h_id, h_hash, t in session.execute(query):
            if (h_id, h_hash) in wanted:
                turns[h_id].append(CitedTurn(t.debate_id, t.seq, t.role, t.step, t.text))
    return [(h, turns.get(h.id, [])) for h in hypotheses]


def replace_audit_commit(session: Session, audits: dict[tuple[str, str], list[dict[str, Any]]]) -> int:
    """Replace the audited citations of each (hypothesis id, content hash): the hypothesis's older rows go."""
    ids = sorted({h_id for h_id, _ in audits})
    for chunk in chunks(ids):
        session.execute(delete(CitationAuditRow).where(CitationAuditRow.hypothesis_id.in_(chunk)))
    now = utcnow()
    rows = [
        {**row, "hypothesis_id": h_id, "content_hash": h_hash, "position": i, "updated_at": now}
        for (h_id, h_hash), items in audits.items()
        for i, row in enumerate(items)
    ]
    for chunk in chunks(rows, 200):
        session.execute(insert(CitationAuditRow), list(chunk))
    session.commit()
    return len(rows)


def audit_of(session: Session, ids: Sequence[str]) -> dict[str, list[CitationAuditRow]]:
    """The audited citations of each hypothesis's current version, in audit order (hypotheses never audited, or
    changed since, are absent)."""
    out: dict[str, list[CitationAuditRow]] = {}
    for chunk in chunks(sorted(set(ids))):
        query = (
            select(CitationAuditRow)
            .join(
                HypothesisRow,
                (HypothesisRow.id == CitationAuditRow.hypothesis_id)
                & (HypothesisRow.content_hash == CitationAuditRow.content_hash),
            )
            .where(CitationAuditRow.hypothesis_id.in_(chunk))
            .order_by(CitationAuditRow.hypothesis_id, CitationAuditRow.position)
        )
        for row in session.scalars(query):
            out.setdefault(row.hypothesis_id, []).append(row)
    return out


# -- online resolvers' cache ----------------------------------------------------------------------------------------


def cached_lookup(session: Session, resolver: str, identifier: str) -> ResolverCacheRow | None:
    return session.get(ResolverCacheRow, (resolver, identifier))


def cache_lookup_commit(session: Session, resolver: str, identifier: str, payload: dict[str, Any] | None) -> None:
    row = {"resolver": resolver, "identifier": identifier, "found": payload is not None, "payload": payload or {}}
    session.execute(
        insert_ignoring(session, ResolverCacheRow, [{**row, "fetched_at": utcnow()}], ["resolver", "identifier"])
    )
    session.commit()
