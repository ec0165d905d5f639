"""A page's related-hypotheses blocks: which scoreboards a page shows (the chosen or busiest first) and the
ranked hypotheses on each (the queries live in store/related.py).

The order of a block is decided here and only here (`ranked`): by rubric score (`wiki.rank_by: score`), or by
the page pool's tournament ratings (`rating`: the tournament of pool `page:<slug>` with the most matches; rated
hypotheses best rating first, then the unrated ones in score order). Either way each line shows its score."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from store.models import PageRow
from store.rankings import board, ranking
from store.related import Related, entity_boards, newest_score_change, related_for_entities
from store.scoreboards import Board
from store.tournaments import Rating, Standing, current_ratings, linked_among, standings
from wiki.entities import page_id
from wiki.settings import RankBy, WikiSettings


@dataclass(frozen=True)
class RelatedBlock:
    """One scoreboard's related hypotheses of a page (board None: nothing on this page is scored yet), and the
    tournament whose ratings ordered them (None: ordered by score)."""

    board: Board | None
    hypotheses: list[Related]
    ordered_by: Standing | None = None


@dataclass(frozen=True)
class Choice:
    """Which hypotheses a page's blocks show: the `top` best on `scoreboard` (None: the page's busiest), past
    `min_score` and `min_debates`, ordered as `rank_by` says."""

    top: int
    scoreboard: str | None = None
    min_score: float = 0.0
    min_debates: int = 1
    rank_by: RankBy = "score"

    @classmethod
    def of(cls, settings: WikiSettings, top: int | None = None, scoreboard: str | None = None) -> Choice:
        """The wiki settings' choice, with the `top` and `scoreboard` a request or a command asked for."""
        return cls(
            top or settings.top,
            scoreboard or settings.scoreboard,
            settings.min_score,
            settings.min_debates,
            settings.rank_by,
        )


@dataclass(frozen=True)
class PageRatings:
    """A page pool's tournament (the one with the most matches) and its ratings of current versions, by id."""

    tournament: Standing
    current: dict[str, Rating]

    def rating(self, hypothesis_id: str) -> float | None:
        found = self.current.get(hypothesis_id)
        return None if found is None else found.rating


def page_ratings(session: Session, slug: str) -> PageRatings | None:
    """The ratings of the page's pool (`page:<slug>`), or None when no tournament has rated it. A rating of an
    earlier version rates other content: it does not count for the hypothesis as it is now."""
    found = standings(session, f"page:{slug}")
    if not found:
        return None
    return PageRatings(found[0], current_ratings(session, found[0].id))


def by_rating(found: Sequence[Related], ratings: Mapping[str, Rating]) -> list[Related]:
    """Rated hypotheses by rating, best first; then the unrated ones. `found` is in score order, and the sort is
    stable, so equal ratings (a tournament whose matches all tied) keep their score order."""
    rated = sorted((r for r in found if r.id in ratings), key=lambda r: -round(ratings[r.id].rating, 6))
    return rated + [r for r in found if r.id not in ratings]


def ranked(
    session: Session, entities: Iterable[str], chosen: Board, choice: Choice, ratings: PageRatings | None
) -> RelatedBlock:
    """The block on `chosen`: its `choice.top` hypotheses by score, or, given `ratings`, by rating (then score).
    The block names the tournament only when a rating ordered some line of it."""
    entities = list(entities)
    top, min_score, min_debates = choice.top, choice.min_score, choice.min_debates
    rated = ratings.current if ratings is not None else {}
    # the first `top + len(rated)` by score hold at least `top` unrated ones (when there are that many)
    wanted = top + len(rated)
    first = related_for_entities(session, entities, chosen.id, top=wanted, min_score=min_score, min_debates=min_debates)
    if ratings is None:
        return RelatedBlock(chosen, first)
    found = {r.id: r for r in first}
    if len(first) == wanted:  # not every related hypothesis was read: a rated one may have any score
        missing = [i for i in rated if i not in found]
        if missing:
            found.update(
                (r.id, r) for r in _related_among(session, entities, chosen.id, missing, min_score, min_debates)
            )
    in_score_order = sorted(found.values(), key=lambda r: (-r.score, -r.debates, r.id))
    ordered = by_rating(in_score_order, rated)[:top]
    return RelatedBlock(chosen, ordered, ratings.tournament if any(r.id in rated for r in ordered) else None)


def _related_among(
    session: Session, entities: Sequence[str], board_id: str, ids: Sequence[str], min_score: float, min_debates: int
) -> list[Related]:
    """Those of `ids` that the page's related query would list: scored on `board_id` past its filters, and linked
    to `entities`."""
    scored = [r for r in ranking(session, board_id, ids) if r.score >= min_score and r.debates >= max(1, min_debates)]
    if not scored:
        return []
    linked = linked_among(session, entities, [r.id for r in scored])
    return [
        Related(r.id, r.title, r.target_label, r.score, r.lo, r.hi, r.interval, r.debates, r.verdicts, r.se, r.df)
        for r in scored
        if r.id in linked
    ]


def _ordering(session: Session, page: PageRow, rank_by: RankBy, ratings: PageRatings | None) -> PageRatings | None:
    """The ratings that order the page's blocks: None when ranking by score, or when no tournament rated it."""
    if rank_by != "rating":
        return None
    return ratings if ratings is not None else page_ratings(session, page.slug)


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
    rank_by: RankBy = "score",
    ratings: PageRatings | None = None,
) -> RelatedBlock:
    """The page's block on `scoreboard` (or the page's default scoreboard), ordered as `rank_by` says
    (`ratings`: the page's ratings when already read)."""
    return _first_block(session, page, Choice(top, scoreboard, min_score, min_debates, rank_by), ratings)


def _first_block(session: Session, page: PageRow, choice: Choice, ratings: PageRatings | None) -> RelatedBlock:
    entities = page_entities(page)
    chosen = pick_board(session, entities, choice.scoreboard)
    if chosen is None:
        return RelatedBlock(None, [])
    return ranked(session, entities, chosen, choice, _ordering(session, page, choice.rank_by, ratings))


def related_blocks(
    session: Session, page: PageRow, choice: Choice, ratings: PageRatings | None = None
) -> list[RelatedBlock]:
    """One block per scoreboard that scores this page's hypotheses, the chosen (or default) one first, each
    ordered as `choice.rank_by` says (`ratings`: the page's ratings when already read)."""
    entities = page_entities(page)
    order = _ordering(session, page, choice.rank_by, ratings)
    # no tournament: not looked up twice
    first = _first_block(session, page, replace(choice, rank_by="rating" if order is not None else "score"), order)
    blocks = [first]
    for other in page_boards(session, entities):
        if first.board is not None and other.id == first.board.id:
            continue
        blocks.append(ranked(session, entities, other, choice, order))
    return blocks
