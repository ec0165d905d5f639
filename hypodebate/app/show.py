"""What `hypodebate show` prints: a hypothesis (its id checked, then looked up), a page with its gaps, or one gap."""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy.orm import Session

from debates.hypotheses import HYPOTHESIS_ID
from safeio.errors import NotFound
from safeio.text import display_url
from store import debates
from store import pages as stored_pages
from store.lineage import gaps_by_id
from store.models import GapRow, HypothesisRow, PageRow

GAP_ID = re.compile(r"g-[0-9a-f]{8}")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,199}")
Shown = Literal["hypothesis", "gap", "page"]


def check_id(hypothesis_id: str) -> None:
    """NotFound unless `hypothesis_id` has the form of one (h- and 8 lowercase hex digits)."""
    if not HYPOTHESIS_ID.fullmatch(hypothesis_id):
        raise NotFound(f"{hypothesis_id!r}: not a hypothesis id (expected 'h-' and 8 lowercase hex digits)")


def kind_of(name: str) -> Shown:
    """What `name` names by its form: a hypothesis (h-2600483e), a gap (g-1a2b3c4d) or a page slug; NotFound for
    anything else (checked before the database is opened)."""
    if HYPOTHESIS_ID.fullmatch(name):
        return "hypothesis"
    if GAP_ID.fullmatch(name):
        return "gap"
    if SLUG.fullmatch(name):
        return "page"
    raise NotFound(
        f"{name!r}: not a hypothesis id ('h-' and 8 lowercase hex digits), a gap id ('g-' and 8) or a page slug "
        "(lower-case letters, digits, '-' and '_')"
    )


def find_hypothesis(session: Session, hypothesis_id: str, url: str) -> HypothesisRow:
    """The hypothesis `hypothesis_id` in the database at `url` (named, password hidden, when it is not there)."""
    check_id(hypothesis_id)
    h = debates.hypothesis(session, hypothesis_id)
    if h is None:
        raise NotFound(f"{hypothesis_id}: no such hypothesis in {display_url(url)}")
    return h


def find_page(session: Session, slug: str, url: str) -> PageRow:
    """The imported page `slug` (NotFound, naming the database, when it is not there)."""
    page = stored_pages.page(session, slug)
    if page is None:
        raise NotFound(
            f"{slug}: no such page in {display_url(url)} (expected a slug that `hypodebate pages import` stored)"
        )
    return page


def find_gap(session: Session, gap_id: str, url: str) -> GapRow:
    """The gap `gap_id` (NotFound when no imported page lists it now)."""
    gap = gaps_by_id(session, [gap_id]).get(gap_id)
    if gap is None:
        raise NotFound(f"{gap_id}: no such gap in {display_url(url)} (a page's gaps are listed by `show SLUG`)")
    return gap
