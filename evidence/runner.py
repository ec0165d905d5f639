"""Run the evidence audit: resolve every citation of the chosen hypotheses, check the claims whose source has an
abstract (each check committed as it lands, so a killed run resumes and a rerun asks nothing again), and store the
audited citations for the report, the web app and `hypodebate evidence`."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from agents.audit import STATUSES, Penalty
from agents.errors import LLMError
from agents.prompts import PromptSet
from agents.roles import TurnFailed
from agents.settings import LLMSettings
from agents.subject import Subject
from agents.usage import Account, total_cost
from agents.verifier import ClaimCheck, ClaimVerifier
from evidence.audit import Audited, JudgeAuditor, audit_version, check_id, with_checks
from evidence.bibliography.entry import Entry
from evidence.identifiers import Citation, parse
from evidence.resolve import Bibliography
from store import evidence as store
from store import lineage
from store.evidence import CitedTurn
from store.models import BibEntryRow, utcnow
from store.repository import add_usage

if TYPE_CHECKING:
    from agents.client import LLMClient
    from evidence.online import OnlineResolver


def entry_row(entry: Entry) -> dict[str, Any]:
    """An entry as the store keeps it, with a hash of its content (so re-importing the same file changes nothing)."""
    row = entry.model_dump(mode="json")
    row["authors"] = list(row["authors"])
    content = {k: v for k, v in row.items() if k != "source"}
    row["content_hash"] = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return row


def verifier_protocol(llm: LLMSettings, prompts: PromptSet) -> str:
    """What makes two claim checks comparable: the verifier's model, temperature and prompt, hashed."""
    protocol = {
        "provider": llm.resolved_provider,
        "model": llm.model_for("verifier"),
        "temperature": llm.temperature["verifier"],
        "prompt": prompts.hashes["verify"],
    }
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class HypothesisAudit:
    hypothesis_id: str
    title: str
    items: list[Audited]


@dataclass
class AuditResult:
    audits: list[HypothesisAudit]
    entries: int  # bibliography entries checked against
    checked: int = 0  # claim checks asked in this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (claim check id, why)
    tokens: int = 0
    cost_usd: float | None = 0.0  # None: unknown (the verifier's model has no price in llm.prices)


@dataclass
class AuditRunner:
    sessions: sessionmaker[Session]
    llm: LLMSettings
    prompts: PromptSet
    client: LLMClient | None = None  # None: resolve only, ask the verifier nothing
    concurrency: int = 4
    progress: Callable[[int, int], None] | None = None  # (claim checks done, to do)
    online: OnlineResolver | None = None  # PubMed and Crossref, for identifiers no bibliography holds

    def __post_init__(self) -> None:
        self.protocol = verifier_protocol(self.llm, self.prompts)

    async def run(self, ids: Sequence[str] | None = None) -> AuditResult:
        """Audit the current versions of `ids` (every stored hypothesis when None) with their debates' citations,
        check the claims not checked yet, and store the audited citations."""
        started = utcnow()  # the stored audit is as old as what it read (`refresh` compares its inputs with this)
        with self.sessions() as session:
            chosen = store.audited_ids(session, ids)
            versions = store.versions_with_turns(session, chosen)
        result = await self._audit([(h.id, h, turns) for h, turns in versions])
        rows = {
            (h.id, h.content_hash): [i.row() for i in audit.items]
            for (h, _), audit in zip(versions, result.audits, strict=True)
        }
        with self.sessions() as session:
            store.replace_audit_commit(session, rows, started)
        return result

    async def refresh(self, ids: Sequence[str]) -> AuditResult:
        """Audit again only those of `ids` whose audit inputs changed since their stored audit: their version, its
        completed debates, the bibliography entries, the claim checks or the verifier protocol (found in one query
        per 500 ids, the protocol's claim-check ids in code); the others keep their stored audit, unread. The
        result's `audits` are the hypotheses audited now."""
        with self.sessions() as session:
            behind = set(store.audits_behind(session, ids, self.protocol))
            kept = [i for i in store.audited_ids(session, ids) if i not in behind]
            behind.update(
                c.hypothesis_id
                for c in store.audit_checks(session, kept)
                if check_id(c.statement, c.claim, c.entry_key, c.entry_hash, self.protocol) != c.check_id
            )
            if not behind:
                return AuditResult([], store.entry_count(session))
        return await self.run([i for i in dict.fromkeys(ids) if i in behind])

    def stored_counts(self, ids: Sequence[str]) -> dict[str, int]:
        """The stored audits of `ids` (their current versions): citations per status, every status in order."""
        with self.sessions() as session:
            stored = store.audit_counts(session, ids)
        return {status: stored.get(status, 0) for status in STATUSES}

    async def check_evidence(self, hypotheses: Sequence[tuple[str, Subject]]) -> AuditResult:
        """Check the claims of these hypotheses' evidence (not their debates'), storing only the claim checks:
        what `run` does before debating, so the judges read contradicted claims. With no abstract in any entry (and
        no online lookup to bring one) there is nothing to check: the result then lists no audits."""
        with self.sessions() as session:
            if self.online is None and not store.any_abstract(session):
                return AuditResult([], store.entry_count(session))
        return await self._audit([(h_id, h, []) for h_id, h in hypotheses])

    async def _audit(self, versions: Sequence[tuple[str, Subject, Sequence[CitedTurn]]]) -> AuditResult:
        with self.sessions() as session:
            bibliography = Bibliography(store.entries(session))
            written = lineage.model_written(session, [h_id for h_id, _, _ in versions])

        def audited(bibliography: Bibliography) -> list[tuple[str, Subject, list[Audited]]]:
            return [(i, h, audit_version(h, t, bibliography, model_written=i in written)) for i, h, t in versions]

        audits = audited(bibliography)
        if self.online is not None:
            missing = [parse(i.citation) for _, _, items in audits for i in items if i.resolution.entry is None]
            found = await self.online.lookup(c for c in missing if isinstance(c, Citation))
            if found:
                with self.sessions() as session:
                    store.upsert_entries_commit(session, [entry_row(e) for e in found], keep_others=True)
                    bibliography = Bibliography(store.entries(session))
                audits = audited(bibliography)
        result = AuditResult([], bibliography.size)
        pending = self._pending([(h, items) for _, h, items in audits])
        if self.client is not None and pending:
            await self._verify(pending, result)
        with self.sessions() as session:
            checks = store.claim_labels(session, self.protocol)
        result.audits = [
            HypothesisAudit(h_id, h.title, with_checks(h.title, items, self.protocol, checks))
            for h_id, h, items in audits
        ]
        return result

    def auditor(self, penalty: Penalty | None) -> JudgeAuditor:
        """What the judges of a batch read: the bibliography and every stored claim check, loaded once."""
        with self.sessions() as session:
            bibliography = Bibliography(store.entries(session))
            checks = store.claim_labels(session, self.protocol)
        return JudgeAuditor(bibliography, self.protocol, checks, penalty)

    def _pending(self, audits: Sequence[tuple[Subject, list[Audited]]]) -> dict[str, tuple[str, Audited]]:
        """Claim checks not stored yet: check id -> (statement, item)."""
        wanted: dict[str, tuple[str, Audited]] = {}
        for h, items in audits:
            for item in with_checks(h.title, items, self.protocol, {}):
                if item.check_id is not None:
                    wanted.setdefault(item.check_id, (h.title, item))
        with self.sessions() as session:
            done = store.claim_checks(session, wanted)
        return {cid: v for cid, v in wanted.items() if cid not in done}

    async def _verify(self, pending: dict[str, tuple[str, Audited]], result: AuditResult) -> None:
        assert self.client is not None
        verifier = ClaimVerifier(self.client, self.prompts)
        slots = asyncio.Semaphore(self.concurrency)
        account = Account(self.client.ledger)  # each check's calls are booked to it, stored with it
        done = 0

        async def one(cid: str, statement: str, item: Audited) -> None:
            nonlocal done
            entry = item.resolution.entry
            assert isinstance(entry, BibEntryRow)
            async with slots:
                account.open(cid)
                try:
                    check = await verifier.check(statement, item.claim, entry, draw_key=cid)
                except (TurnFailed, LLMError) as exc:
                    result.failed.append((cid, exc.reason if isinstance(exc, TurnFailed) else str(exc)))
                    check = None
            calls = account.close(cid)
            usage = [c.usage_row(batch_id=None, debate_id=None, role="verifier", step="claim_check") for c in calls]
            row = _check_row(cid, entry, item.claim, check, self.protocol) if check is not None else None
            with self.sessions() as session:
                if row is not None:
                    store.add_claim_check_commit(session, row, usage)
                    result.checked += 1
                else:
                    add_usage(session, usage)  # a failed check's calls: spent, though nothing was stored
                    session.commit()
            result.tokens += sum(c.total_tokens for c in calls)
            result.cost_usd = total_cost([result.cost_usd, *(c.cost_usd for c in calls)])
            done += 1
            if self.progress is not None:
                self.progress(done, len(pending))

        account.attach()
        try:
            await asyncio.gather(*(one(cid, statement, item) for cid, (statement, item) in pending.items()))
        finally:
            account.detach()


def _check_row(cid: str, entry: BibEntryRow, claim: str, check: ClaimCheck, protocol: str) -> dict[str, Any]:
    return {
        "id": cid,
        "entry_key": entry.key,
        "entry_hash": entry.content_hash,
        "claim": claim,
        "label": check.label,
        "raw_label": check.raw_label,
        "quote": check.quote,
        "quote_found": check.quote_found,
        "reasoning": check.reasoning,
        "prompt_hash": check.prompt_hash,
        "protocol_hash": protocol,
        **check.record.answer_columns(),
        "asks": check.asks,
    }
