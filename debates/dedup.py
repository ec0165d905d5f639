"""Duplicate detection: does a candidate make the same claim as a hypothesis already in the pool?

The rule, for a candidate against each earlier hypothesis (calibrated on tests/data/dedup_pairs.yaml; measured by
`python -m bench.dedup_fixture`):
1. the same content hash: identical;
2. cosine of the embedded texts (title, targets, diseases, mechanism) below `threshold`: different;
3. no target in common, or both name diseases and none is shared: different (`proximity.pairs.ruled_out`);
4. the texts claim opposite effects on a shared target (activate against inhibit ...): a close call, whatever the
   cosine (reversed claims score as high as paraphrases);
5. cosine at or above `certain` and no conflict: the same claim, on embeddings;
6. otherwise (the band between, or a conflict): the model check decides when there is one (agents/duplicate.py);
   without one (`--no-llm`) the pair is kept apart: a missed merge costs a debate, a wrong merge loses a claim.
`certain` defaults to CERTAIN (0.85) without a checker and to CERTAIN_CHECKED (1.0: every merge confirmed by the
model) with one.

A candidate first looks for a certain match (the most similar); only when there is none are its close calls
checked, most similar first, at most `max_checks` of them. A check that fails (no valid answer after re-asks)
keeps the pair apart and is listed in `failures`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from agents.duplicate import DuplicateCheck
from agents.roles import TurnFailed
from agents.usage import CallRecord
from debates.hypotheses import Hypothesis
from proximity.embeddings import Embedder
from proximity.pairs import Claim, candidate_pairs, claim_text, cosine_matrix, direction_conflict, ruled_out

THRESHOLD = 0.75  # below: different (paraphrases scored 0.87-0.94 but one 0.73; other mechanisms 0.64-0.80)
CERTAIN = 0.85  # without a model check: at or above, fields agreeing and no reversed effect read, the same claim
# With a model check every merge is confirmed: reversed claims scored 0.84-0.97, above most paraphrases, and the
# direction reader (proximity.pairs) is a word list that a new phrasing can slip past.
CERTAIN_CHECKED = 1.0
MAX_CHECKS = 3  # model checks one candidate may cost

Method = Literal["identical", "embedding", "embedding+model-check"]
Outcome = Literal["same", "different", "close"]


@dataclass(frozen=True)
class Match:
    """A candidate that makes the same claim as an existing hypothesis."""

    kept_id: str  # the earlier hypothesis it merges into
    similarity: float  # cosine of the two
    method: Method
    reason: str  # in words, for the record
    records: tuple[CallRecord, ...] = ()  # the model checks it cost (may be empty)


@dataclass(frozen=True)
class Judged:
    """What the rules say of one pair before any model check."""

    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Decision:
    """Whether one pair makes the same claim, how that was decided, and why."""

    same: bool
    method: Method | None  # how "same" was reached; None when different
    reason: str
    records: tuple[CallRecord, ...] = ()  # the model check it cost, if one was asked


def claim(hypothesis: Hypothesis) -> Claim:
    return Claim(hypothesis.title, hypothesis.targets, hypothesis.diseases, hypothesis.mechanism)


def judge_pair(a: Hypothesis, b: Hypothesis, similarity: float, *, threshold: float, certain: float) -> Judged:
    """Rules 1-5 for one pair: same, different, or a close call for the model check (rule 6)."""
    if a.content_hash == b.content_hash:
        return Judged("same", "identical content")
    if similarity < threshold:
        return Judged("different", f"cosine {similarity:.2f} below {threshold:.2f}")
    left, right = claim(a), claim(b)
    difference = ruled_out(left, right)
    if difference == "target":
        return Judged("different", "no target in common")
    if difference == "disease":
        return Judged("different", "no disease in common")
    if (target := direction_conflict(left, right)) is not None:
        return Judged("close", f"opposite effects on {target} (cosine {similarity:.2f})")
    if similarity >= certain:
        return Judged("same", f"cosine {similarity:.2f} ≥ {certain:.2f}, the same targets and diseases")
    return Judged("close", f"cosine {similarity:.2f} between {threshold:.2f} and {certain:.2f}")


class Deduplicator:
    """Finds the earlier hypothesis a candidate duplicates. `checker`: the model check for close calls (None: no
    LLM, close calls are kept apart). `records` gathers every model check's cost, `failures` each check that
    failed ("id ~ id: why"; the pair was kept apart)."""

    def __init__(
        self,
        embedder: Embedder,
        checker: DuplicateCheck | None,
        *,
        threshold: float = THRESHOLD,
        certain: float | None = None,
        max_checks: int = MAX_CHECKS,
    ) -> None:
        if certain is None:
            certain = CERTAIN if checker is None else CERTAIN_CHECKED
        if not 0 < threshold <= certain <= 1:
            raise ValueError(f"expected 0 < threshold ≤ certain ≤ 1, got {threshold} and {certain}")
        self.embedder = embedder
        self.checker = checker
        self.threshold = threshold
        self.certain = certain
        self.max_checks = max_checks
        self.records: list[CallRecord] = []
        self.failures: list[str] = []

    async def vectors(self, items: Sequence[Hypothesis]) -> np.ndarray:
        """The unit embeddings of `items`' texts, computed off the event loop (about 60 ms of CPU per new text)."""
        texts = [claim_text(claim(h)) for h in items]
        return await asyncio.to_thread(self.embedder.embed, texts)

    async def match(
        self, candidate: Hypothesis, pool: Sequence[Hypothesis]
    ) -> tuple[Match | None, tuple[CallRecord, ...]]:
        """The earlier hypothesis in `pool` that `candidate` duplicates (None when none), and every model-check
        record spent either way."""
        for kept in pool:
            if kept.content_hash == candidate.content_hash:
                return Match(kept.hypothesis_id, 1.0, "identical", "identical content"), ()
        if not pool:
            return None, ()
        vectors = await self.vectors([candidate, *pool])
        sims = cosine_matrix(vectors[:1], vectors[1:])[0]
        order = sorted(range(len(pool)), key=lambda i: -float(sims[i]))
        close: list[tuple[int, Judged]] = []
        for i in order:
            if sims[i] < self.threshold:
                break
            judged = judge_pair(pool[i], candidate, float(sims[i]), threshold=self.threshold, certain=self.certain)
            if judged.outcome == "same":
                return Match(pool[i].hypothesis_id, float(sims[i]), "embedding", judged.reason), ()
            if judged.outcome == "close":
                close.append((i, judged))
        records: list[CallRecord] = []
        for i, judged in close[: self.max_checks if self.checker is not None else 0]:
            same, reason, record = await self._check(pool[i], candidate, judged)
            records.extend(record)
            if same:
                found = Match(pool[i].hypothesis_id, float(sims[i]), "embedding+model-check", reason, tuple(records))
                return found, tuple(records)
        return None, tuple(records)

    async def _check(
        self, kept: Hypothesis, candidate: Hypothesis, judged: Judged
    ) -> tuple[bool, str, tuple[CallRecord, ...]]:
        """The model check of a close call: (same?, the reason in words, its record)."""
        assert self.checker is not None
        try:
            verdict = await self.checker.check(kept, candidate)
        except TurnFailed as exc:
            self.failures.append(f"{kept.hypothesis_id} ~ {candidate.hypothesis_id}: {exc.reason}")
            return False, f"{judged.reason}; the model check failed, kept apart", ()
        self.records.append(verdict.record)
        said = "same claim" if verdict.same else f"different ({verdict.difference})"
        return verdict.same, f"{judged.reason}; the model check: {said}: {verdict.reasoning}", (verdict.record,)

    async def groups(self, items: Sequence[Hypothesis]) -> list[list[str]]:
        """Duplicate groups among `items` (connected components of the pairs judged the same), each in the order
        of `items` (its first is the one the others merge into), groups ordered by their first member; only
        groups of two or more. Close calls are checked concurrently when there is a checker."""
        pairs = await self.same_pairs(items)
        parent = list(range(len(items)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j, _ in pairs:
            a, b = root(i), root(j)
            parent[max(a, b)] = min(a, b)
        members: dict[int, list[int]] = {}
        for i in range(len(items)):
            members.setdefault(root(i), []).append(i)
        return [[items[i].hypothesis_id for i in group] for _, group in sorted(members.items()) if len(group) > 1]

    async def decide(self, kept: Hypothesis, candidate: Hypothesis, similarity: float) -> Decision:
        """The whole rule for one pair (rules 1-6), the model check included when there is a checker."""
        judged = judge_pair(kept, candidate, similarity, threshold=self.threshold, certain=self.certain)
        if judged.outcome == "same":
            identical = kept.content_hash == candidate.content_hash
            return Decision(True, "identical" if identical else "embedding", judged.reason)
        if judged.outcome == "different":
            return Decision(False, None, judged.reason)
        if self.checker is None:
            return Decision(False, None, f"{judged.reason}; no model check: kept apart")
        same, reason, records = await self._check(kept, candidate, judged)
        return Decision(same, "embedding+model-check" if same else None, reason, records)

    async def same_pairs(self, items: Sequence[Hypothesis]) -> list[tuple[int, int, float]]:
        """Every pair (i, j, cosine), i < j, judged to make the same claim; close calls are checked concurrently."""
        if len(items) < 2:
            return []
        vectors = await self.vectors(items)
        pairs = candidate_pairs(vectors, self.threshold)
        decisions = await asyncio.gather(*(self.decide(items[i], items[j], s) for i, j, s in pairs))
        return sorted((i, j, s) for (i, j, s), d in zip(pairs, decisions, strict=True) if d.same)


def default_deduplicator(checker: DuplicateCheck | None) -> Deduplicator:
    """A Deduplicator on the process's shared embedder with the calibrated defaults: THRESHOLD, and CERTAIN without a
    checker (`--no-llm`), CERTAIN_CHECKED (every merge confirmed) with one."""
    from proximity.embeddings import default_embedder

    return Deduplicator(default_embedder(), checker)
