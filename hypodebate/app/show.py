"""The hypothesis `hypodebate show` prints: its id checked, then looked up."""

from __future__ import annotations

from sqlalchemy.orm import Session

from debates.hypotheses import HYPOTHESIS_ID
from safeio.errors import NotFound
from safeio.text import display_url
from store import debates
from store.models import HypothesisRow


def check_id(hypothesis_id: str) -> None:
    """NotFound unless `hypothesis_id` has the form of one (h- and 8 lowercase hex digits)."""
    if not HYPOTHESIS_ID.fullmatch(hypothesis_id):
        raise NotFound(f"{hypothesis_id!r}: not a hypothesis id (expected 'h-' and 8 lowercase hex digits)")


def find_hypothesis(session: Session, hypothesis_id: str, url: str) -> HypothesisRow:
    """The hypothesis `hypothesis_id` in the database at `url` (named, password hidden, when it is not there)."""
    check_id(hypothesis_id)
    h = debates.hypothesis(session, hypothesis_id)
    if h is None:
        raise NotFound(f"{hypothesis_id}: no such hypothesis in {display_url(url)}")
    return h
