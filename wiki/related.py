"""A page's related-hypotheses blocks: which scoreboards a page shows (the chosen or busiest first) and the
ranked hypotheses on each (the queries live in store/related.py)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from store.models import PageRow
from store.rankings import Board, board
from store.related import Related, entity_boards, newest_score_change, related_for_entities
from wiki.entities import page_id


@dataclass(frozen=True)
class RelatedBlock:
    """One scoreboard's related hypotheses of a page (board None: nothing on this page is scored yet)."""

    board: Board | None
    hypotheses: list[Related]


# (database, entities, newest score) -> the page's scoreboards and their counts: counting a page's debates per
# scoreboard walks every linked hypothesis (about 20 ms for 15,000), so it is done again only when a score changed.
_COUNTS: OrderedDict[tuple[str, tuple[str, ...], object], list[tuple[str, int, int]]] = OrderedDict()
_COUNTS_MAX = 1024


def page_boards(session: Session, entities: Iterable[str]) -> list[Board]:
    """The scoreboards holding scores of hypotheses linked to `entities`, most completed debates first."""
    wanted = tuple(sorted(set(entities)))
    if not wanted:
        return []
    newest = newest_score_change(session)
    key = (session.get_bind().url.render_as_string(hide_password=True), wanted, newest)
    counts = _COUNTS.get(key)
    if counts is None:
        counts = [(b.id, b.debates, b.hypotheses) for b in entity_boards(session, wanted)]
        _COUNTS[key] = counts
        if len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.popitem(last=False)
    _COUNTS.move_to_end(key)
    boards = []
    for board_id, debates, hypotheses in counts:
        found = board(session, board_id)  # its row as it is now (a demo flag may have changed)
        if found is not None:
            boards.append(replace(found, debates=debates, hypotheses=hypotheses))
    return boards


def pick_board(session: Session, entities: Iterable[str], wanted: str | None) -> Board | None:
    """`wanted` (wiki.scoreboard) when set, else the scoreboard with the most debates among the page's hypotheses."""
    if wanted:
        return board(session, wanted)
    boards = page_boards(session, entities)
    return boards[0] if boards else None


def page_entities(page: PageRow) -> list[str]:
    """What a page links through: its entities and itself (hypotheses that list its slug in `pages`)."""
    return [*page.entities, page_id(page.slug)]


def related_for_page(
    session: Session,
    page: PageRow,
    *,
    top: int,
    scoreboard: str | None = None,
    min_score: float = 0.0,
    min_debates: int = 1,
) -> RelatedBlock:
    """The page's block on `scoreboard` (or the page's default scoreboard)."""
    entities = page_entities(page)
    chosen = pick_board(session, entities, scoreboard)
    if chosen is None:
        return RelatedBlock(None, [])
    found = related_for_entities(session, entities, chosen.id, top=top, min_score=min_score, min_debates=min_debates)
    return RelatedBlock(chosen, found)


def related_blocks(
    session: Session,
    page: PageRow,
    *,
    top: int,
    scoreboard: str | None = None,
    min_score: float = 0.0,
    min_debates: int = 1,
) -> list[RelatedBlock]:
    """One block per scoreboard that scores this page's hypotheses, the chosen (or default) one first."""
    entities = page_entities(page)
    first = related_for_page(
        session, page, top=top, scoreboard=scoreboard, min_score=min_score, min_debates=min_debates
    )
    blocks = [first]
    for other in page_boards(session, entities):
        if first.board is not None and other.id == first.board.id:
            continue
        found = related_for_entities(session, entities, other.id, top=top, min_score=min_score, min_debates=min_debates)
        blocks.append(RelatedBlock(other, found))
    return blocks
