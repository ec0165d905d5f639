"""Reads and writes of the evidence audit: bibliography entries, the verifier's claim checks, each hypothesis
version's audited citations, and the online resolvers' cache."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from store.models import (
    BibEntryRow,
    CitationAuditRow,
    ClaimCheckRow,
    DebateRow,
    EvidenceRow,
    HypothesisRow,
    ResolverCacheRow,
    TurnRow,
    utcnow,
)
from store.repository import add_usage, chunks, insert_ignoring

if TYPE_CHECKING:  # store.tournaments brings the ratings' maths (scipy): imported when versions are read
    from store.tournaments import StoredHypothesis

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


def any_abstract(session: Session) -> bool:
    """Whether some bibliography entry has an abstract (else no claim can be checked against a source)."""
    return session.scalar(select(exists().where(BibEntryRow.abstract.is_not(None)))) or False


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
    from store.tournaments import current_versions

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


def replace_audit_commit(
    session: Session, audits: dict[tuple[str, str], list[dict[str, Any]]], audited_at: datetime | None = None
) -> int:
    """Replace the audited citations of each (hypothesis id, content hash): the hypothesis's older rows go. The rows
    are stamped `audited_at` (default now): when the audit read what it audited (`audits_behind` compares it)."""
    ids = sorted({h_id for h_id, _ in audits})
    for chunk in chunks(ids):
        session.execute(delete(CitationAuditRow).where(CitationAuditRow.hypothesis_id.in_(chunk)))
    now = audited_at or utcnow()
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


def audits_behind(session: Session, ids: Sequence[str], verifier_protocol: str) -> list[str]:
    """Those of `ids` (stored hypotheses, in id order) whose stored audit may differ from what auditing them now
    stores, found in one query per 500 ids: the audit of their current version is missing (and it has a cited
    piece of evidence or a completed debate to audit), or older than one of its inputs (a completed debate of the
    version, a bibliography entry, a claim check of `verifier_protocol`), or rows of an earlier version remain.
    A protocol's claim-check ids are compared in code (`audit_checks`)."""
    checked = select(func.max(ClaimCheckRow.created_at)).where(ClaimCheckRow.protocol_hash == verifier_protocol)
    changed = [session.scalar(select(func.max(BibEntryRow.updated_at))), session.scalar(checked)]
    latest = max((t for t in changed if t is not None), default=None)
    of_version = (CitationAuditRow.hypothesis_id == HypothesisRow.id) & (
        CitationAuditRow.content_hash == HypothesisRow.content_hash
    )
    audited = select(func.min(CitationAuditRow.updated_at)).where(of_version).scalar_subquery()
    debated = (
        select(func.max(DebateRow.finished_at))
        .where(
            DebateRow.hypothesis_id == HypothesisRow.id,
            DebateRow.hypothesis_hash == HypothesisRow.content_hash,
            DebateRow.status == "completed",
        )
        .scalar_subquery()
    )
    cited = exists().where(EvidenceRow.hypothesis_id == HypothesisRow.id, func.coalesce(EvidenceRow.citation, "") != "")
    earlier = exists().where(
        CitationAuditRow.hypothesis_id == HypothesisRow.id, CitationAuditRow.content_hash != HypothesisRow.content_hash
    )
    behind = [
        and_(audited.is_(None), or_(cited, debated.is_not(None))),
        audited <= debated,
        earlier,
        *([audited <= latest] if latest is not None else []),
    ]
    found: list[str] = []
    for chunk in chunks(sorted(set(ids))):
        query = select(HypothesisRow.id).where(HypothesisRow.id.in_(chunk), or_(*behind)).order_by(HypothesisRow.id)
        found.extend(session.scalars(query))
    return found


@dataclass(frozen=True)
class StoredCheck:
    """An audited citation's claim check as stored: what its id was made of, and the id."""

    hypothesis_id: str
    statement: str
    claim: str
    entry_key: str
    entry_hash: str
    check_id: str


def audit_checks(session: Session, ids: Sequence[str]) -> list[StoredCheck]:
    """The claim checks the stored audits of `ids` (their current versions) name, with what each id hashes."""
    found: list[StoredCheck] = []
    for chunk in chunks(sorted(set(ids))):
        query = (
            select(
                CitationAuditRow.hypothesis_id,
                HypothesisRow.title,
                CitationAuditRow.claim,
                BibEntryRow.key,
                BibEntryRow.content_hash,
                CitationAuditRow.check_id,
            )
            .join(
                HypothesisRow,
                (HypothesisRow.id == CitationAuditRow.hypothesis_id)
                & (HypothesisRow.content_hash == CitationAuditRow.content_hash),
            )
            .join(BibEntryRow, BibEntryRow.key == CitationAuditRow.entry_key)
            .where(CitationAuditRow.hypothesis_id.in_(chunk), CitationAuditRow.check_id.is_not(None))
        )
        found.extend(StoredCheck(*row) for row in session.execute(query))
    return found


def audit_counts(session: Session, ids: Sequence[str]) -> dict[str, int]:
    """The stored audits of `ids` (their current versions): citations per status."""
    tally: Counter[str] = Counter()
    for chunk in chunks(sorted(set(ids))):
        query = (
            select(CitationAuditRow.status, func.count())
            .join(
                HypothesisRow,
                (HypothesisRow.id == CitationAuditRow.hypothesis_id)
                & (HypothesisRow.content_hash == CitationAuditRow.content_hash),
            )
            .where(CitationAuditRow.hypothesis_id.in_(chunk))
            .group_by(CitationAuditRow.status)
        )
        tally.update({status: n for status, n in session.execute(query)})
    return dict(tally)


# -- online resolvers' cache ----------------------------------------------------------------------------------------


def cached_lookup(session: Session, resolver: str, identifier: str) -> ResolverCacheRow | None:
    return session.get(ResolverCacheRow, (resolver, identifier))


def cache_lookup_commit(session: Session, resolver: str, identifier: str, payload: dict[str, Any] | None) -> None:
    row = {"resolver": resolver, "identifier": identifier, "found": payload is not None, "payload": payload or {}}
    session.execute(
        insert_ignoring(session, ResolverCacheRow, [{**row, "fetched_at": utcnow()}], ["resolver", "identifier"])
    )
    session.commit()
