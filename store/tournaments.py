"""Reads and writes of pairwise tournaments: the pool a tournament ranks, what its judge reads of each hypothesis,
its comparisons (one row per judged order, written as each lands) and each pool's ratings on its scoreboard."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from scoring import ratings
from scoring.ranks import RankRange
from store.models import (
    ComparisonRow,
    DebateRow,
    HypothesisRow,
    HypothesisVersionRow,
    LinkRow,
    RatingRow,
    ScoreboardRow,
    TournamentRow,
    TurnRow,
    UsageRow,
    VerdictRow,
    utcnow,
)
from store.rankings import board_of
from store.repository import add_usage, chunks, ensure_scoreboard, insert_ignoring
from store.scoreboards import Board


@dataclass(frozen=True)
class StoredEvidence:
    claim: str
    citation: str | None
    stance: str


@dataclass(frozen=True)
class StoredHypothesis:
    """A hypothesis's current version as stored, with what the roles read of it (it satisfies agents.Subject)."""

    id: str
    content_hash: str
    title: str
    targets: tuple[str, ...]
    label: str
    mechanism: str
    diseases: tuple[str, ...]
    evidence: tuple[StoredEvidence, ...]


@dataclass(frozen=True)
class StoredDebate:
    """The newest completed debate of a version: its turns (step, role, round, text, payload) and verdicts."""

    debate_id: str
    turns: list[tuple[str, str, int, str, dict[str, Any]]] = field(default_factory=list)
    verdicts: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (summary, rationales) per judge


# -- the pool -----------------------------------------------------------------------------------------------------


def debated(session: Session, candidates: Iterable[str]) -> list[str]:
    """Those of `candidates` whose current version has at least one completed debate, sorted."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(candidates))):
        found.update(
            session.scalars(
                select(HypothesisRow.id)
                .join(DebateRow, DebateRow.hypothesis_id == HypothesisRow.id)
                .where(
                    HypothesisRow.id.in_(chunk),
                    DebateRow.status == "completed",
                    DebateRow.hypothesis_hash == HypothesisRow.content_hash,
                )
                .distinct()
            )
        )
    return sorted(found)


def linked_to(session: Session, entities: Iterable[str]) -> list[str]:
    """Hypotheses linked to any of `entities` (a page's related hypotheses, before ranking)."""
    query = select(LinkRow.hypothesis_id).where(LinkRow.entity.in_(sorted(set(entities)))).distinct()
    return sorted(session.scalars(query))


def linked_among(session: Session, entities: Iterable[str], ids: Iterable[str]) -> set[str]:
    """Those of `ids` linked to any of `entities` (without reading every link of a large page)."""
    query = select(LinkRow.hypothesis_id).where(
        LinkRow.entity.in_(sorted(set(entities))), LinkRow.hypothesis_id.in_(sorted(set(ids)))
    )
    return set(session.scalars(query))


def in_batch(session: Session, batch_id: str) -> list[str]:
    """Hypotheses with a debate in `batch_id`."""
    return sorted(session.scalars(select(DebateRow.hypothesis_id).where(DebateRow.batch_id == batch_id).distinct()))


def stored_version(session: Session, hypothesis_id: str, content_hash: str) -> StoredHypothesis | None:
    """One version by its content (a queued comparison names the versions it compares)."""
    row = session.scalars(
        select(HypothesisVersionRow).where(
            HypothesisVersionRow.hypothesis_id == hypothesis_id, HypothesisVersionRow.content_hash == content_hash
        )
    ).first()
    if row is None or row.content is None:
        return None
    c = row.content
    return StoredHypothesis(
        id=hypothesis_id,
        content_hash=content_hash,
        title=c["title"],
        targets=tuple(c["targets"]),
        label=c["target_label"],
        mechanism=c["mechanism"],
        diseases=tuple(c["diseases"]),
        evidence=tuple(StoredEvidence(e["claim"], e.get("citation"), e.get("stance", "for")) for e in c["evidence"]),
    )


def current_versions(session: Session, ids: Sequence[str]) -> list[StoredHypothesis]:
    """The current version of each of `ids` that exists, in the order of `ids`."""
    rows: dict[str, HypothesisRow] = {}
    for chunk in chunks(sorted(set(ids))):
        rows.update((h.id, h) for h in session.scalars(select(HypothesisRow).where(HypothesisRow.id.in_(chunk))))
    found = []
    for hypothesis_id in ids:
        h = rows.get(hypothesis_id)
        if h is None:
            continue
        found.append(
            StoredHypothesis(
                id=h.id,
                content_hash=h.content_hash,
                title=h.title,
                targets=tuple(h.targets),
                label=h.target_label,
                mechanism=h.mechanism,
                diseases=tuple(h.diseases),
                evidence=tuple(StoredEvidence(e.claim, e.citation, e.stance) for e in h.evidence),
            )
        )
    return found


def newest_debates(session: Session, versions: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredDebate]:
    """For each (hypothesis id, content hash), its newest completed debate, preferring one that held a debate
    (rounds run) over a panel that scored the stated hypothesis alone."""
    wanted = set(versions)
    best: dict[tuple[str, str], DebateRow] = {}
    for chunk in chunks(sorted({h for h, _ in wanted})):
        query = (
            select(DebateRow)
            .where(DebateRow.hypothesis_id.in_(chunk), DebateRow.status == "completed")
            .order_by(DebateRow.rounds_run > 0, DebateRow.finished_at, DebateRow.id)
        )
        for row in session.scalars(query):
            key = (row.hypothesis_id, row.hypothesis_hash)
            if key in wanted:
                best[key] = row  # the last in this order is the one wanted
    if not best:
        return {}
    ids = [row.id for row in best.values()]
    turns: dict[str, list[tuple[str, str, int, str, dict[str, Any]]]] = {i: [] for i in ids}
    verdicts: dict[str, list[tuple[str, dict[str, str]]]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        for t in session.scalars(select(TurnRow).where(TurnRow.debate_id.in_(chunk)).order_by(TurnRow.seq)):
            turns[t.debate_id].append((t.step, t.role, t.round, t.text, dict(t.payload)))
        for v in session.scalars(select(VerdictRow).where(VerdictRow.debate_id.in_(chunk)).order_by(VerdictRow.judge)):
            verdicts[v.debate_id].append((v.summary, {str(k): str(w) for k, w in v.rationales.items()}))
    return {key: StoredDebate(row.id, turns[row.id], verdicts[row.id]) for key, row in best.items()}


# -- comparisons ----------------------------------------------------------------------------------------------------


def comparison_id(first_hash: str, second_hash: str, protocol_hash: str, judge: int) -> str:
    """Deterministic: the same (pair, order, tournament protocol, judge) is always the same comparison."""
    key = f"{first_hash}:{second_hash}:{protocol_hash}:{judge}"
    return "c-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def comparisons_among(session: Session, protocol_hash: str, content_hashes: Iterable[str]) -> list[ComparisonRow]:
    """Every stored comparison under `protocol_hash` whose two versions are both among `content_hashes`, by id."""
    hashes = set(content_hashes)
    found: dict[str, ComparisonRow] = {}
    for chunk in chunks(sorted(hashes)):
        query = select(ComparisonRow).where(
            ComparisonRow.protocol_hash == protocol_hash, ComparisonRow.first_hash.in_(chunk)
        )
        found.update((c.id, c) for c in session.scalars(query) if c.second_hash in hashes)
    return [found[i] for i in sorted(found)]


def add_comparison_commit(session: Session, row: dict[str, Any], usage: Sequence[dict[str, Any]]) -> bool:
    """Store one comparison and the calls it cost, together. False when it was already stored (by another run):
    the calls are still recorded, since they were paid for."""
    inserted = session.execute(insert_ignoring(session, ComparisonRow, [row], ["id"])).rowcount
    add_usage(session, usage)
    session.commit()
    return bool(inserted)


def calls_made(session: Session, comparison: str) -> int:
    """LLM calls already spent on a comparison (by runs that failed to get a valid answer): a retry draws afresh."""
    return int(session.scalar(select(func.count()).select_from(UsageRow).where(UsageRow.debate_id == comparison)) or 0)


def add_usage_commit(session: Session, usage: Sequence[dict[str, Any]]) -> None:
    """The calls of a comparison that failed: what was spent is visible even when nothing was stored."""
    add_usage(session, usage)
    session.commit()


# -- ratings -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    """A hypothesis version's rating in one tournament: Bradley-Terry on an Elo-like scale (1500 + 400 log10 odds),
    with its 95% interval, the range of ranks the fit allows it among the tournament's `pool_size` hypotheses
    (`scoring.ranks`: rank_lo best, rank_hi worst; hypotheses the data do not separate share a rank) and its record
    of judged orders. Read for one hypothesis (`ratings_of`) it has its tournament and whether the rated version is
    the hypothesis's current one."""

    hypothesis_id: str
    content_hash: str
    rating: float
    lo: float
    hi: float
    wins: int
    ties: int
    losses: int
    rank_lo: int = 0  # 0: not known (a writer that gives none is saved as 1..pool size, which claims nothing)
    rank_hi: int = 0
    pool_size: int = 0  # hypotheses in the tournament (0: not read with it)
    tournament: Standing | None = None
    current: bool | None = None  # None: not asked

    @property
    def record(self) -> str:
        """Wins/ties/losses of its judged orders: `5/1/0`."""
        return f"{self.wins}/{self.ties}/{self.losses}"

    @property
    def ranks(self) -> RankRange:
        """Where the fit places it: `ranks.text()` is `1` or `1–3`, `ranks.rank` the rank it shares."""
        return RankRange(self.rank_lo, self.rank_hi, self.pool_size)

    @property
    def rank(self) -> int:
        """The best rank the data allow it (hypotheses the data do not separate share it)."""
        return self.rank_lo

    @property
    def rank_text(self) -> str:
        """`3` when the data place it, `2–5` when they allow a range."""
        return self.ranks.text()

    def columns(self, position: int, pool_size: int) -> dict[str, Any]:
        """Its rating row's columns (the tournament's id aside), saved at `position` of `pool_size`."""
        return {
            "hypothesis_id": self.hypothesis_id,
            "content_hash": self.content_hash,
            "position": position,
            "rank_lo": self.rank_lo or 1,
            "rank_hi": self.rank_hi or pool_size,
            **{name: getattr(self, name) for name in ("rating", "lo", "hi", "wins", "ties", "losses")},
        }

    @classmethod
    def fitted(cls, rating: ratings.Rating, content_hash: str) -> Rating:
        """A fitted rating (scoring.ratings) of the version `content_hash`, to be saved."""
        figures = (rating.rating, rating.lo, rating.hi, rating.wins, rating.ties, rating.losses)
        return cls(rating.id, content_hash, *figures, rating.ranks.lo, rating.ranks.hi, rating.ranks.of)

    @classmethod
    def of(
        cls, row: RatingRow, pool_size: int, tournament: Standing | None = None, current: bool | None = None
    ) -> Rating:
        """The rating a stored row holds, in a tournament of `pool_size` hypotheses."""
        figures = (row.rating, row.lo, row.hi, row.wins, row.ties, row.losses, row.rank_lo, row.rank_hi)
        return cls(row.hypothesis_id, row.content_hash, *figures, pool_size, tournament, current)


@dataclass(frozen=True)
class TournamentStats:
    hypotheses: int
    comparisons: int
    matches: int
    order_inconsistency: float | None
    first_share: ratings.Share | None
    first_advantage: float | None = None


def tournament_id(pool: str, scoreboard_id: str) -> str:
    return "t-" + hashlib.sha256(f"{pool}:{scoreboard_id}".encode()).hexdigest()[:8]


def save_ratings_commit(
    session: Session, pool: str, board: Board, stats: TournamentStats, ratings: Sequence[Rating]
) -> str:
    """Replace the pool's ratings on `board` with a new fit (ratings best first); returns the tournament id."""
    board_id = ensure_scoreboard(session, board)
    t_id = tournament_id(pool, board_id)
    values = {
        "hypotheses": stats.hypotheses,
        "comparisons": stats.comparisons,
        "matches": stats.matches,
        "order_inconsistency": stats.order_inconsistency,
        "first_share": None if stats.first_share is None else stats.first_share.value,
        "first_share_lo": None if stats.first_share is None else stats.first_share.lo,
        "first_share_hi": None if stats.first_share is None else stats.first_share.hi,
        "first_advantage": stats.first_advantage,
        "updated_at": utcnow(),
    }
    row = {"id": t_id, "pool": pool, "scoreboard_id": board_id, **values}
    session.execute(insert_ignoring(session, TournamentRow, [row], ["id"]))
    session.query(TournamentRow).filter(TournamentRow.id == t_id).update(values)
    session.execute(delete(RatingRow).where(RatingRow.tournament_id == t_id))
    if ratings:
        session.execute(
            insert(RatingRow),
            [{"tournament_id": t_id, **r.columns(k, len(ratings))} for k, r in enumerate(ratings, 1)],
        )
    session.commit()
    return t_id


@dataclass(frozen=True)
class Standing:
    """A tournament as readers see it: its pool, scoreboard and figures, and its ratings best first."""

    id: str
    pool: str
    board: Board
    hypotheses: int
    comparisons: int
    matches: int
    order_inconsistency: float | None  # share of matches whose two orders disagreed
    first_share: float | None  # of decided comparisons, the share won by the one shown first
    first_share_lo: float | None  # its 95% interval (None: stored before it was kept)
    first_share_hi: float | None
    first_advantage: float | None  # the fitted first-position parameter, rating points
    ratings: list[Rating]

    @property
    def first_share_text(self) -> str:
        """`first shown won 52% [46%, 58%]` of the decided comparisons, or `—`."""
        if self.first_share is None:
            return "—"
        if self.first_share_lo is None or self.first_share_hi is None:
            return f"{100 * self.first_share:.0f}%"
        return f"{100 * self.first_share:.0f}% [{100 * self.first_share_lo:.0f}%, {100 * self.first_share_hi:.0f}%]"


def _standing(session: Session, row: TournamentRow, *, with_ratings: bool = True) -> Standing | None:
    board_row = session.get(ScoreboardRow, row.scoreboard_id)
    if board_row is None:
        return None
    return Standing(
        row.id,
        row.pool,
        board_of(board_row),
        row.hypotheses,
        row.comparisons,
        row.matches,
        row.order_inconsistency,
        row.first_share,
        row.first_share_lo,
        row.first_share_hi,
        row.first_advantage,
        [Rating.of(r, row.hypotheses) for r in row.ratings] if with_ratings else [],
    )


def standings(session: Session, pool: str) -> list[Standing]:
    """The pool's tournaments, one per scoreboard, most matches first."""
    rows = session.scalars(
        select(TournamentRow)
        .where(TournamentRow.pool == pool)
        .order_by(TournamentRow.matches.desc(), TournamentRow.updated_at.desc(), TournamentRow.id)
    )
    return [s for row in rows if (s := _standing(session, row)) is not None]


def standing(session: Session, tournament: str) -> Standing | None:
    row = session.get(TournamentRow, tournament)
    return None if row is None else _standing(session, row)


def current_ratings(session: Session, tournament_id: str) -> dict[str, Rating]:
    """A tournament's ratings of hypotheses as they are now (a rating of an earlier version rates other content)."""
    t = session.get(TournamentRow, tournament_id)
    of = 0 if t is None else t.hypotheses
    query = (
        select(RatingRow)
        .join(HypothesisRow, HypothesisRow.id == RatingRow.hypothesis_id)
        .where(RatingRow.tournament_id == tournament_id, RatingRow.content_hash == HypothesisRow.content_hash)
    )
    return {r.hypothesis_id: Rating.of(r, of) for r in session.scalars(query)}


def ratings_of(session: Session, hypothesis_id: str) -> list[Rating]:
    """Every tournament rating of a hypothesis, each with its tournament (its figures, not its other ratings):
    current version first, then the busiest tournament."""
    h = session.get(HypothesisRow, hypothesis_id)
    rows = list(session.scalars(select(RatingRow).where(RatingRow.hypothesis_id == hypothesis_id)))
    found: list[Rating] = []
    for r in rows:
        t = session.get(TournamentRow, r.tournament_id)
        s = None if t is None else _standing(session, t, with_ratings=False)
        if s is not None:
            found.append(Rating.of(r, s.hypotheses, s, h is not None and r.content_hash == h.content_hash))
    return sorted(found, key=lambda x: (not x.current, -x.tournament.matches, x.tournament.id))
