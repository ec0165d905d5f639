"""`hypodebate pages import|attach` and `hypodebate serve`: the terminal side of the wiki part."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from rich.console import Console

from hypodebate.app.pages import attach, import_pages_with_references, is_loopback, web_app
from hypodebate.app.workspace import Workspace
from hypodebate.terminal import shown
from safeio.text import SafeLogFormatter, display_url, safe_text


def import_command(
    ws: Workspace, paths: list[Path], *, root: Path | None, replace: bool = False, out: Console, err: Console
) -> int:
    """Every page and its References section are read and checked before anything is stored: a bad one fails the
    command with one line naming its file, and the database is left as it was. `root`: default wiki.pages_dir."""
    with ws:
        folder = root or ws.settings.wiki.pages_dir
        results, references = import_pages_with_references(ws, paths, root=folder, replace=replace)
    for r in results:
        verb = "imported" if r.new else "updated"
        gaps = f"{len(r.gaps)} gap{'' if len(r.gaps) == 1 else 's'}"
        out.print(f"{verb} {shown(r.slug)}  {shown(r.title)}  ({len(r.entities)} entities, {gaps})", highlight=False)
    gaps = sum(len(r.gaps) for r in results)
    if gaps:
        err.print(
            f"{gaps} gap(s) read from the pages' Related Analyses: `hypodebate show SLUG` lists them with their ids",
            highlight=False,
        )
    if references:
        err.print(f"{references} bibliography entries read from the pages' References sections", highlight=False)
    err.print(f"{len(results)} page(s) imported into {shown(display_url(ws.url))}", highlight=False)
    return 0


def attach_command(
    ws: Workspace,
    paths: list[Path],
    *,
    top: int | None,
    dry_run: bool,
    scoreboard: str | None,
    root: Path | None,
    out: Console,
    err: Console,
) -> int:
    """Write (or with `dry_run`, print as a diff) each page's Related Hypotheses block."""
    with ws:
        results = attach(ws, paths, top=top, dry_run=dry_run, scoreboard=scoreboard, root=root)
    changed = 0
    for r in results:
        changed += r.changed
        if dry_run:
            if r.diff:
                out.out(safe_text(r.diff), end="", highlight=False)
        else:
            state = "updated" if r.changed else "unchanged"
            board = r.related.board.id if r.related.board else "no scoreboard yet"
            related = f"{len(r.related.hypotheses)} related hypotheses, {shown(board)}"
            out.print(f"{state} {shown(r.path)}  ({related})", highlight=False)
    verb = "would change" if dry_run else "changed"
    err.print(f"{len(results)} page(s), {changed} {verb}", highlight=False)
    return 0


def serve_command(ws: Workspace, *, host: str, port: int, allowed_hosts: list[str], err: Console) -> int:
    """Serve the web app on `host:port`. Requests must name the bound host, an allowed host
    (wiki.allowed_hosts, --allowed-host) or localhost: a DNS-rebinding page cannot read the app."""
    import uvicorn

    with ws:
        app, hosts = web_app(ws, host, allowed_hosts)
    if not is_loopback(host):
        err.print(
            f"[yellow]warning:[/yellow] serving on {shown(host)}, not a loopback address: anyone who can reach "
            f"this machine can read every hypothesis and debate (requests must name one of: {shown(', '.join(hosts))})",
            highlight=False,
            soft_wrap=True,
        )
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=serve_log_config())
    return 0


def serve_log_config() -> dict[str, Any]:
    """uvicorn's logging with every line through `SafeLogFormatter`: a request line or an exception's text is
    untrusted, and reaches the server's log without an escape sequence or a password."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for name in config["formatters"]:
        config["formatters"][name] = {"()": SafeLogFormatter, "fmt": "%(levelname)s: %(message)s"}
    return config
