"""The JSON API: a page's related hypotheses, and a hypothesis with its scores, ratings, audit and debates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from scoring.measured import Measured, as_json
from wiki.related import Choice, PageRatings, RelatedBlock, page_ratings
from wiki.routes.common import BoardQuery, Store, Wiki, blocks, load_hypothesis, load_page
from wiki.schemas import HypothesisResponse, RelatedHypothesis, RelatedResponse, from_row
from wiki.views import board_schema, hypothesis_audit, hypothesis_detail, page_gaps, tournament_schema

router = APIRouter()


def related_items(block: RelatedBlock, ratings: PageRatings | None) -> list[RelatedHypothesis]:
    """A block's lines, each score in scoring.measured's JSON."""
    return [
        from_row(
            RelatedHypothesis,
            r,
            **as_json(Measured.of(r, r.score)),
            url=f"/hypothesis/{r.id}",
            rating=ratings.rating(r.id) if ratings else None,
        )
        for r in block.hypotheses
    ]


@router.get("/api/pages/{slug}/related", summary="A page's related hypotheses, best first")
def related_api(
    sessions: Store,
    wiki: Wiki,
    slug: str,
    top: Annotated[int, Query(ge=1, le=100)] = 8,
    scoreboard: BoardQuery = None,
) -> RelatedResponse:
    with sessions() as s:
        page = load_page(s, slug)
        ratings = page_ratings(s, page.slug)
        first, *others = blocks(s, page, Choice.of(wiki, top, scoreboard), scoreboard, ratings)
        return RelatedResponse(
            slug=page.slug,
            title=page.title,
            entities=list(page.entities),
            scoreboard=board_schema(first.board) if first.board else None,
            hypotheses=related_items(first, ratings),
            other_scoreboards=[board_schema(b.board) for b in others if b.board],
            tournament=tournament_schema(ratings.tournament) if ratings else None,
            ordered_by=first.ordered_by.id if first.ordered_by else None,
            gaps=page_gaps(s, page.slug),
        )


@router.get(
    "/api/hypotheses/{hypothesis_id}",
    summary="A hypothesis, its score by dimension, its tournament ratings, its evidence audit and its debates",
)
def hypothesis_api(sessions: Store, hypothesis_id: str) -> HypothesisResponse:
    with sessions() as s:
        h = load_hypothesis(s, hypothesis_id)
        return hypothesis_detail(s, h, hypothesis_audit(s, h.id))
