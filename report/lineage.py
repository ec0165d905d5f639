"""The report's lineage view: for each page whose generation runs made a hypothesis in the report, every run of
that page (its gap, page or goal), each generation's candidates (new ones with their score and tournament rating,
duplicates with what they merged into, invalid ones with why), the children evolved from them (operator, parents),
the generation's meta-review, and what stopped the run. Runs from a research goal are grouped under no page.

A score shown here is the report's own (computed from its debates, on the hypothesis's first scoreboard) where the
hypothesis has a section in the report, else the store's current score on its busiest scoreboard; either names its
scoreboard and judges. Ratings are those of the generation's own tournament (its pairwise scoreboard named)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from report.ratings import scoreboard_view
from report.views import (
    CandidateView,
    GenerationView,
    HypothesisView,
    MetaReviewView,
    PageLineageView,
    RunView,
    ShownScore,
)
from scoring.measured import Measured
from store import lineage, rankings
from store import pages as stored_pages
from store.models import CandidateRow, GenerationRow, GenerationRunRow, MetaReviewRow
from store.scoreboards import Board
from store.tournaments import Rating, Standing, current_ratings, standing

MAX_LISTED = 20  # meta-review items shown per list (the model's answer is untrusted and may be long)


def lineage_views(
    session: Session, hypotheses: Sequence[HypothesisView], boards: Mapping[str, Board]
) -> tuple[PageLineageView, ...]:
    """The lineage of the runs behind `hypotheses` (the report's), grouped by page in page-slug order, goal runs
    last. `boards`: the report's scoreboards by id."""
    shown = {h.id: h for h in hypotheses}
    runs = {r.id: r for r in lineage.runs_of_hypotheses(session, shown)}
    slugs = sorted({r.page_slug for r in runs.values() if r.page_slug})
    for slug in slugs:
        runs.update({r.id: r for r in lineage.runs_for_page(session, slug)})
    if not runs:
        return ()
    scores = _Scores(session, shown, boards)
    gaps = lineage.gaps_by_id(session, [r.source for r in runs.values() if r.source_kind == "gap"])
    by_page: dict[str | None, list[RunView]] = {}
    for run in sorted(runs.values(), key=lambda r: (r.started_at, r.id)):
        gap = gaps.get(run.source) if run.source_kind == "gap" else None
        view = RunView(
            id=run.id,
            source_kind=run.source_kind,
            source=run.source,
            source_title=gap.title if gap else None,
            source_link=gap.link if gap else None,
            status=run.status,
            stopped=run.stopped,
            stop_detail=run.stop_detail,
            started_at=run.started_at,
            finished_at=run.finished_at,
            generations=_generations(session, run, scores),
        )
        by_page.setdefault(run.page_slug, []).append(view)
    pages = []
    for slug in sorted(by_page, key=lambda s: (s is None, s or "")):
        page = stored_pages.page(session, slug) if slug else None
        title = page.title if page else (slug or "Research goals")
        pages.append(PageLineageView(slug, title, tuple(by_page[slug])))
    return tuple(pages)


class _Scores:
    """Each hypothesis's shown score (the report's, else the store's), read once."""

    def __init__(self, session: Session, shown: Mapping[str, HypothesisView], boards: Mapping[str, Board]) -> None:
        self.session, self.shown, self.boards = session, shown, boards
        self.found: dict[str, ShownScore | None] = {}

    def of(self, hypothesis_id: str) -> ShownScore | None:
        if hypothesis_id not in self.found:
            self.found[hypothesis_id] = self._read(hypothesis_id)
        return self.found[hypothesis_id]

    def _read(self, hypothesis_id: str) -> ShownScore | None:
        h = self.shown.get(hypothesis_id)
        current = [s for s in h.scores if s.current] if h is not None else []
        if current and current[0].scoreboard_id in self.boards:
            return ShownScore(current[0].measured, self.boards[current[0].scoreboard_id], in_report=True)
        stored = [(row, board) for row, board in rankings.hypothesis_scores(self.session, hypothesis_id) if row.current]
        if not stored:
            return None
        row, board = stored[0]
        return ShownScore(Measured.of(row, row.mean, board.id), scoreboard_view(board), in_report=False)


def _generations(session: Session, run: GenerationRunRow, scores: _Scores) -> tuple[GenerationView, ...]:
    candidates: dict[int, list[CandidateRow]] = {}
    for c in lineage.candidates_of(session, run.id):
        candidates.setdefault(c.generation, []).append(c)
    rows = {g.number: g for g in lineage.generations_of(session, run.id)}
    reviews = lineage.meta_reviews_of(session, run.id)
    ids = {c.hypothesis_id for cs in candidates.values() for c in cs if c.hypothesis_id}
    titles = lineage.titles(session, ids)
    views = []
    for number in sorted(set(rows) | set(candidates) | set(reviews)):
        row = rows.get(number)
        tournament, ratings = _tournament(session, row)
        shown = [_candidate(c, titles, scores, ratings) for c in candidates.get(number, [])]
        views.append(
            GenerationView(
                number=number,
                status=row.status if row else "open",
                debated=row.debated if row else 0,
                top=tuple(str(t) for t in (row.top if row else [])),
                tournament=tournament,
                generated=tuple(c for c in shown if not c.parents),
                evolved=tuple(c for c in shown if c.parents),
                review=_review(reviews.get(number)),
            )
        )
    return tuple(views)


def _tournament(session: Session, row: GenerationRow | None) -> tuple[Standing | None, dict[str, Rating]]:
    """The generation's tournament (its scoreboard as the report holds it) and its ratings of current versions."""
    if row is None or not row.tournament_id:
        return None, {}
    found = standing(session, row.tournament_id)
    if found is None:
        return None, {}
    return replace(found, board=scoreboard_view(found.board), ratings=[]), current_ratings(session, row.tournament_id)


def _candidate(
    c: CandidateRow, titles: Mapping[str, str], scores: _Scores, ratings: Mapping[str, Rating]
) -> CandidateView:
    content = c.content if isinstance(c.content, dict) else {}
    new = c.status == "new" and c.hypothesis_id is not None
    return CandidateView(
        slot=c.slot,
        strategy=c.strategy,
        status=c.status,
        title=str(content.get("title") or (titles.get(c.hypothesis_id, "") if c.hypothesis_id else "") or "—"),
        parents=tuple(str(p) for p in c.parents or []),
        hypothesis_id=c.hypothesis_id,
        target_title=titles.get(c.hypothesis_id) if c.hypothesis_id else None,
        similarity=c.similarity,
        method=c.method,
        reason=c.reason,
        model=c.model,
        score=scores.of(c.hypothesis_id) if new and c.hypothesis_id else None,
        rating=ratings.get(c.hypothesis_id) if new and c.hypothesis_id else None,
        in_report=c.hypothesis_id in scores.shown,
    )


def _review(row: MetaReviewRow | None) -> MetaReviewView | None:
    """The stored meta-review, read defensively (it is the model's answer): lists of text, each item as text."""
    if row is None:
        return None
    review: dict[str, Any] = row.review if isinstance(row.review, dict) else {}
    return MetaReviewView(
        summary=str(review.get("summary") or ""),
        weaknesses=_texts(review.get("weaknesses")),
        rewarded=_texts(review.get("rewarded")),
        model=row.model,
    )


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        return ()
    return tuple(_text(v) for v in value[:MAX_LISTED])


def _text(value: object) -> str:
    if isinstance(value, dict):
        return " — ".join(str(v) for v in value.values())
    return str(value)
