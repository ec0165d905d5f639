"""The evidence audit of a hypothesis version: every citation of its evidence and of its debates' turns, resolved
against the bibliographies, and, where the entry has an abstract, the verifier's claim check.

The audit is code over stored rows and runs in milliseconds; only claim checks cost model calls, and each is
asked once (its id hashes the hypothesis statement, the claim, the entry's content and the verifier protocol)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from agents.audit import SHOWN, STATUSES, EvidenceBrief, Penalty, clipped
from agents.subject import Subject
from evidence.identifiers import Citation, find, parse
from evidence.resolve import Bibliography, Entry, Resolution, resolve
from store.evidence import CitedTurn

AUDIT_VERSION = "v1"  # what the judges read of the audit; bump when its meaning changes

Source = Literal["evidence", "turn", "page"]


@dataclass(frozen=True)
class Audited:
    source: Source
    claim: str  # the evidence claim, or the sentence of the turn around the citation
    citation: str  # as written
    resolution: Resolution
    debate_id: str | None = None
    turn_seq: int | None = None
    role: str | None = None
    check_id: str | None = None  # the claim check this citation needs or has (its entry has an abstract)
    support: str | None = None
    quote: str | None = None

    @property
    def status(self) -> str:
        return self.resolution.status

    def row(self) -> dict[str, Any]:
        """The `citation_audits` row (less the hypothesis and position, which the store adds)."""
        entry = self.resolution.entry
        return {
            "source": self.source,
            "debate_id": self.debate_id,
            "turn_seq": self.turn_seq,
            "role": self.role,
            "claim": self.claim,
            "citation": self.citation[:300],
            "status": self.status,
            "detail": self.resolution.detail,
            "entry_key": entry.key if entry is not None else None,
            "check_id": self.check_id,
            "support": self.support,
            "quote": self.quote,
        }


def given_citations(hypothesis: Subject) -> frozenset[tuple[str, str]]:
    """The hypothesis's own evidence citations, in normal form."""
    parsed = (parse(e.citation) for e in hypothesis.evidence if e.citation)
    return frozenset(c.key for c in parsed if isinstance(c, Citation))


def audit_version(
    hypothesis: Subject, turns: Sequence[CitedTurn], bibliography: Bibliography, *, model_written: bool = False
) -> list[Audited]:
    """Every citation of the hypothesis's evidence, then of each turn (each once per turn), resolved. The evidence
    of a `model_written` hypothesis (generated or evolved) is held to the turns' rule: a citation in no
    bibliography was made up (`fabricated`), where a person's is only `unresolved`."""
    items = []
    for e in hypothesis.evidence:
        if e.citation:
            resolution = resolve(parse(e.citation), e.claim, bibliography, in_turn=model_written)
            items.append(Audited("evidence", e.claim, e.citation, resolution))
    given = frozenset() if model_written else given_citations(hypothesis)  # a model's own evidence excuses nothing
    for turn in turns:
        seen: set[str] = set()
        for found in find(turn.text):
            written = found.citation.text
            if written in seen:
                continue
            seen.add(written)
            resolution = resolve(found.citation, found.sentence, bibliography, in_turn=True, given=given)
            items.append(Audited("turn", found.sentence, written, resolution, turn.debate_id, turn.seq, turn.role))
    return items


def audit_page(markdown: str, bibliography: Bibliography) -> list[Audited]:
    """Every citation of a wiki page (`[@bibkey]`, PMID, DOI, NCT id; its links are navigation, not citations),
    once each, with the sentence it supports, resolved (none is made up: a page is not a debate)."""
    items, seen = [], set()
    for found in find(markdown):
        if found.citation.kind != "url" and found.citation.text not in seen:
            seen.add(found.citation.text)
            resolution = resolve(found.citation, found.sentence, bibliography)
            items.append(Audited("page", found.sentence, found.citation.text, resolution))
    return items


def check_id(statement: str, claim: str, entry_key: str, entry_hash: str, verifier_protocol: str) -> str:
    """Deterministic: the same claim for the same statement against the same entry content is checked once."""
    key = "\x1f".join((statement, claim, entry_key, entry_hash, verifier_protocol))
    return "v-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def with_checks(
    statement: str,
    items: Sequence[Audited],
    verifier_protocol: str,
    checks: Mapping[str, tuple[str, str]],
) -> list[Audited]:
    """`items` with their claim-check ids (where the entry has an abstract) and, when done, label and quote.
    `checks`: check id -> (label, quote)."""
    out = []
    for item in items:
        entry = item.resolution.entry
        if entry is None or not entry.abstract or item.status not in ("resolved", "miscited"):
            out.append(item)
            continue
        cid = check_id(statement, item.claim, entry.key, _entry_hash(entry), verifier_protocol)
        label, quote = checks.get(cid, (None, None))
        out.append(replace(item, check_id=cid, support=label, quote=quote or None))
    return out


def counts(items: Sequence[Audited]) -> dict[str, int]:
    tally = Counter(i.status for i in items)
    return {s: tally.get(s, 0) for s in STATUSES}


def brief(items: Sequence[Audited], entries: int) -> EvidenceBrief:
    """What the judges read: the counts, and the first made-up citations and contradicted claims, clipped."""
    fabricated = list(dict.fromkeys(i.citation for i in items if i.status == "fabricated"))
    contradicted = list(dict.fromkeys((i.claim, i.citation) for i in items if i.support == "contradicts"))
    return EvidenceBrief(
        counts=counts(items),
        entries=entries,
        fabricated=tuple(clipped(c) for c in fabricated[:SHOWN]),
        contradicted=tuple(f"{clipped(claim)} ({clipped(c)})" for claim, c in contradicted[:SHOWN]),
        more=max(0, len(fabricated) - SHOWN) + max(0, len(contradicted) - SHOWN),
    )


@dataclass(frozen=True)
class JudgeAuditor:
    """The audit the judges read (agents.audit.Auditor): evidence claim checks come from the store, loaded before
    the batch; the debate's own citations are resolved as the judges are about to read it."""

    bibliography: Bibliography
    verifier_protocol: str
    checks: Mapping[str, tuple[str, str]]
    penalty: Penalty | None = None

    @property
    def protocol(self) -> dict[str, Any]:
        penalty = {"dimension": self.penalty.dimension, "cap": self.penalty.cap} if self.penalty else None
        return {"audit": AUDIT_VERSION, "verifier": self.verifier_protocol, "penalty": penalty}

    def brief(self, hypothesis: Subject, turns: Sequence[str]) -> EvidenceBrief:
        cited = [CitedTurn("", seq, "", "", text) for seq, text in enumerate(turns)]
        items = audit_version(hypothesis, cited, self.bibliography)
        items = with_checks(hypothesis.title, items, self.verifier_protocol, self.checks)
        return brief(items, self.bibliography.size)


def _entry_hash(entry: Entry) -> str:
    stored = getattr(entry, "content_hash", None)
    if isinstance(stored, str):
        return stored
    return hashlib.sha256(f"{entry.key}\x1f{entry.title}\x1f{entry.abstract}".encode()).hexdigest()
