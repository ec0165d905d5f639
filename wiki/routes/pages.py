"""The HTML pages: the exchange, a wiki page with its related hypotheses, a hypothesis, a debate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from store import debates as stored
from store.rankings import scoreboards
from wiki.pages import strip_block
from wiki.related import Choice, page_ratings
from wiki.routes.common import (
    DEBATE_ID,
    BoardQuery,
    Embed,
    Offset,
    Store,
    Top,
    Wiki,
    blocks,
    html,
    load_hypothesis,
    load_page,
    render_markdown,
)
from wiki.views import (
    debate_detail,
    debate_is_demo,
    exchange,
    hypothesis_audit,
    hypothesis_detail,
    page_gaps,
    rated_lines,
)

DEBATES_PER_PAGE = 50  # debates (with transcripts) on one page of a hypothesis view

router = APIRouter()  # a route's docstring is its OpenAPI description: comments say what the others do


@router.get("/", include_in_schema=False)
def index() -> Response:  # the exchange is the front page
    return Response(status_code=307, headers={"location": "/exchange"})


@router.get("/exchange", response_class=HTMLResponse, summary="Hypotheses ranked by score on one scoreboard")
def exchange_view(
    sessions: Store,
    wiki: Wiki,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
    scoreboard: BoardQuery = None,
) -> HTMLResponse:
    with sessions() as s:
        boards = scoreboards(s)
        chosen = next((b for b in boards if b.id == (scoreboard or wiki.scoreboard)), None)
        if scoreboard and chosen is None:
            raise HTTPException(404, f"no scoreboard {scoreboard!r}")
        chosen = chosen or (boards[0] if boards else None)
        rows, total = exchange(s, chosen.id, limit=limit, offset=offset) if chosen else ([], 0)
        paging = {"rows": rows, "total": total, "offset": offset, "limit": limit}
        return html("exchange.html.j2", embed=False, board=chosen, boards=boards, **paging)


@router.get("/wiki/{slug}", response_class=HTMLResponse, summary="A wiki page and its related hypotheses")
def page_view(
    sessions: Store, wiki: Wiki, slug: str, embed: Embed = False, top: Top = None, scoreboard: BoardQuery = None
) -> HTMLResponse:
    with sessions() as s:
        page = load_page(s, slug)
        body = render_markdown(strip_block(page.markdown))
        ratings = page_ratings(s, page.slug)
        return html(
            "page.html.j2",
            embed=embed,
            page=page,
            body=body,
            blocks=blocks(s, page, Choice.of(wiki, top, scoreboard), scoreboard, ratings),
            tournament=ratings.tournament if ratings else None,
            rated=rated_lines(s, ratings.tournament, top or wiki.top) if ratings else [],
            gaps=page_gaps(s, page.slug),
        )


@router.get("/hypothesis/{hypothesis_id}", response_class=HTMLResponse, summary="A hypothesis and its debates")
def hypothesis_view(sessions: Store, hypothesis_id: str, embed: Embed = False, offset: Offset = 0) -> HTMLResponse:
    """The hypothesis, then its debates with transcripts, DEBATES_PER_PAGE at a time from `offset`."""
    with sessions() as s:
        h = load_hypothesis(s, hypothesis_id)
        audit = hypothesis_audit(s, h.id)
        detail = hypothesis_detail(s, h, audit, offset=offset, limit=DEBATES_PER_PAGE)
        debates = [debate_detail(s, d.id) for d in detail.debates]
        return html(
            "hypothesis.html.j2",
            embed=embed,
            h=detail,
            audit=audit,
            debates=[d for d in debates if d],
            offset=offset,
            per_page=DEBATES_PER_PAGE,
            total=stored.debate_count(s, h.id),
        )


@router.get("/debates/{debate_id}", response_class=HTMLResponse, summary="One debate's transcript and verdicts")
def debate_view(sessions: Store, debate_id: str, embed: Embed = False) -> HTMLResponse:
    with sessions() as s:
        found = debate_detail(s, debate_id) if DEBATE_ID.fullmatch(debate_id) else None
        if found is None:
            raise HTTPException(404, f"no debate {debate_id!r}")
        debate, hypothesis, score = found
        return html(
            "debate.html.j2",
            embed=embed,
            d=debate,
            h=hypothesis,
            score=score,
            demo_used=debate_is_demo(s, score),
        )
