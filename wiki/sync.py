"""Import page files into the store, and write each page's Related Hypotheses block back into its file.

Every page lives under one root folder (`--root`, else `wiki.pages_dir`). Import stores each page's path
relative to that root; attach joins a stored path to the root again and refuses one that leaves it (an
absolute path elsewhere, a `..` component: a shared database is not trusted to name files), a symbolic
link anywhere below the root, anything but a regular file, and a page over `MAX_PAGE_BYTES`. A file is
only replaced if it is still the file that was read, and a slug imported from one file is not taken over
by another file unless asked (`replace`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session, sessionmaker

from safeio.files import (
    FileSafetyError,
    FileStamp,
    UnsafePathError,
    contained,
    read_under,
    relative_under,
    write_atomic,
)
from store.lineage import replace_gaps
from store.models import PageRow
from store.pages import known_targets, page_sources, upsert_page
from wiki.block import render_block, splice
from wiki.entities import entities_in, refresh_links
from wiki.errors import MarkerError, PageError, WikiError
from wiki.pages import MAX_PAGE_BYTES, ParsedPage, on_file_lines, parse_page, strip_block
from wiki.related import RelatedBlock, related_for_page
from wiki.settings import WikiSettings


@dataclass(frozen=True)
class Imported:
    path: Path  # the root joined with `source`
    source: str  # as stored: relative to the pages root
    slug: str
    title: str
    new: bool
    entities: list[str]
    gaps: tuple[str, ...] = ()  # the ids of its "Related Analyses" gaps (g-...), in page order


@dataclass(frozen=True)
class _Read:
    """One page file as read: its bytes decoded, and the stamp a later write is checked against."""

    path: Path
    source: PurePosixPath
    text: str
    stamp: FileStamp
    page: ParsedPage


@dataclass(frozen=True)
class PageText:
    """A page as read, for a check before import: its file, its slug, and its Markdown laid on the file's lines
    (a line number found in it is the file's)."""

    path: Path
    slug: str
    markdown: str


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


def import_pages(
    sessions: sessionmaker[Session],
    paths: Sequence[Path],
    *,
    root: Path,
    replace: bool = False,
    check: Callable[[PageText], None] | None = None,
) -> list[Imported]:
    """Parse every file under `root` first, and pass each page to `check` (which raises to refuse the import):
    nothing is stored if one is bad. Then upsert pages (and their "Related Analyses" gaps: a gap no longer listed
    is removed, one still listed keeps its id) and refresh all links. A slug already imported from
    another file is refused unless `replace`."""
    reads = [_read(root, source) for source in _sources_of(root, paths)]
    if check is not None:
        for read in reads:
            check(PageText(read.path, read.page.slug, on_file_lines(read.page, read.text)))
    with sessions() as session:
        results = _store(session, root, reads, replace=replace)
        session.commit()
    return results


def attach_pages(
    sessions: sessionmaker[Session],
    paths: Sequence[Path],
    settings: WikiSettings,
    *,
    root: Path,
    top: int | None = None,
    scoreboard: str | None = None,
    dry_run: bool = False,
) -> list[Attached]:
    """Write the block into each page file (`paths`, or every imported page when empty), all under `root`.
    Idempotent.

    Each block ranks one scoreboard: `scoreboard`, else `wiki.scoreboard`, else the page's scoreboard with
    the most completed debates among its hypotheses; in the order `wiki.rank_by` says (wiki.related)."""
    _check_root(root)
    if paths:
        sources = _sources_of(root, paths)
    else:
        with sessions() as session:
            stored = page_sources(session)
        if not stored:
            raise PageError("no pages imported yet: run `hypodebate pages import PATH...` first")
        sources = [_stored_source(root, slug, source) for slug, source in stored.items()]
    reads = [_read(root, source) for source in dict.fromkeys(sources)]
    results: list[Attached] = []
    with sessions() as session:
        imported = _store(session, root, reads, replace=False)
        session.commit()
        for read, item in zip(reads, imported, strict=True):
            page = session.get_one(PageRow, item.slug)
            related = related_for_page(
                session,
                page,
                top=top or settings.top,
                scoreboard=scoreboard or settings.scoreboard,
                min_score=settings.min_score,
                min_debates=settings.min_debates,
                rank_by=settings.rank_by,
            )
            before = read.text
            style = "markdown" if before.startswith("---") else "dump"
            try:
                after = splice(before, render_block(related.hypotheses, style, related.board, related.ordered_by))
            except MarkerError as exc:
                raise MarkerError(f"{read.path}: {exc}") from None
            diff = "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=str(read.path),
                    tofile=str(read.path),
                )
            )
            if after != before and not dry_run:
                try:
                    write_atomic(read.path, after, expect=read.stamp)
                except FileSafetyError as exc:
                    raise WikiError(str(exc)) from None
            results.append(Attached(read.path, item.slug, related, after != before, diff))
    return results


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise WikiError(f"{root}: the pages root is not a folder (expected --root or wiki.pages_dir to name one)")


def _sources_of(root: Path, paths: Sequence[Path]) -> list[PurePosixPath]:
    """Paths given by the user, as paths relative to the root; one outside it is refused."""
    _check_root(root)
    sources: list[PurePosixPath] = []
    for path in paths:
        try:
            sources.append(relative_under(root, Path(path)))
        except UnsafePathError:
            raise PageError(
                f"{path}: outside the pages root {root}: pages are read and written only under it "
                "(expected a file under --root or wiki.pages_dir)"
            ) from None
    return sources


def _stored_source(root: Path, slug: str, stored: str) -> PurePosixPath:
    """A stored path, which anyone who can write the database chose, joined to the root only if it stays there."""
    try:
        return contained(root, stored)
    except UnsafePathError:
        raise WikiError(
            f"page {slug}: stored path {stored!r} is outside the pages root {root}; nothing written "
            "(expected a path relative to the root: import the page again from under the root)"
        ) from None


def _read(root: Path, source: PurePosixPath) -> _Read:
    try:
        data, stamp = read_under(root, source, limit=MAX_PAGE_BYTES)
    except UnsafePathError as exc:
        raise PageError(str(exc)) from None
    path = root / source
    page = parse_page(path, data)
    return _Read(path, source, data.decode("utf-8"), stamp, page)


def _store(session: Session, root: Path, reads: Sequence[_Read], *, replace: bool) -> list[Imported]:
    _check_slugs(session, root, reads, replace=replace)
    targets = known_targets(session)
    results: list[Imported] = []
    for read in reads:
        page = read.page
        entities = page_entities(page, targets)
        new = upsert_page(
            session,
            slug=page.slug,
            title=page.title,
            entity_type=page.entity_type,
            entities=entities,
            source_path=read.source.as_posix(),
            markdown=page.markdown,
        )
        gaps = tuple(g.id for g in replace_gaps(session, page.slug, page.gaps))
        results.append(Imported(read.path, read.source.as_posix(), page.slug, page.title, new, entities, gaps))
    refresh_links(session)
    return results


def _check_slugs(session: Session, root: Path, reads: Sequence[_Read], *, replace: bool) -> None:
    """One file per slug: in this import, and (unless `replace`) against the file a slug was imported from."""
    seen: dict[str, _Read] = {}
    for read in reads:
        other = seen.setdefault(read.page.slug, read)
        if other.source != read.source:
            raise PageError(f"{read.path}: slug: {read.page.slug!r} is also the slug of {other.path}")
    if replace:
        return
    for slug, stored in page_sources(session, seen).items():
        read = seen[slug]
        try:
            same = contained(root, stored) == read.source  # an absolute path under the root is the same file
        except UnsafePathError:
            same = False
        if not same:
            where = root / stored if not PurePosixPath(stored).is_absolute() else Path(stored)
            raise PageError(
                f"{read.path}: slug: {slug!r} was imported from {where}; a second file does not take the page "
                "over (expected a new slug, or --replace to move the page to this file)"
            )
