"""What a batch's debates become in the store: the batch row, each debate's claim, its turns and verdicts as they
land (numbered in landing order), and its end (completed with its score, or failed with why); and what a
hypothesis is stored as."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agents.roles import TurnResult
from debates.hypotheses import Hypothesis
from debates.panel import Scored, Tally
from debates.protocol import Protocol
from store import repository
from store.claims import DebateLocks
from store.engine import StoreError
from store.models import BatchRow, DebateRow

UsageRows = list[dict[str, object]]


@dataclass(frozen=True)
class DebateRows:
    """Writes one protocol's debates to the store behind `sessions`."""

    sessions: sessionmaker[Session]
    protocol: Protocol

    def open_batch(
        self,
        batch_id: str,
        hypotheses: Sequence[Hypothesis],
        *,
        source: str,
        stored: bool,
        hashes: Sequence[str] | None = None,
    ) -> None:
        """Store the hypotheses (unless `stored`: they are stored versions already) and the batch row, together.
        `hashes`: the hypotheses' content hashes, in their order, when the caller has them."""
        batch = {
            "id": batch_id,
            "source": source,
            "protocol_hash": self.protocol.hash,
            "protocol": self.protocol.as_dict(),
            "provider": self.protocol.provider,
            "models": self.protocol.models,
        }
        with writes(self.sessions), self.sessions() as session:
            if not stored:
                known = hashes if hashes is not None else [None] * len(hypotheses)
                records = [hypothesis_record(h, c) for h, c in zip(hypotheses, known, strict=True)]
                repository.upsert_hypotheses(session, records)
            session.add(BatchRow(**batch))
            session.commit()  # the hypotheses land together or not at all

    def finish_batch(self, batch_id: str, statuses: Sequence[str], wall_s: float, status: str) -> None:
        """Record how the batch ended. A database that already failed (the error being raised says why) leaves the
        batch row "running" when the batch was interrupted."""
        landed = Counter(statuses)
        try:
            with self.sessions() as session:
                repository.finish_batch_commit(
                    session,
                    batch_id,
                    completed=landed["completed"],
                    failed=landed["failed"],
                    skipped=landed["skipped"],
                    wall_s=wall_s,
                    status=status,
                )
        except OperationalError:
            if status == "completed":
                raise

    def debate_row(
        self, d_id: str, hypothesis: Hypothesis, replicate: int, batch_id: str, status: str = "running"
    ) -> DebateRow:
        return DebateRow(
            id=d_id,
            hypothesis_id=hypothesis.hypothesis_id,
            hypothesis_hash=hypothesis.content_hash,
            protocol_hash=self.protocol.hash,
            replicate=replicate,
            batch_id=batch_id,
            status=status,
            attempts=1,
            protocol=self.protocol.as_dict(),
            rubric_hash=self.protocol.rubric_hash,
            prompt_hashes=dict(self.protocol.prompt_hashes),
            models=self.protocol.models,
        )

    def completed(self, debate_ids: Sequence[str]) -> set[str]:
        """Those of `debate_ids` completed already (a re-run skips them without claiming each)."""
        with self.sessions() as session:
            return repository.completed_debates(session, debate_ids)

    def claim(self, row: DebateRow, locks: DebateLocks) -> repository.Claim:
        with self.sessions() as session:
            return repository.claim_debate(session, row, locks)

    def write_turn(self, d_id: str, seq: int, result: TurnResult, composite: float | None, usage: UsageRows) -> None:
        """One turn, with its verdict row when it is a verdict (`composite`: its score) and the calls it cost."""
        verdict = None if composite is None else self.verdict_row(d_id, result, composite)
        repository.add_turn(self.sessions.engine, turn_row(d_id, seq, result), verdict, usage)

    def verdict_row(self, d_id: str, result: TurnResult, composite: float) -> dict[str, Any]:
        payload = result.payload
        return {
            "debate_id": d_id,
            "judge": payload["judge"],
            "scores": payload["scores"],
            "rationales": payload["rationales"],
            "summary": payload["summary"],
            "reasoning": payload.get("reasoning"),
            "persona": payload.get("persona"),
            "material_order": payload.get("order"),
            "composite": composite,
            "model": result.record.served_model,
            "rubric_hash": self.protocol.rubric_hash,
        }

    def fail(self, d_id: str, reason: str, step: str | None, usage: UsageRows) -> None:
        with self.sessions() as session:
            repository.fail_debate_commit(session, d_id, reason, step, usage)

    def complete(self, d_id: str, hypothesis: Hypothesis, scored: Scored, usage: UsageRows) -> str:
        """Store the debate's score (and the revision it offered); return the scoreboard it landed on."""
        from scoring.aggregate import board_scores  # scipy: imported once a debate ends, not by a re-run

        with self.sessions() as session:
            return repository.complete_debate_commit(
                session,
                d_id,
                mean=scored.score.mean,
                spread=scored.score.spread,
                n=scored.score.n,
                rounds_run=scored.rounds_run,
                early_stopped=scored.early_stopped,
                revised_statement=scored.revised,
                board=scored.board,
                aggregate=board_scores,
                revision=revision_record(hypothesis, scored.revised),
                usage=usage,
            )


@dataclass
class TurnLog:
    """Writes one debate's turns as they land (a panel's verdicts land concurrently), numbered after the `seq`
    turns stored before, each with the calls it cost (`usage`, given the turn's step) and, for a verdict, its composite
    (`tally`)."""

    rows: DebateRows
    debate_id: str
    seq: int
    tally: Tally
    usage: Callable[[str], UsageRows]
    _order: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def record(self, result: TurnResult) -> None:
        async with self._order:
            seq, self.seq = self.seq, self.seq + 1
            composite = self.tally.add(result.payload) if result.step == "verdict" else None
            self.rows.write_turn(self.debate_id, seq, result, composite, self.usage(result.step))


def turn_row(d_id: str, seq: int, result: TurnResult) -> dict[str, Any]:
    record = result.record
    return {
        "debate_id": d_id,
        "seq": seq,
        "round": result.round,
        "role": result.role,
        "step": result.step,
        "text": result.text,
        "payload": result.payload,
        "model": record.served_model,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_s": record.latency_s,
        "cost_usd": record.cost_usd,
        "cached_prompt_tokens": record.cached_prompt_tokens,
        "attempts": record.attempts,
        "asks": result.asks,
        "prompt_hash": result.prompt_hash,
    }


@contextlib.contextmanager
def writes(sessions: sessionmaker[Session]) -> Iterator[None]:
    """A database that cannot be written (read-only file, full disk, lost server) ends the batch with
    one StoreError; what was committed before stays committed."""
    try:
        yield
    except OperationalError as exc:
        url = sessions.engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot write to the database {url}: {exc.orig}") from None


def revision_record(h: Hypothesis, revised: str | None) -> repository.HypothesisRecord | None:
    """A revised statement offered in a rebuttal, as a child version: the parent's content with the revised
    statement as its mechanism. None when there is none, or when it is too short to be a hypothesis."""
    if not revised or len(revised.strip()) < 10 or revised.strip() == h.mechanism:
        return None
    return hypothesis_record(h.model_copy(update={"mechanism": revised.strip(), "id": h.hypothesis_id}))


def hypothesis_record(h: Hypothesis, content_hash: str | None = None) -> repository.HypothesisRecord:
    """A hypothesis as the store keeps it (in the record's field order: identity and pages, then what is debated);
    `content_hash`: its content hash, when the caller has it already."""
    return repository.HypothesisRecord(
        id=h.hypothesis_id,
        content_hash=content_hash or h.content_hash,
        pages=list(h.pages),
        title=h.title,
        targets=list(h.targets),
        target_label=h.label,
        mechanism=h.mechanism,
        diseases=list(h.diseases),
        evidence=[e.model_dump(mode="json") for e in h.evidence],
    )
