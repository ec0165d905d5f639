"""The read-only web app: exchange, wiki pages with their related hypotheses, hypotheses, debates, JSON API.

Every value reaches HTML through a Jinja environment with autoescape on; page Markdown is rendered
by markdown-it with raw HTML off (it shows as text) and its default link validation (no
`javascript:`, `vbscript:`, `file:` or `data:` links). No page runs a script: the CSP forbids them, and the
app serves no interactive docs (`/docs`, `/redoc` load scripts from a CDN); the schema is at `/openapi.json`.
Every answer carries the headers of wiki/security.py, a server error's plain 500 too (Starlette answers those
outside the middleware); a request for a Host not allowed is answered 400. An id or slug in a path that is not
of its form (a NUL byte, which PostgreSQL refuses in a query, a wrong prefix, too long) is a 404 before any query.

`create_app` assembles the app: its store and settings (on `app.state`), middleware, error handlers, and the
routers of wiki/routes (HTML pages, JSON API).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from store.engine import open_store
from wiki.routes import api, pages
from wiki.routes.common import html
from wiki.security import HEADERS, SecurityHeaders
from wiki.settings import WikiSettings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The store at `app.state.url`, open (and migrated) while the app runs, as `app.state.sessions`."""
    app.state.sessions = open_store(app.state.url)
    try:
        yield
    finally:
        app.state.sessions.close()
        del app.state.sessions


async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
    """An HTTP error (404, 422...) as JSON under /api/, else as the error page."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return html("error.html.j2", exc.status_code, embed=False, status=exc.status_code, message=str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    """A plain 500 with the headers; the traceback goes to the server's log (Starlette re-raises), never
    into the answer."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500, headers=HEADERS)
    return PlainTextResponse("Internal Server Error", status_code=500, headers=HEADERS)


def create_app(
    url: str, settings: WikiSettings | None = None, *, allowed_hosts: Sequence[str] | None = None
) -> FastAPI:
    """The app over the database at `url` (opened, and migrated, when the app starts; closed when it stops).

    It answers requests whose Host header is one of `allowed_hosts` (default: wiki.allowed_hosts)."""
    wiki = settings or WikiSettings()
    app = FastAPI(
        title="hypodebate",
        summary="Scored hypotheses on wiki pages (read-only).",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: no page of this app runs a script
        redoc_url=None,
    )
    app.state.url = url
    app.state.wiki = wiki
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or wiki.allowed_hosts))
    app.add_middleware(SecurityHeaders)  # added last, so outermost: the Host check's 400 carries the headers too
    app.add_exception_handler(StarletteHTTPException, not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, server_error)
    app.include_router(pages.router)
    app.include_router(api.router)
    return app
