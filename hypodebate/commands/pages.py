"""`hypodebate pages import|attach` and `hypodebate serve`: the terminal side of the wiki part."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from hypodebate.config import Settings
from store.engine import open_store
from wiki.sync import attach_pages, import_pages


def import_command(paths: list[Path], url: str, *, out: Console, err: Console) -> int:
    sessions = open_store(url)
    try:
        results = import_pages(sessions, paths)
    finally:
        sessions.kw["bind"].dispose()
    for r in results:
        verb = "imported" if r.new else "updated"
        out.print(f"{verb} {r.slug}  {escape(r.title)}  ({len(r.entities)} entities)", highlight=False)
    err.print(f"{len(results)} page(s) imported into {url}", highlight=False)
    return 0


def attach_command(
    paths: list[Path],
    url: str,
    settings: Settings,
    *,
    top: int | None,
    dry_run: bool,
    out: Console,
    err: Console,
    scoreboard: str | None = None,
) -> int:
    sessions = open_store(url)
    try:
        results = attach_pages(sessions, paths, settings.wiki, top=top, scoreboard=scoreboard, dry_run=dry_run)
    finally:
        sessions.kw["bind"].dispose()
    changed = 0
    for r in results:
        changed += r.changed
        if dry_run:
            if r.diff:
                out.out(r.diff, end="", highlight=False)
        else:
            state = "updated" if r.changed else "unchanged"
            board = r.related.board.id if r.related.board else "no scoreboard yet"
            out.print(f"{state} {r.path}  ({len(r.related.hypotheses)} related hypotheses, {board})", highlight=False)
    verb = "would change" if dry_run else "changed"
    err.print(f"{len(results)} page(s), {changed} {verb}", highlight=False)
    return 0


def serve_command(url: str, settings: Settings, *, host: str, port: int) -> int:
    import uvicorn

    from wiki.app import create_app

    open_store(url).kw["bind"].dispose()  # a bad URL or database fails here, as one clear line
    app = create_app(url, settings.wiki)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
