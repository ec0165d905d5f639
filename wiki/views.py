"""What the web app shows, read from the store: one function per view, returning plain values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from store import debates as stored
from store.demo import DEMO_WARNING
from store.models import DebateRow, HypothesisRow, ScoreRow
from store.rankings import Board, Ranked, hypothesis_scores, ranking
from store.reports import Audit, audits_in, dimension_means
from store.repository import versions_of
from store.tournaments import Standing, ratings_of
from wiki.schemas import (
    AuditItem,
    DebateSummary,
    Evidence,
    EvidenceAudit,
    HypothesisResponse,
    Rating,
    Score,
    Scoreboard,
    Tournament,
    Version,
)

__all__ = [
    "DEMO_WARNING",
    "audit_schema",
    "board_schema",
    "debate_detail",
    "debate_is_demo",
    "exchange",
    "hypothesis_audit",
    "hypothesis_detail",
    "rated_lines",
    "tournament_schema",
]


def debate_is_demo(session: Session, score: ScoreRow | None) -> bool:
    return score is not None and stored.scoreboard_is_demo(session, score.scoreboard_id)


def board_schema(board: Board) -> Scoreboard:
    return Scoreboard(
        id=board.id,
        judge_models=list(board.judge_models),
        rubric_hash=board.rubric_hash,
        protocol_hash=board.protocol_hash,
        demo=board.demo,
        legacy=board.legacy,
        design=board.design,
        label=board.label,
    )


def tournament_schema(tournament: Standing) -> Tournament:
    return Tournament(
        id=tournament.id,
        pool=tournament.pool,
        scoreboard=board_schema(tournament.board),
        hypotheses=tournament.hypotheses,
        comparisons=tournament.comparisons,
        matches=tournament.matches,
        position_bias=tournament.position_bias,
    )


@dataclass(frozen=True)
class RatedLine:
    """A row of a page's compact ratings table."""

    rank: int
    id: str
    title: str
    rating: float
    lo: float
    hi: float
    wins: int
    ties: int
    losses: int
    current: bool  # the rated version is the hypothesis's current one


def rated_lines(session: Session, tournament: Standing, limit: int) -> list[RatedLine]:
    """The tournament's `limit` best ratings, with each hypothesis's current title."""
    lines = []
    for r in tournament.ratings[:limit]:
        h = stored.hypothesis(session, r.hypothesis_id)
        title = h.title if h is not None else r.hypothesis_id
        current = h is not None and h.content_hash == r.content_hash
        lines.append(RatedLine(r.rank, r.hypothesis_id, title, r.rating, r.lo, r.hi, r.wins, r.ties, r.losses, current))
    return lines


def exchange(session: Session, board_id: str, *, limit: int, offset: int) -> tuple[list[Ranked], int]:
    """Current versions ranked on one scoreboard, a page at a time."""
    ranked = ranking(session, board_id)
    return ranked[offset : offset + limit], len(ranked)


def hypothesis_audit(session: Session, hypothesis_id: str) -> Audit | None:
    """The current version's evidence audit; None when it was never audited (or changed since)."""
    return audits_in(session, [hypothesis_id]).get(hypothesis_id)


def audit_schema(audit: Audit | None) -> EvidenceAudit | None:
    if audit is None:
        return None
    items = [
        AuditItem(
            source=c.source,
            claim=c.claim,
            citation=c.citation,
            status=c.status,
            detail=c.detail,
            entry_key=c.entry_key,
            support=c.support,
            quote=c.quote,
            debate_id=c.debate_id,
            turn_seq=c.turn_seq,
            role=c.role,
        )
        for c in audit.citations
    ]
    return EvidenceAudit(counts=audit.counts, contradicted=audit.contradicted, items=items)


def hypothesis_detail(
    session: Session, h: HypothesisRow, audit: Audit | None, *, offset: int = 0, limit: int | None = None
) -> HypothesisResponse:
    """The hypothesis with its scores, tournament ratings and evidence audit (`hypothesis_audit`), and its debates
    `limit` at a time from `offset` (all when None)."""
    debates = stored.debates_of(session, h.id, offset=offset, limit=limit)
    scores = stored.scores_of(session, [d.id for d in debates])
    versions = versions_of(session, h.id)
    version_of = {v.content_hash: v.id for v in versions}
    # the current version on its first scoreboard: the same definition the report shows (store.reports)
    board_id = next((row.scoreboard_id for row, _ in hypothesis_scores(session, h.id) if row.current), "")
    means = dimension_means(session, hypothesis_id=h.id).get((board_id, h.id, h.content_hash), ())
    dimensions = {m.name: m.mean for m in means}
    summaries = []
    for d in debates:
        s = scores.get(d.id)
        summaries.append(
            DebateSummary(
                id=d.id,
                status=d.status,
                version_id=version_of.get(d.hypothesis_hash),
                scoreboard_id=s.scoreboard_id if s else None,
                rounds_run=d.rounds_run,
                models={str(k): str(v) for k, v in d.models.items()},
                score=s.mean if s else None,
                spread=s.spread if s else None,
                n=s.n if s else None,
                finished_at=d.finished_at,
                url=f"/debates/{d.id}",
            )
        )
    board_scores = [
        Score(
            scoreboard=board_schema(board),
            version_id=version_of.get(row.content_hash),
            current=row.current,
            mean=row.mean,
            lo=row.lo,
            hi=row.hi,
            interval=row.interval,
            debates=row.debates,
            verdicts=row.verdicts,
        )
        for row, board in hypothesis_scores(session, h.id)
    ]
    ratings = [
        Rating(
            tournament=found.tournament.id,
            pool=found.tournament.pool,
            scoreboard=board_schema(found.tournament.board),
            rating=found.rating.rating,
            lo=found.rating.lo,
            hi=found.rating.hi,
            wins=found.rating.wins,
            ties=found.rating.ties,
            losses=found.rating.losses,
            rank=found.rating.rank,
            of=found.tournament.hypotheses,
            current=found.current,
            version_id=version_of.get(found.rating.content_hash),
            matches=found.tournament.matches,
            position_bias=found.tournament.position_bias,
        )
        for found in ratings_of(session, h.id)
    ]
    demo_used = any(s.scoreboard.demo for s in board_scores) or any(r.scoreboard.demo for r in ratings)
    return HypothesisResponse(
        id=h.id,
        title=h.title,
        targets=[str(t) for t in h.targets],
        target_label=h.target_label,
        mechanism=h.mechanism,
        diseases=[str(d) for d in h.diseases],
        pages=[str(p) for p in h.pages],
        version=h.version,
        versions=[
            Version(
                id=v.id,
                version=v.version,
                origin=v.origin,
                parent_id=v.parent_id,
                debate_id=v.debate_id,
                current=v.content_hash == h.content_hash,
            )
            for v in versions
        ],
        scores=board_scores,
        dimensions=dimensions,
        evidence=[Evidence(claim=e.claim, citation=e.citation, stance=e.stance) for e in h.evidence],
        evidence_audit=audit_schema(audit),
        debates=summaries,
        ratings=ratings,
        demo_warning=DEMO_WARNING if demo_used else None,
    )


def debate_detail(session: Session, debate_id: str) -> tuple[DebateRow, HypothesisRow, ScoreRow | None] | None:
    debate = stored.debate(session, debate_id)
    if debate is None:
        return None
    hypothesis = stored.hypothesis(session, debate.hypothesis_id)
    assert hypothesis is not None  # a debate's hypothesis is a foreign key
    return debate, hypothesis, stored.debate_score(session, debate_id)
