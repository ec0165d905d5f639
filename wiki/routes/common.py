"""What every route shares: the app's store and wiki settings (as dependencies), the HTML answer, the forms of
the ids and slugs a path names, the query parameters, and the loads that 404.

The app (wiki.app) puts its store and settings on `app.state`; a route reaches them through `Store` and `Wiki`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from safeio.templating import environment
from scoring.measured import FILTERS
from scoring.rubric import Rubric
from store import debates as stored
from store import pages as stored_pages
from store.models import HypothesisRow, PageRow
from wiki.block import colour
from wiki.related import Choice, PageRatings, RelatedBlock, related_blocks
from wiki.security import CSP
from wiki.settings import WikiSettings
from wiki.views import DEMO_WARNING

TEMPLATES = Path(__file__).parent.parent / "templates"
MAX_OFFSET = 1_000_000  # past any real list; a larger offset is a 422, not a slow query
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

ENV = environment(
    TEMPLATES,
    filters={
        **FILTERS,
        "colour": colour,
        "dimension": Rubric.label,
        "rating": lambda r: f"{r.rating:.0f} [{r.lo:.0f}, {r.hi:.0f}]",
        "percent": lambda v: "—" if v is None else f"{100 * v:.1f}%",
    },
)
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


async def _store(request: Request) -> sessionmaker[Session]:
    """The sessions of the app's store (wiki.app's lifespan opens it)."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def _wiki(request: Request) -> WikiSettings:
    """The wiki settings the app was created with."""
    wiki: WikiSettings = request.app.state.wiki
    return wiki


Store = Annotated[sessionmaker[Session], Depends(_store)]  # the app's database, opened when the app started
Wiki = Annotated[WikiSettings, Depends(_wiki)]  # the app's wiki settings


@functools.lru_cache(maxsize=256)
def render_markdown(text: str) -> Markup:
    """A page's Markdown as HTML: text escaped, raw HTML shown as text, unsafe links dropped (cached)."""
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it escapes text and drops raw HTML (html=False)


def html(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """The template `name` rendered with `context`, under the pages' Content-Security-Policy."""
    body = ENV.get_template(name).render(demo_warning=DEMO_WARNING, **context)
    return HTMLResponse(body, status_code=status_code, headers={"Content-Security-Policy": CSP})


def load_page(s: Session, slug: str) -> PageRow:
    """The page `slug`; a 404 when there is none, or when `slug` is not of a slug's form (before any query)."""
    page = stored_pages.page(s, slug) if SLUG.fullmatch(slug) else None
    if page is None:
        raise HTTPException(404, f"no wiki page {slug!r}")
    return page


def load_hypothesis(s: Session, hypothesis_id: str) -> HypothesisRow:
    """The hypothesis `hypothesis_id`; a 404 when there is none, or when the id is not of its form."""
    h = stored.hypothesis(s, hypothesis_id) if HYPOTHESIS_ID.fullmatch(hypothesis_id) else None
    if h is None:
        raise HTTPException(404, f"no hypothesis {hypothesis_id!r}")
    return h


def blocks(
    s: Session, page: PageRow, choice: Choice, asked: str | None, ratings: PageRatings | None
) -> list[RelatedBlock]:
    """The page's blocks as `choice` says; a 404 when the scoreboard `asked` for scores nothing here."""
    found = related_blocks(s, page, choice, ratings)
    if asked and found[0].board is None:
        raise HTTPException(404, f"no scoreboard {asked!r}")
    return found
