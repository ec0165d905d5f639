"""What the web app shows, read from the store: one function per view, returning plain values."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import DebateRow, HypothesisRow, ScoreRow
from wiki.schemas import DebateSummary, Evidence, HypothesisResponse


@dataclass(frozen=True)
class Demo:
    """Which model's scores carry no information, and what to say about it."""

    model: str | None = None
    warning: str = ""

    def applies(self, models: dict[str, str]) -> bool:
        return self.model is not None and self.model in models.values()


def exchange(session: Session, *, limit: int, offset: int) -> tuple[list[HypothesisRow], int]:
    total = session.scalar(select(func.count()).select_from(HypothesisRow)) or 0
    rows = session.scalars(
        select(HypothesisRow)
        .order_by(
            HypothesisRow.score.is_(None),
            HypothesisRow.score.desc(),
            HypothesisRow.debates_completed.desc(),
            HypothesisRow.id,
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total)


def hypothesis_detail(session: Session, h: HypothesisRow, demo: Demo) -> HypothesisResponse:
    debates = list(
        session.scalars(select(DebateRow).where(DebateRow.hypothesis_id == h.id).order_by(DebateRow.started_at))
    )
    scores = {s.debate_id: s for s in session.scalars(select(ScoreRow).where(ScoreRow.hypothesis_id == h.id))}
    completed = [d for d in debates if d.status == "completed"]
    latest = max(completed, key=lambda d: (d.finished_at is not None, d.finished_at or d.started_at), default=None)
    dimensions: dict[str, float] = {}
    if latest is not None:
        per: dict[str, list[float]] = {}
        for verdict in latest.verdicts:
            for name, value in verdict.scores.items():
                per.setdefault(name, []).append(float(value))
        dimensions = {name: statistics.fmean(values) for name, values in per.items()}
    summaries = []
    for d in debates:
        s = scores.get(d.id)
        summaries.append(
            DebateSummary(
                id=d.id,
                status=d.status,
                rounds_run=d.rounds_run,
                models={str(k): str(v) for k, v in d.models.items()},
                score=s.mean if s else None,
                spread=s.spread if s else None,
                n=s.n if s else None,
                finished_at=d.finished_at,
                url=f"/debates/{d.id}",
            )
        )
    demo_used = any(demo.applies(d.models) for d in completed)
    return HypothesisResponse(
        id=h.id,
        title=h.title,
        targets=[str(t) for t in h.targets],
        target_label=h.target_label,
        mechanism=h.mechanism,
        diseases=[str(d) for d in h.diseases],
        pages=[str(p) for p in h.pages],
        score=h.score,
        score_spread=h.score_spread,
        score_n=h.score_n,
        debates_completed=h.debates_completed,
        dimensions=dimensions,
        evidence=[Evidence(claim=e.claim, citation=e.citation, stance=e.stance) for e in h.evidence],
        debates=summaries,
        demo_warning=demo.warning if demo_used else None,
    )


def debate_detail(session: Session, debate_id: str) -> tuple[DebateRow, HypothesisRow, ScoreRow | None] | None:
    debate = session.get(DebateRow, debate_id)
    if debate is None:
        return None
    hypothesis = session.get_one(HypothesisRow, debate.hypothesis_id)
    score = session.scalars(select(ScoreRow).where(ScoreRow.debate_id == debate_id)).first()
    return debate, hypothesis, score
