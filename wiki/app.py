"""The read-only web app: exchange, wiki pages with their related hypotheses, hypotheses, debates, JSON API.

Every value reaches HTML through a Jinja environment with autoescape on; page Markdown is rendered
by markdown-it with raw HTML off (it shows as text) and its default link validation (no
`javascript:`, `vbscript:`, `file:` or `data:` links). No page runs a script: the CSP forbids them.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from store.engine import open_store
from store.models import HypothesisRow, PageRow
from wiki.block import colour
from wiki.pages import strip_block
from wiki.related import related_for_page
from wiki.schemas import HypothesisResponse, RelatedHypothesis, RelatedResponse
from wiki.settings import WikiSettings
from wiki.views import Demo, debate_detail, exchange, hypothesis_detail

TEMPLATES = Path(__file__).with_name("templates")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
Embed = Annotated[bool, Query(description="1: the view without site chrome, for iframes")]
Top = Annotated[int | None, Query(ge=1, le=100, description="how many hypotheses (default wiki.top)")]

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
    return env


def create_app(url: str, settings: WikiSettings | None = None, *, demo: Demo | None = None) -> FastAPI:
    """The app over the database at `url` (opened, and migrated, when the app starts; closed when it stops)."""
    wiki = settings or WikiSettings()
    demo = demo or Demo()
    env = templates()
    state: dict[str, sessionmaker[Session]] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["sessions"] = open_store(url)
        try:
            yield
        finally:
            state.pop("sessions").kw["bind"].dispose()

    app = FastAPI(title="hypodebate", summary="Scored hypotheses on wiki pages (read-only).", lifespan=lifespan)

    def session() -> Session:
        return state["sessions"]()

    def html(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
        body = env.get_template(name).render(demo=demo, **context)
        return HTMLResponse(body, status_code=status_code, headers={"Content-Security-Policy": CSP})

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return html("error.html.j2", exc.status_code, embed=False, status=exc.status_code, message=str(exc.detail))

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(status_code=307, headers={"location": "/exchange"})

    @app.get("/exchange", response_class=HTMLResponse, summary="All hypotheses ranked by score")
    def exchange_view(
        limit: Annotated[int, Query(ge=1, le=1000)] = 200, offset: Annotated[int, Query(ge=0)] = 0
    ) -> HTMLResponse:
        with session() as s:
            rows, total = exchange(s, limit=limit, offset=offset)
            return html("exchange.html.j2", embed=False, rows=rows, total=total, offset=offset, limit=limit)

    def load_page(s: Session, slug: str) -> PageRow:
        page = s.get(PageRow, slug)
        if page is None:
            raise HTTPException(404, f"no wiki page {slug!r}")
        return page

    def related(s: Session, page: PageRow, top: int | None) -> list[RelatedHypothesis]:
        found = related_for_page(s, page, top=top or wiki.top, min_score=wiki.min_score, min_debates=wiki.min_debates)
        return [
            RelatedHypothesis(
                id=r.id,
                title=r.title,
                target_label=r.target_label,
                score=r.score,
                spread=r.spread,
                debates=r.debates,
                url=f"/hypothesis/{r.id}",
            )
            for r in found
        ]

    @app.get("/wiki/{slug}", response_class=HTMLResponse, summary="A wiki page and its related hypotheses")
    def page_view(slug: str, embed: Embed = False, top: Top = None) -> HTMLResponse:
        with session() as s:
            page = load_page(s, slug)
            body = render_markdown(strip_block(page.markdown))
            return html("page.html.j2", embed=embed, page=page, body=body, related=related(s, page, top))

    @app.get("/hypothesis/{hypothesis_id}", response_class=HTMLResponse, summary="A hypothesis and its debates")
    def hypothesis_view(hypothesis_id: str, embed: Embed = False) -> HTMLResponse:
        with session() as s:
            h = s.get(HypothesisRow, hypothesis_id)
            if h is None:
                raise HTTPException(404, f"no hypothesis {hypothesis_id!r}")
            detail = hypothesis_detail(s, h, demo)
            debates = [debate_detail(s, d.id) for d in detail.debates]
            return html("hypothesis.html.j2", embed=embed, h=detail, debates=[d for d in debates if d])

    @app.get("/debates/{debate_id}", response_class=HTMLResponse, summary="One debate's transcript and verdicts")
    def debate_view(debate_id: str, embed: Embed = False) -> HTMLResponse:
        with session() as s:
            found = debate_detail(s, debate_id)
            if found is None:
                raise HTTPException(404, f"no debate {debate_id!r}")
            debate, hypothesis, score = found
            return html(
                "debate.html.j2",
                embed=embed,
                d=debate,
                h=hypothesis,
                score=score,
                demo_used=demo.applies(debate.models),
            )

    @app.get("/api/pages/{slug}/related", summary="A page's related hypotheses, best first")
    def related_api(slug: str, top: Annotated[int, Query(ge=1, le=100)] = 8) -> RelatedResponse:
        with session() as s:
            page = load_page(s, slug)
            return RelatedResponse(
                slug=page.slug, title=page.title, entities=list(page.entities), hypotheses=related(s, page, top)
            )

    @app.get("/api/hypotheses/{hypothesis_id}", summary="A hypothesis, its score by dimension and its debates")
    def hypothesis_api(hypothesis_id: str) -> HypothesisResponse:
        with session() as s:
            h = s.get(HypothesisRow, hypothesis_id)
            if h is None:
                raise HTTPException(404, f"no hypothesis {hypothesis_id!r}")
            return hypothesis_detail(s, h, demo)

    return app
