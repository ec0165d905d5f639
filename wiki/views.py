"""What the web app shows, read from the store: one function per view, returning plain values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from scoring.measured import Measured, as_json
from store import debates as stored
from store import lineage, tournaments
from store.demo import DEMO_WARNING
from store.models import DebateRow, HypothesisRow, ScoreRow
from store.rankings import Ranked, hypothesis_scores, ranking, with_ranks
from store.reports import Audit, audits_in, dimension_means
from store.repository import versions_of
from store.scoreboards import Board
from store.tournaments import Standing, ratings_of
from wiki.schemas import (
    AuditItem,
    DebateSummary,
    Evidence,
    EvidenceAudit,
    Gap,
    HypothesisResponse,
    Lineage,
    Rating,
    Score,
    Scoreboard,
    Tournament,
    Version,
    from_row,
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
    "lineage_of",
    "page_gaps",
    "rated_lines",
    "tournament_schema",
]


def debate_is_demo(session: Session, score: ScoreRow | None) -> bool:
    """Whether the debate's score is on a scoreboard of the embedded demo model."""
    return score is not None and stored.scoreboard_is_demo(session, score.scoreboard_id)


def board_schema(board: Board) -> Scoreboard:
    """A scoreboard as the API answers it."""
    return from_row(Scoreboard, board)


def tournament_schema(tournament: Standing) -> Tournament:
    """A tournament (without its ratings) as the API answers it."""
    return from_row(Tournament, tournament, scoreboard=board_schema(tournament.board))


@dataclass(frozen=True)
class RatedLine:
    """A row of a page's compact ratings table: the stored rating, and its hypothesis's current title."""

    record: tournaments.Rating  # (wiki.schemas.Rating is the answer this fills)
    title: str
    current: bool  # the rated version is the hypothesis's current one


def rated_lines(session: Session, tournament: Standing, limit: int) -> list[RatedLine]:
    """The tournament's `limit` best ratings, with each hypothesis's current title."""
    lines = []
    for r in tournament.ratings[:limit]:
        h = stored.hypothesis(session, r.hypothesis_id)
        title = h.title if h is not None else r.hypothesis_id
        lines.append(RatedLine(r, title, h is not None and h.content_hash == r.content_hash))
    return lines


def exchange(session: Session, board_id: str, *, limit: int, offset: int) -> tuple[list[Ranked], int]:
    """Current versions ranked on one scoreboard, a page at a time."""
    ranked = with_ranks(ranking(session, board_id))
    return ranked[offset : offset + limit], len(ranked)


def hypothesis_audit(session: Session, hypothesis_id: str) -> Audit | None:
    """The current version's evidence audit; None when it was never audited (or changed since)."""
    return audits_in(session, [hypothesis_id]).get(hypothesis_id)


def audit_schema(audit: Audit | None) -> EvidenceAudit | None:
    """An evidence audit as the API answers it; None when there is none."""
    if audit is None:
        return None
    return from_row(EvidenceAudit, audit, items=[from_row(AuditItem, c) for c in audit.citations])


def hypothesis_detail(
    session: Session, h: HypothesisRow, audit: Audit | None, *, offset: int = 0, limit: int | None = None
) -> HypothesisResponse:
    """The hypothesis with its scores, tournament ratings and evidence audit (`hypothesis_audit`), and its debates
    `limit` at a time from `offset` (all when None)."""
    versions = versions_of(session, h.id)
    version_of = {v.content_hash: v.id for v in versions}
    scores = _scores(session, h.id, version_of)
    ratings = _ratings(session, h.id, version_of)
    demo_used = any(s.scoreboard.demo for s in scores) or any(r.scoreboard.demo for r in ratings)
    return from_row(
        HypothesisResponse,
        h,
        targets=[str(t) for t in h.targets],
        diseases=[str(d) for d in h.diseases],
        pages=[str(p) for p in h.pages],
        versions=[from_row(Version, v, current=v.content_hash == h.content_hash) for v in versions],
        scores=scores,
        dimensions=_dimensions(session, h),
        evidence=[from_row(Evidence, e) for e in h.evidence],
        evidence_audit=audit_schema(audit),
        debates=_debates(session, h.id, version_of, offset=offset, limit=limit),
        ratings=ratings,
        lineage=lineage_of(session, h.id),
        demo_warning=DEMO_WARNING if demo_used else None,
    )


def lineage_of(session: Session, hypothesis_id: str) -> Lineage:
    """The hypothesis's origin, how it was made, its parents and its children (store.lineage)."""
    found = lineage.origins(session, [hypothesis_id])[hypothesis_id]
    gap_id = found.source if found.source_kind == "gap" and found.source else None
    gap = lineage.gaps_by_id(session, [gap_id]).get(gap_id) if gap_id else None
    return from_row(
        Lineage,
        found,
        source_title=gap.title if gap is not None else None,
        parents=list(found.parents),
        children=lineage.children(session, [hypothesis_id]).get(hypothesis_id, []),
    )


def page_gaps(session: Session, slug: str) -> list[Gap]:
    """The page's gaps (its Related Analyses), in page order."""
    return [from_row(Gap, g) for g in lineage.gaps_of(session, slug)]


def _dimensions(session: Session, h: HypothesisRow) -> dict[str, float]:
    """The current version's mean per rubric dimension on its first scoreboard: the same definition the report
    shows (store.reports)."""
    board_id = next((row.scoreboard_id for row, _ in hypothesis_scores(session, h.id) if row.current), "")
    means = dimension_means(session, hypothesis_id=h.id).get((board_id, h.id, h.content_hash), ())
    return {m.name: m.mean for m in means}


def _debates(
    session: Session, hypothesis_id: str, version_of: dict[str, str], *, offset: int, limit: int | None
) -> list[DebateSummary]:
    """The hypothesis's debates, `limit` at a time from `offset`, each with its panel score."""
    debates = stored.debates_of(session, hypothesis_id, offset=offset, limit=limit)
    scores = stored.scores_of(session, [d.id for d in debates])
    summaries = []
    for d in debates:
        s = scores.get(d.id)
        summaries.append(
            from_row(
                DebateSummary,
                d,
                version_id=version_of.get(d.hypothesis_hash),
                scoreboard_id=s.scoreboard_id if s else None,
                models={str(k): str(v) for k, v in d.models.items()},
                score=s.mean if s else None,
                spread=s.spread if s else None,
                n=s.n if s else None,
                url=f"/debates/{d.id}",
            )
        )
    return summaries


def _scores(session: Session, hypothesis_id: str, version_of: dict[str, str]) -> list[Score]:
    """One score per scoreboard and version, in scoring.measured's JSON."""
    return [
        Score(
            scoreboard=board_schema(board),
            version_id=version_of.get(row.content_hash),
            current=row.current,
            mean=row.mean,
            **as_json(Measured.of(row, row.mean, board.id)),
        )
        for row, board in hypothesis_scores(session, hypothesis_id)
    ]


def _ratings(session: Session, hypothesis_id: str, version_of: dict[str, str]) -> list[Rating]:
    """The hypothesis's tournament ratings, current version first, then the busiest tournament."""
    return [
        from_row(
            Rating,
            found,
            tournament=found.tournament.id,
            pool=found.tournament.pool,
            scoreboard=board_schema(found.tournament.board),
            of=found.tournament.hypotheses,
            current=found.current,
            version_id=version_of.get(found.content_hash),
            matches=found.tournament.matches,
            order_inconsistency=found.tournament.order_inconsistency,
            first_share=found.tournament.first_share,
        )
        for found in ratings_of(session, hypothesis_id)
    ]


def debate_detail(session: Session, debate_id: str) -> tuple[DebateRow, HypothesisRow, ScoreRow | None] | None:
    """The debate, its hypothesis and its score (None: not scored); None when there is no such debate."""
    debate = stored.debate(session, debate_id)
    if debate is None:
        return None
    hypothesis = stored.hypothesis(session, debate.hypothesis_id)
    assert hypothesis is not None  # a debate's hypothesis is a foreign key
    return debate, hypothesis, stored.debate_score(session, debate_id)
