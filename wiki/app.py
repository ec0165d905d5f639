"""The read-only web app: exchange, wiki pages with their related hypotheses, hypotheses, debates, JSON API.

Every value reaches HTML through a Jinja environment with autoescape on; page Markdown is rendered
by markdown-it with raw HTML off (it shows as text) and its default link validation (no
`javascript:`, `vbscript:`, `file:` or `data:` links). No page runs a script: the CSP forbids them, and the
app serves no interactive docs (`/docs`, `/redoc` load scripts from a CDN); the schema is at `/openapi.json`.
Every answer carries the headers of wiki/security.py, a server error's plain 500 too (Starlette answers those
outside the middleware); a request for a Host not allowed is answered 400. An id or slug in a path that is not
of its form (a NUL byte, which PostgreSQL refuses in a query, a wrong prefix, too long) is a 404 before any query.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from scoring.rubric import Rubric
from store import debates as stored
from store import pages as stored_pages
from store.engine import open_store
from store.models import HypothesisRow, PageRow
from store.rankings import scoreboards
from wiki.block import colour, uncertainty
from wiki.pages import strip_block
from wiki.related import PageRatings, RelatedBlock, page_ratings, related_blocks
from wiki.schemas import HypothesisResponse, RelatedHypothesis, RelatedResponse
from wiki.security import CSP, HEADERS, SecurityHeaders
from wiki.settings import WikiSettings
from wiki.views import (
    DEMO_WARNING,
    board_schema,
    debate_detail,
    debate_is_demo,
    exchange,
    hypothesis_audit,
    hypothesis_detail,
    rated_lines,
    tournament_schema,
)

TEMPLATES = Path(__file__).with_name("templates")
MAX_OFFSET = 1_000_000  # past any real list; a larger offset is a 422, not a slow query
DEBATES_PER_PAGE = 50  # debates (with transcripts) on one page of a hypothesis view
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Embed = Annotated[bool, Query(description="1: the view without site chrome, for iframes")]
Top = Annotated[int | None, Query(ge=1, le=100, description="how many hypotheses (default wiki.top)")]
BoardQuery = Annotated[
    str | None,
    Query(
        pattern=r"^s-[0-9a-f]{8}$", description="rank on this scoreboard (default: wiki.scoreboard, else most debates)"
    ),
]

# The forms of what a path names: anything else is a 404 before any query (debates.hypotheses, debates.protocol and
# wiki.pages make them; the wiki part may not import debates).
HYPOTHESIS_ID = re.compile(r"h-[0-9a-f]{8}")
DEBATE_ID = re.compile(r"d-[0-9a-f]{1,64}")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,199}")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@functools.lru_cache(maxsize=256)
def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it escapes text and drops raw HTML (html=False)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["score"] = lambda v: "—" if v is None else f"{v:.2f}"
    env.filters["colour"] = colour
    env.filters["dimension"] = Rubric.label
    env.filters["uncertainty"] = uncertainty
    env.filters["interval"] = lambda r: "no interval (1 verdict)" if r.lo is None else f"[{r.lo:.2f}, {r.hi:.2f}]"
    env.filters["rating"] = lambda r: f"{r.rating:.0f} [{r.lo:.0f}, {r.hi:.0f}]"
    env.filters["percent"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    return env


def create_app(
    url: str, settings: WikiSettings | None = None, *, allowed_hosts: Sequence[str] | None = None
) -> FastAPI:
    """The app over the database at `url` (opened, and migrated, when the app starts; closed when it stops).

    It answers requests whose Host header is one of `allowed_hosts` (default: wiki.allowed_hosts)."""
    wiki = settings or WikiSettings()
    env = templates()
    state: dict[str, sessionmaker[Session]] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["sessions"] = open_store(url)
        try:
            yield
        finally:
            state.pop("sessions").close()

    app = FastAPI(
        title="hypodebate",
        summary="Scored hypotheses on wiki pages (read-only).",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: no page of this app runs a script
        redoc_url=None,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or wiki.allowed_hosts))
    app.add_middleware(SecurityHeaders)  # added last, so outermost: the Host check's 400 carries the headers too

    def session() -> Session:
        return state["sessions"]()

    def html(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
        body = env.get_template(name).render(demo_warning=DEMO_WARNING, **context)
        return HTMLResponse(body, status_code=status_code, headers={"Content-Security-Policy": CSP})

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return html("error.html.j2", exc.status_code, embed=False, status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        """A plain 500 with the headers; the traceback goes to the server's log (Starlette re-raises), never
        into the answer."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Internal Server Error"}, status_code=500, headers=HEADERS)
        return PlainTextResponse("Internal Server Error", status_code=500, headers=HEADERS)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(status_code=307, headers={"location": "/exchange"})

    @app.get("/exchange", response_class=HTMLResponse, summary="Hypotheses ranked by score on one scoreboard")
    def exchange_view(
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
        offset: Offset = 0,
        scoreboard: BoardQuery = None,
    ) -> HTMLResponse:
        with session() as s:
            boards = scoreboards(s)
            chosen = next((b for b in boards if b.id == (scoreboard or wiki.scoreboard)), None)
            if scoreboard and chosen is None:
                raise HTTPException(404, f"no scoreboard {scoreboard!r}")
            chosen = chosen or (boards[0] if boards else None)
            rows, total = exchange(s, chosen.id, limit=limit, offset=offset) if chosen else ([], 0)
            return html(
                "exchange.html.j2",
                embed=False,
                rows=rows,
                total=total,
                offset=offset,
                limit=limit,
                board=chosen,
                boards=boards,
            )

    def load_page(s: Session, slug: str) -> PageRow:
        page = stored_pages.page(s, slug) if SLUG.fullmatch(slug) else None
        if page is None:
            raise HTTPException(404, f"no wiki page {slug!r}")
        return page

    def load_hypothesis(s: Session, hypothesis_id: str) -> HypothesisRow:
        h = stored.hypothesis(s, hypothesis_id) if HYPOTHESIS_ID.fullmatch(hypothesis_id) else None
        if h is None:
            raise HTTPException(404, f"no hypothesis {hypothesis_id!r}")
        return h

    def blocks(
        s: Session, page: PageRow, top: int | None, scoreboard: str | None, ratings: PageRatings | None
    ) -> list[RelatedBlock]:
        found = related_blocks(
            s,
            page,
            top=top or wiki.top,
            scoreboard=scoreboard or wiki.scoreboard,
            min_score=wiki.min_score,
            min_debates=wiki.min_debates,
            rank_by=wiki.rank_by,
            ratings=ratings,
        )
        if scoreboard and found[0].board is None:
            raise HTTPException(404, f"no scoreboard {scoreboard!r}")
        return found

    def related_items(block: RelatedBlock, ratings: PageRatings | None) -> list[RelatedHypothesis]:
        return [
            RelatedHypothesis(
                id=r.id,
                title=r.title,
                target_label=r.target_label,
                score=r.score,
                lo=r.lo,
                hi=r.hi,
                interval=r.interval,
                debates=r.debates,
                verdicts=r.verdicts,
                url=f"/hypothesis/{r.id}",
                rating=ratings.rating(r.id) if ratings else None,
            )
            for r in block.hypotheses
        ]

    @app.get("/wiki/{slug}", response_class=HTMLResponse, summary="A wiki page and its related hypotheses")
    def page_view(slug: str, embed: Embed = False, top: Top = None, scoreboard: BoardQuery = None) -> HTMLResponse:
        with session() as s:
            page = load_page(s, slug)
            body = render_markdown(strip_block(page.markdown))
            ratings = page_ratings(s, page.slug)
            return html(
                "page.html.j2",
                embed=embed,
                page=page,
                body=body,
                blocks=blocks(s, page, top, scoreboard, ratings),
                tournament=ratings.tournament if ratings else None,
                rated=rated_lines(s, ratings.tournament, top or wiki.top) if ratings else [],
            )

    @app.get("/hypothesis/{hypothesis_id}", response_class=HTMLResponse, summary="A hypothesis and its debates")
    def hypothesis_view(hypothesis_id: str, embed: Embed = False, offset: Offset = 0) -> HTMLResponse:
        """The hypothesis, then its debates with transcripts, DEBATES_PER_PAGE at a time from `offset`."""
        with session() as s:
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

    @app.get("/debates/{debate_id}", response_class=HTMLResponse, summary="One debate's transcript and verdicts")
    def debate_view(debate_id: str, embed: Embed = False) -> HTMLResponse:
        with session() as s:
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

    @app.get("/api/pages/{slug}/related", summary="A page's related hypotheses, best first")
    def related_api(
        slug: str, top: Annotated[int, Query(ge=1, le=100)] = 8, scoreboard: BoardQuery = None
    ) -> RelatedResponse:
        with session() as s:
            page = load_page(s, slug)
            ratings = page_ratings(s, page.slug)
            first, *others = blocks(s, page, top, scoreboard, ratings)
            return RelatedResponse(
                slug=page.slug,
                title=page.title,
                entities=list(page.entities),
                scoreboard=board_schema(first.board) if first.board else None,
                hypotheses=related_items(first, ratings),
                other_scoreboards=[board_schema(b.board) for b in others if b.board],
                tournament=tournament_schema(ratings.tournament) if ratings else None,
                ordered_by=first.ordered_by.id if first.ordered_by else None,
            )

    @app.get(
        "/api/hypotheses/{hypothesis_id}",
        summary="A hypothesis, its score by dimension, its tournament ratings, its evidence audit and its debates",
    )
    def hypothesis_api(hypothesis_id: str) -> HypothesisResponse:
        with session() as s:
            h = load_hypothesis(s, hypothesis_id)
            return hypothesis_detail(s, h, hypothesis_audit(s, h.id))

    return app
