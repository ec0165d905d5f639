"""`hypodebate pages import|attach` and `hypodebate serve`: the terminal side of the wiki part."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

from rich.console import Console

from hypodebate.config import Settings
from hypodebate.evidence_api import import_pages_with_references
from hypodebate.terminal import shown
from safeio.text import SafeLogFormatter, display_url, safe_text
from store.engine import open_store
from wiki.sync import attach_pages


def import_command(
    paths: list[Path], url: str, *, root: Path, replace: bool = False, out: Console, err: Console
) -> int:
    """Every page and its References section are read and checked before anything is stored: a bad one fails the
    command with one line naming its file, and the database is left as it was."""
    sessions = open_store(url)
    try:
        results, references = import_pages_with_references(sessions, paths, root=root, replace=replace)
    finally:
        sessions.close()
    for r in results:
        verb = "imported" if r.new else "updated"
        out.print(f"{verb} {shown(r.slug)}  {shown(r.title)}  ({len(r.entities)} entities)", highlight=False)
    if references:
        err.print(f"{references} bibliography entries read from the pages' References sections", highlight=False)
    err.print(f"{len(results)} page(s) imported into {shown(display_url(url))}", highlight=False)
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
    root: Path | None = None,
) -> int:
    sessions = open_store(url)
    try:
        results = attach_pages(
            sessions,
            paths,
            settings.wiki,
            root=root or settings.wiki.pages_dir,
            top=top,
            scoreboard=scoreboard,
            dry_run=dry_run,
        )
    finally:
        sessions.close()
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


def serve_command(
    url: str,
    settings: Settings,
    *,
    host: str,
    port: int,
    allowed_hosts: list[str] | None = None,
    err: Console | None = None,
) -> int:
    """Serve the web app on `host:port`. Requests must name the bound host, an allowed host
    (wiki.allowed_hosts, --allowed-host) or localhost: a DNS-rebinding page cannot read the app."""
    import uvicorn

    from wiki.app import create_app

    open_store(url).close()  # a bad URL or database fails here, as one clear line
    hosts = serving_hosts(host, [*settings.wiki.allowed_hosts, *(allowed_hosts or [])])
    if not is_loopback(host) and err is not None:
        err.print(
            f"[yellow]warning:[/yellow] serving on {shown(host)}, not a loopback address: anyone who can reach "
            f"this machine can read every hypothesis and debate (requests must name one of: {shown(', '.join(hosts))})",
            highlight=False,
            soft_wrap=True,
        )
    app = create_app(url, settings.wiki, allowed_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=serve_log_config())
    return 0


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for 0.0.0.0 and anything else."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_hosts(host: str, allowed: list[str]) -> list[str]:
    """The Host header values the app accepts: the bound host (unless it is a wildcard address), then `allowed`."""
    wildcard = host.strip("[]") in {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound
    hosts = ([] if wildcard else [host]) + allowed
    return list(dict.fromkeys(hosts))


def serve_log_config() -> dict[str, Any]:
    """uvicorn's logging with every line through `SafeLogFormatter`: a request line or an exception's text is
    untrusted, and reaches the server's log without an escape sequence or a password."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for name in config["formatters"]:
        config["formatters"][name] = {"()": SafeLogFormatter, "fmt": "%(levelname)s: %(message)s"}
    return config
