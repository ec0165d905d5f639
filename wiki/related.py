"""A page's related hypotheses: one query over the entity links and one scoreboard's scores, ranked by score,
then debates, then id. Scores from different scoreboards are never ranked together."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from store.models import HypothesisRow, HypothesisScoreRow, LinkRow, PageRow
from store.rankings import Board, board, linked_boards
from wiki.entities import page_id


@dataclass(frozen=True)
class Related:
    id: str
    title: str
    target_label: str
    score: float
    lo: float | None
    hi: float | None
    interval: str
    debates: int
    verdicts: int


@dataclass(frozen=True)
class RelatedBlock:
    """One scoreboard's related hypotheses of a page (board None: nothing on this page is scored yet)."""

    board: Board | None
    hypotheses: list[Related]


def _linked(entities: Iterable[str]) -> Select[tuple[str]]:
    return select(LinkRow.hypothesis_id).where(LinkRow.entity.in_(sorted(set(entities))))


# (database, entities, newest score) -> the page's scoreboards and their counts: counting a page's debates per
# scoreboard walks every linked hypothesis (about 20 ms for 15,000), so it is done again only when a score changed.
_COUNTS: OrderedDict[tuple[str, tuple[str, ...], object], list[tuple[str, int, int]]] = OrderedDict()
_COUNTS_MAX = 1024


def page_boards(session: Session, entities: Iterable[str]) -> list[Board]:
    """The scoreboards holding scores of hypotheses linked to `entities`, most completed debates first."""
    wanted = tuple(sorted(set(entities)))
    if not wanted:
        return []
    newest = session.scalar(select(func.max(HypothesisScoreRow.updated_at)))
    key = (session.get_bind().url.render_as_string(hide_password=True), wanted, newest)
    counts = _COUNTS.get(key)
    if counts is None:
        counts = [(b.id, b.debates, b.hypotheses) for b in linked_boards(session, _linked(wanted))]
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


def related_for_entities(
    session: Session,
    entities: Iterable[str],
    board_id: str,
    *,
    top: int,
    min_score: float = 0.0,
    min_debates: int = 1,
) -> list[Related]:
    """Hypotheses linked to any of `entities` whose current version is scored on `board_id`, with at least
    `min_debates` debates there (never fewer than one) and a score of at least `min_score`, best first."""
    wanted = sorted(set(entities))
    if not wanted:
        return []
    # `hypothesis_id || ''` keeps SQLite from driving the query through the links (every linked hypothesis
    # looked up, then all sorted): it walks ix_hypothesis_scores_rank in rank order instead, testing
    # membership in the linked set, and stops at `top`.
    ranked_id = HypothesisScoreRow.hypothesis_id.op("||")(literal_column("''"))
    query = (
        select(
            HypothesisRow.id,
            HypothesisRow.title,
            HypothesisRow.target_label,
            HypothesisScoreRow.mean,
            HypothesisScoreRow.lo,
            HypothesisScoreRow.hi,
            HypothesisScoreRow.interval,
            HypothesisScoreRow.debates,
            HypothesisScoreRow.verdicts,
        )
        .join(HypothesisRow, HypothesisRow.id == HypothesisScoreRow.hypothesis_id)
        .where(
            HypothesisScoreRow.scoreboard_id == board_id,
            HypothesisScoreRow.current.is_(True),
            ranked_id.in_(_linked(wanted)),
            HypothesisScoreRow.mean >= min_score,
            HypothesisScoreRow.debates >= max(1, min_debates),
        )
        .order_by(HypothesisScoreRow.mean.desc(), HypothesisScoreRow.debates.desc(), HypothesisScoreRow.hypothesis_id)
        .limit(top)
    )
    return [Related(*row) for row in session.execute(query)]


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
