"""The report's tournament section: the batch's pairwise ratings (pool `batch:<id>`), each beside the rubric
scores of the report's first scoreboard and the two orders' agreement (Kendall tau), and, in a hypothesis
report, that hypothesis's ratings in every tournament.

Ratings live on their own (pairwise) scoreboard: they are shown beside rubric scores, never mixed with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from report.views import HypothesisView, RankingView, RatingView, TournamentView
from scoring.ratings import agreement
from store import reports
from store.scoreboards import Board
from store.tournaments import Standing, ratings_of, standings


def scoreboard_view(board: Board) -> Board:
    """The scoreboard as the report holds it: its judge models a tuple, like every list in the report's views."""
    return replace(board, judge_models=tuple(board.judge_models))


def batch_tournaments(
    session: Session,
    batch_id: str | None,
    rankings: Sequence[RankingView],
    hypotheses: Sequence[HypothesisView],
) -> tuple[TournamentView, ...]:
    """The tournaments whose pool is `batch_id` (none without a batch), most matches first."""
    if batch_id is None:
        return ()
    found = standings(session, f"batch:{batch_id}")
    if not found:
        return ()
    scope = reports.debate_scope(batch_id=batch_id)
    rows = reports.hypotheses_in(session, scope)
    titles: dict[tuple[str, str] | str, str] = {h.id: h.title for h in rows.values()}  # the current title
    for v in reports.versions_in(session, scope):  # an earlier version rated under its own title
        if v.content and v.content.get("title"):
            titles[(v.hypothesis_id, v.content_hash)] = str(v.content["title"])
    shown = {h.id for h in hypotheses}
    first = rankings[0] if rankings else None
    scores = {(r.hypothesis.id, r.score.content_hash): r.score.mean for r in first.rows} if first else {}
    views = []
    for standing in found:
        ratings = tuple(
            RatingView.of(
                r,
                current=r.hypothesis_id in rows and rows[r.hypothesis_id].content_hash == r.content_hash,
                title=titles.get((r.hypothesis_id, r.content_hash)) or titles.get(r.hypothesis_id, r.hypothesis_id),
                in_report=r.hypothesis_id in shown,
                score=scores.get((r.hypothesis_id, r.content_hash)),
            )
            for r in standing.ratings
        )
        views.append(_tournament_view(standing, ratings, first))
    return tuple(views)


def _tournament_view(standing: Standing, ratings: tuple[RatingView, ...], first: RankingView | None) -> TournamentView:
    """The tournament with its agreement with `first`: tau over the versions both rated and scored there."""
    rated = {(r.hypothesis_id, r.content_hash): r.rating for r in standing.ratings}
    scored = first.rows if first else ()
    scores = {
        row.hypothesis.id: row.score.mean for row in scored if (row.hypothesis.id, row.score.content_hash) in rated
    }
    by_rating = {h: rated[(h, row.score.content_hash)] for row in scored if (h := row.hypothesis.id) in scores}
    return TournamentView.of(
        standing,
        board=scoreboard_view(standing.board),
        rows=ratings,
        rubric_board=first.board.id if first else None,
        tau=agreement(by_rating, scores),
        shared=len(scores),
    )


def hypothesis_ratings(session: Session, hypothesis_id: str | None) -> tuple[RatingView, ...]:
    """A hypothesis report's ratings in every tournament, current version first, then the busiest tournament."""
    if hypothesis_id is None:
        return ()
    found = ratings_of(session, hypothesis_id)
    return tuple(
        RatingView.of(r, tournament=replace(t, board=scoreboard_view(t.board)), current=bool(r.current))
        for r in found
        if (t := r.tournament) is not None
    )
