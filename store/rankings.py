"""Reads of scores: scoreboards, rankings within one scoreboard, a hypothesis's scores, and the verdict cells
that agreement figures are computed from. Nothing here ever combines two scoreboards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scoring import ranks
from scoring.ranks import RankRange
from store.models import DebateRow, HypothesisRow, HypothesisScoreRow, ScoreboardRow, ScoreRow, VerdictRow
from store.scoreboards import Board


def scoreboards(session: Session, hypothesis_ids: Sequence[str] | None = None) -> list[Board]:
    """Scoreboards holding current-version scores (of `hypothesis_ids`, when given), most debates first."""
    debates = func.sum(HypothesisScoreRow.debates)
    query = (
        select(ScoreboardRow, debates, func.count(HypothesisScoreRow.id))
        .join(HypothesisScoreRow, HypothesisScoreRow.scoreboard_id == ScoreboardRow.id)
        .where(HypothesisScoreRow.current.is_(True))
        .group_by(ScoreboardRow.id)
        .order_by(debates.desc(), ScoreboardRow.created_at.desc(), ScoreboardRow.id)
    )
    if hypothesis_ids is not None:
        query = query.where(HypothesisScoreRow.hypothesis_id.in_(list(hypothesis_ids)))
    return [board_of(b, int(n_debates or 0), int(n_hyp)) for b, n_debates, n_hyp in session.execute(query)]


def board_of(row: ScoreboardRow, debates: int = -1, hypotheses: int = -1) -> Board:
    """A scoreboard row as readers see it, with counts in the scope it was read for (-1: not counted)."""
    return Board(
        row.rubric_hash,
        row.protocol_hash,
        [str(m) for m in row.judge_models],
        demo=row.demo,
        protocol=row.protocol or {},
        legacy=row.legacy,
        id=row.id,
        debates=debates,
        hypotheses=hypotheses,
    )


def board(session: Session, board_id: str) -> Board | None:
    """One scoreboard, by id, without counts (-1: not counted)."""
    row = session.get(ScoreboardRow, board_id)
    return None if row is None else board_of(row, -1, -1)


def linked_boards(session: Session, linked: Select[tuple[str]]) -> list[Board]:
    """Scoreboards holding current scores of the hypotheses `linked` selects, most of their debates first,
    with counts over those hypotheses only. When one scoreboard holds every current score (the usual case)
    no aggregate over the linked set is needed."""
    live = [
        row
        for row in session.scalars(select(ScoreboardRow).order_by(ScoreboardRow.id))
        if session.scalar(
            select(HypothesisScoreRow.id)
            .where(HypothesisScoreRow.scoreboard_id == row.id, HypothesisScoreRow.current.is_(True))
            .limit(1)
        )
        is not None
    ]
    if len(live) <= 1:
        return [board_of(row, -1, -1) for row in live]  # counts not needed to choose: -1 = not counted
    ids = linked.distinct().subquery()
    debates = func.sum(HypothesisScoreRow.debates)
    counts = {
        board_id: (int(n_debates or 0), int(n_hyp))
        for board_id, n_debates, n_hyp in session.execute(
            select(HypothesisScoreRow.scoreboard_id, debates, func.count())
            .join(ids, ids.c[0] == HypothesisScoreRow.hypothesis_id)
            .where(HypothesisScoreRow.current.is_(True))
            .group_by(HypothesisScoreRow.scoreboard_id)
        )
    }
    boards = [board_of(row, *counts[row.id]) for row in live if row.id in counts]
    return sorted(boards, key=lambda b: (-b.debates, b.id))


@dataclass(frozen=True)
class Related:
    """A hypothesis's current score on one scoreboard, as a page's related-hypotheses line shows it."""

    id: str
    title: str
    target_label: str
    score: float
    lo: float | None
    hi: float | None
    interval: str
    debates: int
    verdicts: int
    se: float | None  # standard error under the scoreboard's pooled model (scoring.aggregate)
    df: float | None


# what a line reads of a hypothesis and its score on one scoreboard, in the order of `Related`'s fields
LINE = (
    HypothesisRow.id,
    HypothesisRow.title,
    HypothesisRow.target_label,
    HypothesisScoreRow.mean,
    HypothesisScoreRow.lo,
    HypothesisScoreRow.hi,
    HypothesisScoreRow.interval,
    HypothesisScoreRow.debates,
    HypothesisScoreRow.verdicts,
    HypothesisScoreRow.se,
    HypothesisScoreRow.df,
)


@dataclass(frozen=True)
class Ranked(Related):
    """A line of a scoreboard's ranking: the related line, with the hypothesis's diseases and current version."""

    diseases: list[str]
    version: int
    scoreboard_id: str
    rank: RankRange | None = None  # the ranks the data allow among the ranking's rows: `with_ranks`


def ranking(session: Session, board_id: str, hypothesis_ids: Sequence[str] | None = None) -> list[Ranked]:
    """Current versions scored on `board_id` (of `hypothesis_ids`, when given), best score first (then more debates,
    then id). Their rank ranges are `with_ranks`'s, for the views that show a rank."""
    query = (
        select(*LINE, HypothesisRow.diseases, HypothesisRow.version)
        .join(HypothesisScoreRow, HypothesisScoreRow.hypothesis_id == HypothesisRow.id)
        .where(HypothesisScoreRow.scoreboard_id == board_id, HypothesisScoreRow.current.is_(True))
        .order_by(HypothesisScoreRow.mean.desc(), HypothesisScoreRow.debates.desc(), HypothesisRow.id)
    )
    if hypothesis_ids is not None:
        query = query.where(HypothesisRow.id.in_(list(hypothesis_ids)))
    return [Ranked(*line, list(diseases), version, board_id) for *line, diseases, version in session.execute(query)]


def with_ranks(rows: Sequence[Ranked]) -> list[Ranked]:
    """`rows` (one ranking) each with its rank range among them: the ranks the data allow (scoring.ranks)."""
    ranges = ranks.of_scores(rows, [r.score for r in rows]).ranges()
    return [replace(row, rank=r) for row, r in zip(rows, ranges, strict=True)]


def hypothesis_scores(session: Session, hypothesis_id: str) -> list[tuple[HypothesisScoreRow, Board]]:
    """Every score of every version of a hypothesis, one per (scoreboard, version), current version first."""
    rows = list(
        session.scalars(
            select(HypothesisScoreRow)
            .where(HypothesisScoreRow.hypothesis_id == hypothesis_id)
            .order_by(HypothesisScoreRow.current.desc(), HypothesisScoreRow.debates.desc())
        )
    )
    boards = {i: board(session, i) for i in {row.scoreboard_id for row in rows}}
    return [(row, found) for row in rows if (found := boards[row.scoreboard_id]) is not None]


@dataclass(frozen=True)
class VerdictCell:
    """One judge's verdict in one debate of a scoreboard: what agreement figures are computed from."""

    debate_id: str
    hypothesis_id: str
    replicate: int
    judge: int
    scores: dict[str, int]
    composite: float


def board_verdicts(session: Session, board_id: str) -> list[VerdictCell]:
    """Every verdict of every completed debate of current versions on `board_id`."""
    query = (
        select(
            VerdictRow.debate_id,
            ScoreRow.hypothesis_id,
            DebateRow.replicate,
            VerdictRow.judge,
            VerdictRow.scores,
            VerdictRow.composite,
        )
        .join(ScoreRow, ScoreRow.debate_id == VerdictRow.debate_id)
        .join(DebateRow, DebateRow.id == VerdictRow.debate_id)
        .join(HypothesisRow, HypothesisRow.id == ScoreRow.hypothesis_id)
        .where(ScoreRow.scoreboard_id == board_id, ScoreRow.content_hash == HypothesisRow.content_hash)
        .order_by(VerdictRow.debate_id, VerdictRow.judge)
    )
    return [VerdictCell(d, h, r, j, dict(s), float(c)) for d, h, r, j, s, c in session.execute(query)]
