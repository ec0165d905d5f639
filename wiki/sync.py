"""Import page files into the store, and write each page's Related Hypotheses block back into its file."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store.models import PageRow
from store.pages import known_targets, upsert_page
from wiki.block import render_block, splice
from wiki.entities import entities_in, refresh_links
from wiki.errors import MarkerError, PageError
from wiki.pages import ParsedPage, read_page, strip_block
from wiki.related import RelatedBlock, related_for_page
from wiki.settings import WikiSettings


@dataclass(frozen=True)
class Imported:
    path: Path
    slug: str
    title: str
    new: bool
    entities: list[str]


@dataclass(frozen=True)
class Attached:
    path: Path
    slug: str
    related: RelatedBlock
    changed: bool
    diff: str


def page_entities(page: ParsedPage, targets: set[str]) -> list[str]:
    """Front-matter entities plus the diseases and known gene symbols named in the page's own text."""
    return sorted(set(page.entities) | entities_in(strip_block(page.markdown), targets))


def import_pages(sessions: sessionmaker[Session], paths: Sequence[Path]) -> list[Imported]:
    """Parse every file first (nothing is stored if one is bad), then upsert pages and refresh all links."""
    parsed = _parse_all(paths)
    results: list[Imported] = []
    with sessions() as session:
        targets = known_targets(session)
        for page in parsed:
            entities = page_entities(page, targets)
            new = upsert_page(
                session,
                slug=page.slug,
                title=page.title,
                entity_type=page.entity_type,
                entities=entities,
                source_path=str(page.path.resolve()),
                markdown=page.markdown,
            )
            results.append(Imported(page.path, page.slug, page.title, new, entities))
        refresh_links(session)
        session.commit()
    return results


def attach_pages(
    sessions: sessionmaker[Session],
    paths: Sequence[Path],
    settings: WikiSettings,
    *,
    top: int | None = None,
    scoreboard: str | None = None,
    dry_run: bool = False,
) -> list[Attached]:
    """Write the block into each page file (`paths`, or every imported page when empty). Idempotent.

    Each block ranks one scoreboard: `scoreboard`, else `wiki.scoreboard`, else the page's scoreboard with
    the most completed debates among its hypotheses."""
    if not paths:
        with sessions() as session:
            paths = [Path(p) for p in session.scalars(select(PageRow.source_path).order_by(PageRow.slug))]
        if not paths:
            raise PageError("no pages imported yet: run `hypodebate pages import PATH...` first")
    imported = import_pages(sessions, paths)
    results: list[Attached] = []
    with sessions() as session:
        for item in imported:
            page = session.get_one(PageRow, item.slug)
            related = related_for_page(
                session,
                page,
                top=top or settings.top,
                scoreboard=scoreboard or settings.scoreboard,
                min_score=settings.min_score,
                min_debates=settings.min_debates,
            )
            before = item.path.read_bytes().decode("utf-8")
            style = "markdown" if before.startswith("---") else "dump"
            try:
                after = splice(before, render_block(related.hypotheses, style, related.board))
            except MarkerError as exc:
                raise MarkerError(f"{item.path}: {exc}") from None
            diff = "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=str(item.path),
                    tofile=str(item.path),
                )
            )
            if after != before and not dry_run:
                write_atomic(item.path, after)
            results.append(Attached(item.path, item.slug, related, after != before, diff))
    return results


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8, bytes as given) through a temporary file in the same folder."""
    mode = path.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _parse_all(paths: Sequence[Path]) -> list[ParsedPage]:
    parsed = [read_page(Path(p)) for p in paths]
    seen: dict[str, Path] = {}
    for page in parsed:
        if page.slug in seen and seen[page.slug].resolve() != page.path.resolve():
            raise PageError(f"{page.path}: slug: {page.slug!r} is also the slug of {seen[page.slug]}")
        seen[page.slug] = page.path
    return parsed
