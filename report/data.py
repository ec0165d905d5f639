"""Everything the transcript report shows, read through the store's report queries (store/reports.py).

`load_report(session, batch_id=..., hypothesis_id=...)` returns a `ReportData`: the batch overview,
one ranking per scoreboard (scores are comparable only within a scoreboard: rubric, protocol and judge
models as served), the hypotheses in scope (their scores per scoreboard, debates, rounds, critic points,
closing turns, verdicts and evidence audit), the failed or unfinished debates, and the batch's tournament
ratings (and a hypothesis report's ratings: report.ratings). Turns, verdicts, scores, versions, evidence and
audits are each read with one query over the scope, never one query per debate.

Each score in the report is computed from the completed debates in the report, per (scoreboard, hypothesis
version), with the interval of its scoreboard's pooled variance model (fitted, as the store fits it, from every
debate on the scoreboard): the numbers always match the transcripts shown. Ranks are rank ranges (scoring.ranks).
The score by dimension is the store's one definition (`store.reports.dimension_means`), over the same debates.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from report.lineage import lineage_views
from report.ratings import batch_tournaments, hypothesis_ratings, scoreboard_view
from report.transcript import Versions, debate_view
from report.views import (
    BatchView,
    DebateView,
    DimensionView,
    EvidenceView,
    HypothesisView,
    RankedView,
    RankingView,
    ReportData,
    ScoreView,
    TurnView,
    VerdictView,
)
from safeio.errors import NotFound
from scoring import ranks
from scoring.aggregate import BoardNoise
from scoring.rubric import Rubric
from store import reports, repository
from store.demo import DEMO_WARNING, demo_used, models_are_demo
from store.lineage import Origin, children, origins
from store.models import BatchRow, DebateRow, HypothesisRow, HypothesisVersionRow, ScoreboardRow
from store.rankings import board_of
from store.reports import Audit, DimensionMean, ScoreKey
from store.scoreboards import Board


class ReportScopeError(NotFound, LookupError):
    """The batch or hypothesis asked for is not in the database; the message names it."""


def load_report(
    session: Session,
    *,
    batch_id: str | None = None,
    hypothesis_id: str | None = None,
    rubric: Rubric | None = None,
) -> ReportData:
    """The report of one batch (or, without `batch_id`, of every hypothesis that has debates)."""
    batch_row = reports.batch(session, batch_id)
    if batch_row is None:
        missing = f"{batch_id}: no such batch" if batch_id else "no batches yet: run `hypodebate run` first"
        raise ReportScopeError(missing)
    if hypothesis_id is not None and not reports.has_hypothesis(session, hypothesis_id):
        raise ReportScopeError(f"{hypothesis_id}: no such hypothesis")

    scope = reports.debate_scope(batch_id=batch_id, hypothesis_id=hypothesis_id)
    debate_rows = reports.debates_in(session, scope)
    if hypothesis_id is not None and not debate_rows:
        where = f" in batch {batch_id}" if batch_id else ""
        raise ReportScopeError(f"{hypothesis_id}: no debates{where}")

    rubrics = {r.hash: r for r in (Rubric(), rubric) if r is not None}
    hypotheses, rankings, unscored = _hypotheses(session, scope, debate_rows, rubrics)
    debates = [d for h in hypotheses for d in h.debates]
    demo = models_are_demo(batch_row.models) or demo_used(session, scope)
    tournaments = batch_tournaments(session, batch_id, rankings, hypotheses)
    ratings = hypothesis_ratings(session, hypothesis_id)
    return ReportData(
        generated_at=datetime.now(UTC),
        scope="batch" if batch_id is not None else "all",
        batch=_batch_view(session, batch_row),
        batches_total=reports.batch_count(session),
        hypothesis_filter=hypothesis_id,
        hypotheses=hypotheses,
        rankings=rankings,
        unscored=unscored,
        failed=tuple(d for d in debates if d.status != "completed"),
        debates_total=len(debates),
        usage=reports.usage_of_debates(session, scope),
        rubric_known={d.rubric_hash for d in debate_rows} <= rubrics.keys(),
        demo_warning=DEMO_WARNING if demo else None,
        tournaments=tournaments,
        ratings=ratings,
        lineage=lineage_views(session, hypotheses, {r.board.id: r.board for r in rankings}),
    )


_BATCH_COLUMNS = ("id", "source", "status", "started_at", "finished_at", "protocol_hash", "provider", "wall_s")


def _batch_view(session: Session, row: BatchRow) -> BatchView:
    """The batch's overview: its row's columns, its protocol's settings, its counts and what its calls cost."""
    protocol = row.protocol or {}
    return BatchView(
        **{column: getattr(row, column) for column in _BATCH_COLUMNS},
        rounds=protocol.get("rounds", "?"),
        judges=protocol.get("judges", "?"),
        early_stop=protocol.get("early_stop", "?"),
        rubric_hash=str(protocol.get("rubric_hash", "?")),
        models=dict(row.models),
        completed=row.debates_completed,
        failed=row.debates_failed,
        skipped=row.debates_skipped,
        usage=reports.usage_of_batch(session, row),
    )


def _hypotheses(
    session: Session, scope: Select[Any], debate_rows: Sequence[DebateRow], rubrics: dict[str, Rubric]
) -> tuple[tuple[HypothesisView, ...], tuple[RankingView, ...], tuple[HypothesisView, ...]]:
    """(every hypothesis in ranking order, one ranking per scoreboard, the hypotheses with no score)."""
    turns = {d: [TurnView(**t) for t in ts] for d, ts in reports.turns_in(session, scope).items()}
    verdicts = {d: [VerdictView(**v) for v in vs] for d, vs in reports.verdicts_in(session, scope).items()}
    scores = reports.panel_scores_in(session, scope)
    rows = reports.hypotheses_in(session, scope)
    evidence = reports.evidence_in(session, scope)
    audits = reports.audits_in(session, rows)
    versions = Versions.of(reports.versions_in(session, scope))

    by_hypothesis: dict[str, list[DebateView]] = defaultdict(list)
    for row in sorted(debate_rows, key=lambda d: (d.replicate, d.started_at, d.id)):
        title = rows[row.hypothesis_id].title
        view = debate_view(row, title, turns.get(row.id, []), verdicts.get(row.id, []), scores.get(row.id), versions)
        by_hypothesis[row.hypothesis_id].append(view)
    rubric_by_debate = {d.id: rubrics.get(d.rubric_hash) for d in debate_rows}

    # one score per (scoreboard, hypothesis, version), from its completed debates in scope
    groups: dict[ScoreKey, list[DebateView]] = defaultdict(list)
    for h_id, debates in by_hypothesis.items():
        for d in debates:
            if d.status == "completed" and d.scoreboard_id is not None:
                groups[(d.scoreboard_id, h_id, d.content_hash)].append(d)
    board_views = _board_views(groups, reports.scoreboards_by_id(session, {k[0] for k in groups}))
    dimensions = reports.dimension_means(session, debate_ids=scope)
    latest = reports.latest_completed(session, debate_ids=scope)
    noise = {b: BoardNoise.fit(repository.scoreboard_composites(session, b)) for b in board_views}
    by_board: dict[str, list[ScoreView]] = defaultdict(list)
    for key, debates in groups.items():
        board_id, h_id, content_hash = key
        version = versions.by_content.get((h_id, content_hash))
        last = next((d for d in debates if d.id == latest.get(key)), None)
        rubric = rubric_by_debate.get(last.id) if last else None
        dimension_views = _dimensions(dimensions.get(key, ()), rubric)
        score = _score_view(key, rows[h_id], version, debates, last, dimension_views, noise[board_id])
        by_board[board_id].append(score)
    ranked_scores: dict[str, list[ScoreView]] = defaultdict(list)
    ranking_rows: dict[str, list[ScoreView]] = {}
    for board_id in board_views:
        ordered = sorted(by_board[board_id], key=lambda s: (-s.mean, -s.debates, s.hypothesis_id, s.version or 0))
        ranges = ranks.of_scores(ordered, [s.mean for s in ordered]).ranges()
        ranking_rows[board_id] = [replace(s, rank=r) for s, r in zip(ordered, ranges, strict=True)]
        for s in ranking_rows[board_id]:
            ranked_scores[s.hypothesis_id].append(s)

    views: dict[str, HypothesisView] = {}
    came_from, kids = origins(session, rows), children(session, rows)
    for h_id, debates in by_hypothesis.items():
        found = [EvidenceView(*e) for e in evidence.get(h_id, [])]
        made = (came_from.get(h_id), tuple(kids.get(h_id, ())))
        views[h_id] = _hypothesis_view(rows[h_id], found, debates, tuple(ranked_scores[h_id]), audits.get(h_id), made)
    rankings = tuple(
        RankingView(board, tuple(RankedView(views[s.hypothesis_id], s) for s in ranking_rows[board.id]))
        for board in board_views.values()
    )
    order = list(dict.fromkeys(row.hypothesis.id for ranking in rankings for row in ranking.rows))
    unscored = sorted((v for v in views.values() if not v.scores), key=lambda h: (-len(h.completed), h.id))
    return tuple(views[h_id] for h_id in order) + tuple(unscored), rankings, tuple(unscored)


def _board_views(groups: dict[ScoreKey, list[DebateView]], rows: dict[str, ScoreboardRow]) -> dict[str, Board]:
    """The scoreboards of the debates in scope, most debates first (then newest, then id)."""
    debates: dict[str, int] = defaultdict(int)
    hypotheses: dict[str, set[str]] = defaultdict(set)
    for (board_id, h_id, _), members in groups.items():
        debates[board_id] += len(members)
        hypotheses[board_id].add(h_id)
    out: dict[str, Board] = {}
    for board_id in sorted(debates, key=lambda b: (-debates[b], -_stamp(rows.get(b)), b)):
        row = rows.get(board_id)
        counts = (debates[board_id], len(hypotheses[board_id]))
        if row is None:  # its row is gone: the scores still say which scoreboard they are on
            board = Board("?", "?", [], id=board_id, debates=counts[0], hypotheses=counts[1])
        else:
            board = board_of(row, *counts)
        out[board_id] = scoreboard_view(board)
    return out


def _stamp(row: ScoreboardRow | None) -> float:
    if row is None or row.created_at is None:
        return 0.0
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return created.timestamp()


def _score_view(
    key: ScoreKey,
    row: HypothesisRow,
    version: HypothesisVersionRow | None,
    debates: list[DebateView],
    latest: DebateView | None,
    dimensions: tuple[DimensionView, ...],
    noise: BoardNoise,
) -> ScoreView:
    board_id, _, content_hash = key
    panels = [[v.composite for v in d.verdicts] or [d.mean or 0.0] for d in debates]
    score = noise.score(panels)
    content = version.content if version is not None and version.content else {}
    return ScoreView(
        scoreboard_id=board_id,
        hypothesis_id=row.id,
        version_id=version.id if version is not None else None,
        version=version.version if version is not None else None,
        current=content_hash == row.content_hash,
        content_hash=content_hash,
        title=str(content.get("title") or row.title),
        **asdict(score),  # mean, its interval, debates and verdicts
        dimensions=dimensions,
        summary=latest.verdicts[0].summary if latest and latest.verdicts else "",
        debate_views=tuple(debates),
    )


def _hypothesis_view(
    row: HypothesisRow,
    evidence: list[EvidenceView],
    debates: list[DebateView],
    scores: tuple[ScoreView, ...],
    audit: Audit | None,
    made: tuple[Origin | None, tuple[str, ...]] = (None, ()),
) -> HypothesisView:
    """The hypothesis's section; `made`: its origin and its children (store.lineage)."""
    return HypothesisView(
        id=row.id,
        title=row.title,
        version=row.version,
        targets=tuple(str(t) for t in row.targets),
        target_label=row.target_label,
        mechanism=row.mechanism,
        diseases=tuple(str(d) for d in row.diseases),
        evidence=tuple(evidence),
        scores=scores,
        debates=tuple(debates),
        audit=audit,
        origin=made[0],
        children=made[1],
    )


def _dimensions(means: Sequence[DimensionMean], rubric: Rubric | None) -> tuple[DimensionView, ...]:
    """The store's score by dimension, in the rubric's order (then any other dimension the judges gave), with
    the rubric's weights and labels where the rubric that scored it is known here."""
    if not means:
        return ()
    order = {name: i for i, name in enumerate(rubric.dimensions)} if rubric else {}
    ordered = sorted(means, key=lambda m: order.get(m.name, len(order)))  # stable: the judges' order after
    scale = rubric.scale if rubric else max(10, *(math.ceil(m.mean) for m in means))
    label = Rubric.label
    return tuple(
        DimensionView(
            m.name,
            label(m.name),
            rubric.dimensions.get(m.name) if rubric else None,
            m.mean,
            scale,
            min(1.0, max(0.0, (m.mean - 1) / (scale - 1))),
            m.debates,
            m.verdicts,
        )
        for m in ordered
    )
