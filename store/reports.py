"""Reads for the transcript report, and the definitions every view shares: a hypothesis's score by
dimension, its latest completed debate, and its evidence audit as the report and the web app show it.

The report reads over a *scope*: a select of debate ids (one batch, one hypothesis, or everything). Turns,
verdicts, scores, versions and evidence are each read with one query over the scope, never one query per
debate. A score is keyed by (scoreboard id, hypothesis id, content hash of the version debated).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, load_only

from safeio.citations import STATUSES as AUDIT_STATUSES
from safeio.citations import Status as AuditStatus
from safeio.citations import Support
from store.evidence import audit_of
from store.models import (
    BatchRow,
    CitationAuditRow,
    DebateRow,
    EvidenceRow,
    HypothesisRow,
    HypothesisVersionRow,
    ScoreboardRow,
    ScoreRow,
    TurnRow,
    UsageRow,
    VerdictRow,
)
from store.repository import chunks
from store.usage import Usage, of_batch, usage_where

ScoreKey = tuple[str, str, str]  # (scoreboard id, hypothesis id, content hash of the version)


# -- the scope ------------------------------------------------------------------------------------


def batch(session: Session, batch_id: str | None = None) -> BatchRow | None:
    """The batch `batch_id`, or without it the newest batch; None when there is none."""
    if batch_id is not None:
        return session.get(BatchRow, batch_id)
    return session.scalars(select(BatchRow).order_by(BatchRow.started_at.desc(), BatchRow.id)).first()


def batch_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BatchRow)) or 0


def has_hypothesis(session: Session, hypothesis_id: str) -> bool:
    return session.get(HypothesisRow, hypothesis_id) is not None


def debate_scope(*, batch_id: str | None = None, hypothesis_id: str | None = None) -> Select[tuple[str]]:
    """The ids of the debates of one batch and/or one hypothesis (neither: every debate)."""
    scope = select(DebateRow.id)
    if batch_id is not None:
        scope = scope.where(DebateRow.batch_id == batch_id)
    if hypothesis_id is not None:
        scope = scope.where(DebateRow.hypothesis_id == hypothesis_id)
    return scope


def debates_in(session: Session, scope: Select[Any]) -> list[DebateRow]:
    return list(session.scalars(select(DebateRow).where(DebateRow.id.in_(scope))))


# -- what the debates in scope hold ----------------------------------------------------------------

_TURN_FIELDS = (
    "seq", "round", "role", "step", "text", "payload", "model", "prompt_tokens", "completion_tokens", "cost_usd",
    "asks",
)  # fmt: skip
_VERDICT_FIELDS = (
    "judge", "scores", "rationales", "summary", "composite", "model", "persona", "material_order", "reasoning",
)  # fmt: skip


def turns_in(session: Session, scope: Select[Any]) -> dict[str, list[dict[str, Any]]]:
    """Each debate's turns in order, as {field: value}; `asks` is how many answers the turn asked for (more
    than 1: the model was re-asked)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    columns = [TurnRow.debate_id, *(getattr(TurnRow, f) for f in _TURN_FIELDS)]
    query = select(*columns).where(TurnRow.debate_id.in_(scope)).order_by(TurnRow.debate_id, TurnRow.seq)
    for row in session.execute(query).mappings():
        fields = {k: v for k, v in row.items() if k != "debate_id"}
        fields["asks"] = int(fields["asks"] or 1)
        out[row["debate_id"]].append(fields)
    return out


def verdicts_in(session: Session, scope: Select[Any]) -> dict[str, list[dict[str, Any]]]:
    """Each debate's verdicts by judge seat, as {field: value}."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    columns = [VerdictRow.debate_id, *(getattr(VerdictRow, f) for f in _VERDICT_FIELDS)]
    query = select(*columns).where(VerdictRow.debate_id.in_(scope)).order_by(VerdictRow.debate_id, VerdictRow.judge)
    for row in session.execute(query).mappings():
        out[row["debate_id"]].append({k: v for k, v in row.items() if k != "debate_id"})
    return out


def panel_scores_in(session: Session, scope: Select[Any]) -> dict[str, ScoreRow]:
    """Each scored debate's stored panel score (mean, spread, n of its judges' composites) and its scoreboard."""
    shown = load_only(ScoreRow.debate_id, ScoreRow.mean, ScoreRow.spread, ScoreRow.n, ScoreRow.scoreboard_id)
    query = select(ScoreRow).options(shown).where(ScoreRow.debate_id.in_(scope))
    return {row.debate_id: row for row in session.scalars(query)}


def _hypothesis_ids(scope: Select[Any]) -> Select[tuple[str]]:
    return select(DebateRow.hypothesis_id).where(DebateRow.id.in_(scope))


def hypotheses_in(session: Session, scope: Select[Any]) -> dict[str, HypothesisRow]:
    query = select(HypothesisRow).where(HypothesisRow.id.in_(_hypothesis_ids(scope)))
    return {h.id: h for h in session.scalars(query)}


def evidence_in(session: Session, scope: Select[Any]) -> dict[str, list[tuple[str, str | None, str]]]:
    """Each hypothesis's evidence in order, as (claim, citation, stance)."""
    out: dict[str, list[tuple[str, str | None, str]]] = defaultdict(list)
    for h_id, claim, citation, stance in session.execute(
        select(EvidenceRow.hypothesis_id, EvidenceRow.claim, EvidenceRow.citation, EvidenceRow.stance)
        .where(EvidenceRow.hypothesis_id.in_(_hypothesis_ids(scope)))
        .order_by(EvidenceRow.hypothesis_id, EvidenceRow.position)
    ):
        out[h_id].append((claim, citation, stance))
    return out


def versions_in(session: Session, scope: Select[Any]) -> list[HypothesisVersionRow]:
    """Every stored version of the hypotheses in scope, oldest first."""
    query = (
        select(HypothesisVersionRow)
        .where(HypothesisVersionRow.hypothesis_id.in_(_hypothesis_ids(scope)))
        .order_by(HypothesisVersionRow.hypothesis_id, HypothesisVersionRow.version)
    )
    return list(session.scalars(query))


def scoreboards_by_id(session: Session, ids: Collection[str]) -> dict[str, ScoreboardRow]:
    return {b.id: b for b in session.scalars(select(ScoreboardRow).where(ScoreboardRow.id.in_(list(ids))))}


def usage_of_debates(session: Session, scope: Select[Any]) -> Usage:
    """Every call made for the debates in scope."""
    return usage_where(session, UsageRow.debate_id.in_(scope))


def usage_of_batch(session: Session, row: BatchRow) -> Usage:
    """Every call the batch made."""
    return usage_where(session, of_batch(row))


# -- shared definitions ---------------------------------------------------------------------------


def _completed_on_a_board(debate_ids: Select[Any] | None, hypothesis_id: str | None) -> Any:
    condition = and_(DebateRow.status == "completed", ScoreRow.scoreboard_id.is_not(None))
    if debate_ids is not None:
        condition = and_(condition, DebateRow.id.in_(debate_ids))
    if hypothesis_id is not None:
        condition = and_(condition, DebateRow.hypothesis_id == hypothesis_id)
    return condition


@dataclass(frozen=True, slots=True)
class DimensionMean:
    """One rubric dimension of one hypothesis version on one scoreboard: the mean over its debates of each
    debate's panel mean (the same definition as the hypothesis's score), on the rubric's scale."""

    name: str
    mean: float
    debates: int
    verdicts: int


def dimension_means(
    session: Session, *, debate_ids: Select[Any] | None = None, hypothesis_id: str | None = None
) -> dict[ScoreKey, tuple[DimensionMean, ...]]:
    """The score by dimension of every (scoreboard, hypothesis, version) with completed, scored debates among
    `debate_ids` (default: every debate) of `hypothesis_id` (default: every hypothesis). Dimensions in the
    order the judges gave them."""
    query = (
        select(
            ScoreRow.scoreboard_id, DebateRow.hypothesis_id, DebateRow.hypothesis_hash, DebateRow.id, VerdictRow.scores
        )
        .join(ScoreRow, ScoreRow.debate_id == DebateRow.id)
        .join(VerdictRow, VerdictRow.debate_id == DebateRow.id)
        .where(_completed_on_a_board(debate_ids, hypothesis_id))
        .order_by(DebateRow.id, VerdictRow.judge)
    )
    # key -> dimension -> debate -> the judges' values
    values: dict[ScoreKey, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    for board_id, h_id, content_hash, debate_id, scores in session.execute(query):
        for name, value in (scores or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[(board_id, h_id, content_hash)][name].setdefault(debate_id, []).append(float(value))
    return {
        key: tuple(
            DimensionMean(
                name,
                statistics.fmean(statistics.fmean(judged) for judged in by_debate.values()),
                len(by_debate),
                sum(len(judged) for judged in by_debate.values()),
            )
            for name, by_debate in dimensions.items()
        )
        for key, dimensions in values.items()
    }


_LATEST_FIRST = (DebateRow.finished_at.desc().nulls_last(), DebateRow.id.desc())


def latest_completed(
    session: Session, *, debate_ids: Select[Any] | None = None, hypothesis_id: str | None = None
) -> dict[ScoreKey, str]:
    """The id of the latest completed, scored debate of every (scoreboard, hypothesis, version) among
    `debate_ids` (default: every debate) of `hypothesis_id` (default: every hypothesis): the newest
    `finished_at`, then the greatest id."""
    rank = (
        func.row_number()
        .over(
            partition_by=(ScoreRow.scoreboard_id, DebateRow.hypothesis_id, DebateRow.hypothesis_hash),
            order_by=_LATEST_FIRST,
        )
        .label("rank")
    )
    ranked = (
        select(ScoreRow.scoreboard_id, DebateRow.hypothesis_id, DebateRow.hypothesis_hash, DebateRow.id, rank)
        .join(ScoreRow, ScoreRow.debate_id == DebateRow.id)
        .where(_completed_on_a_board(debate_ids, hypothesis_id))
        .subquery()
    )
    query = select(ranked.c.scoreboard_id, ranked.c.hypothesis_id, ranked.c.hypothesis_hash, ranked.c.id)
    return {(b, h, c): d for b, h, c, d in session.execute(query.where(ranked.c.rank == 1))}


def latest_completed_debate(
    session: Session, hypothesis_id: str, *, content_hash: str | None = None
) -> DebateRow | None:
    """A hypothesis's latest completed debate (of one version, when `content_hash` is given), on any scoreboard."""
    query = select(DebateRow).where(DebateRow.hypothesis_id == hypothesis_id, DebateRow.status == "completed")
    if content_hash is not None:
        query = query.where(DebateRow.hypothesis_hash == content_hash)
    return session.scalars(query.order_by(*_LATEST_FIRST).limit(1)).first()


# -- the evidence audit, as every view shows it --------------------------------------------------

AuditSource = Literal["evidence", "turn"]  # a claim of the hypothesis's evidence, or a citation in a debate turn
Flag = Literal["fabricated", "contradicted"]


@dataclass(frozen=True, slots=True)
class AuditedCitation:
    """One audited citation (a row of store.evidence.audit_of), with the step and round of the turn it was made
    in when it was made in a debate turn that is still stored. Every text field is untrusted."""

    source: AuditSource
    claim: str
    citation: str
    status: AuditStatus
    detail: str | None
    entry_key: str | None
    support: Support | None  # None: not checked (the entry has no abstract)
    quote: str | None
    debate_id: str | None
    turn_seq: int | None
    role: str | None
    step: str | None
    round: int | None

    @property
    def flags(self) -> tuple[Flag, ...]:
        """What every view marks with ⚠ (and a CSS class of the same name)."""
        flags: list[Flag] = []
        if self.status == "fabricated":
            flags.append("fabricated")
        if self.support == "contradicts":
            flags.append("contradicted")
        return tuple(flags)

    @property
    def place(self) -> str:
        """`evidence`, or the turn: `critic, critique round 1`, `proposer, opening` (`critic, turn 3` when the
        turn is gone)."""
        if self.source != "turn":
            return "evidence"
        role = self.role or "?"
        if self.step is None:
            return f"{role}, turn {self.turn_seq}"
        in_round = f" round {self.round}" if self.step in ("critique", "rebuttal") else ""
        return f"{role}, {self.step}{in_round}"


@dataclass(frozen=True, slots=True)
class Audit:
    """The audited citations of a hypothesis's current version, in audit order, and their counts."""

    citations: tuple[AuditedCitation, ...]

    @property
    def counts(self) -> dict[AuditStatus, int]:
        return {status: sum(c.status == status for c in self.citations) for status in AUDIT_STATUSES}

    @property
    def contradicted(self) -> int:
        return sum(c.support == "contradicts" for c in self.citations)

    @property
    def summary(self) -> str:
        """`12 citations: 7 resolved · 1 miscited · 2 unresolved · 0 malformed · 2 fabricated; 1 contradicted`."""
        n = len(self.citations)
        counts = " · ".join(f"{count} {status}" for status, count in self.counts.items())
        return f"{n} citation{'' if n == 1 else 's'}: {counts}; {self.contradicted} contradicted"


def audits_in(session: Session, hypothesis_ids: Collection[str]) -> dict[str, Audit]:
    """The evidence audit of each hypothesis's current version (hypotheses never audited, or changed since the
    audit, are absent): its rows in one query, the steps of the turns they cite in one more (per 500 ids)."""
    rows = audit_of(session, sorted(hypothesis_ids))
    debates = sorted({r.debate_id for found in rows.values() for r in found if r.debate_id is not None})
    steps: dict[tuple[str | None, int | None], tuple[str, int]] = {}
    for chunk in chunks(debates):
        query = select(TurnRow.debate_id, TurnRow.seq, TurnRow.step, TurnRow.round).where(TurnRow.debate_id.in_(chunk))
        steps.update(((d, seq), (step, round_)) for d, seq, step, round_ in session.execute(query))
    return {
        h_id: Audit(tuple(_audited(r, steps.get((r.debate_id, r.turn_seq))) for r in found))
        for h_id, found in rows.items()
    }


def _audited(row: CitationAuditRow, step: tuple[str, int] | None) -> AuditedCitation:
    return AuditedCitation(
        source=cast(AuditSource, row.source),
        claim=row.claim,
        citation=row.citation,
        status=cast(AuditStatus, row.status),
        detail=row.detail,
        entry_key=row.entry_key,
        support=cast(Support | None, row.support),
        quote=row.quote,
        debate_id=row.debate_id,
        turn_seq=row.turn_seq,
        role=row.role,
        step=step[0] if step else None,
        round=step[1] if step else None,
    )
