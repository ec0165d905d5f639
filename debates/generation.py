"""The generation loop: generate candidates from a page, a gap or a goal; merge duplicates into what exists; debate
the new ones; rank the pool in a tournament (both orders); review the generation's debates; evolve the top k into
children that join the pool beside their parents; and stop at the asked generations, at the budget, when a
generation adds nothing new, or when the top k holds still.

Every answer is stored as it lands and every generation is closed once ranked and reviewed, so a killed run resumes
where it stopped and the same command run again asks nothing. Every call the loop makes itself (answers, duplicate
checks, meta-reviews) lands in the usage table with its step, whether it was answered or not. How debates are run
and how the pool is ranked are given (`debate`, `rank`): here, or through the job queue."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from agents.generation import Brief, DebateNotes, Generator, Operator, Parent, Proposal, Strategy
from agents.roles import TurnFailed
from agents.usage import Account, CallRecord, combine, total_cost, working_on
from debates.dedup import Deduplicator
from debates.hypotheses import Evidence, Hypothesis
from debates.rows import hypothesis_record
from debates.tournament import stored_digest
from safeio.errors import validation_line
from store import generation as runs
from store import lineage, repository
from store import tournaments as stored
from store.models import CandidateRow, GenerationRow

SourceKind = Literal["page", "gap", "goal"]
StopReason = Literal["generations", "budget", "no-new", "stable"]
OPERATORS: tuple[Operator, ...] = ("strengthen", "combine", "simplify", "out-of-box")
STABLE_TAU = 0.9  # the top k is stable when it is the same set, ranked alike (Kendall tau >= this), twice running


@dataclass(frozen=True)
class Source:
    """Where a run generates from. `gaps`: (gap id, title) the gap strategy cycles through."""

    kind: SourceKind
    value: str  # the page's slug, the gap's id, or the goal's words
    page_slug: str | None
    brief: Brief
    gaps: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class LoopSettings:
    n: int  # new candidates per generation
    generations: int
    top: int  # evolved per generation
    generator_model: str | None = None  # None: the configured generator model

    def identity(self) -> dict[str, Any]:
        """What makes a run: the same source with these is the same run (budgets and generations may change)."""
        return {"n": self.n, "top": self.top}


def run_id(source: Source, settings: LoopSettings, generator: str) -> str:
    key = json.dumps([source.kind, source.value, settings.identity(), generator], sort_keys=True)
    return "r-" + hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Ranking:
    """The pool's tournament: its id and the hypotheses best first."""

    tournament_id: str | None
    order: list[str]


@dataclass(frozen=True)
class Slot:
    number: int
    kind: Literal["propose", "evolve"]
    strategy: str  # a Strategy, or an Operator for an evolution slot
    parents: tuple[str, ...] = ()
    gap: tuple[str, str] | None = None  # (id, title) for the gap strategy


@dataclass
class GenerationSummary:
    number: int
    candidates: int = 0
    duplicates: int = 0
    invalid: int = 0
    new: list[str] = field(default_factory=list)
    debated: int = 0
    top: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.number,
            "candidates": self.candidates,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "new": self.new,
            "debated": self.debated,
            "top": self.top,
        }


@dataclass
class LoopResult:
    run_id: str
    source: Source
    generations: list[GenerationSummary]
    stopped: StopReason
    detail: str


def plan(number: int, settings: LoopSettings, source: Source, previous_top: Sequence[str]) -> list[Slot]:
    """Generation `number`'s slots: children of the previous generation's top k first, then `n` new candidates."""
    slots: list[Slot] = []
    if number > 1:
        top = list(previous_top)[: settings.top]
        for i, parent in enumerate(top):
            operator = OPERATORS[i % len(OPERATORS)]
            if operator == "combine" and len(top) < 2:
                operator = "simplify"
            parents = (parent, top[(i + 1) % len(top)]) if operator == "combine" else (parent,)
            slots.append(Slot(len(slots), "evolve", operator, parents))
    for j in range(settings.n):
        strategy: Strategy
        gap = None
        if source.kind == "goal":
            strategy = "goal"
        elif source.kind == "gap" or (source.gaps and j % 2 == 1):
            strategy = "gap"
            gap = source.gaps[(j // 2 if source.kind == "page" else j) % len(source.gaps)] if source.gaps else None
        else:
            strategy = "grounded"
        slots.append(Slot(len(slots), "propose", strategy, (), gap))
    return slots


def stable(previous: Sequence[str], current: Sequence[str]) -> bool:
    """Whether two generations' top k are the same set, ranked alike (Kendall tau >= STABLE_TAU; one item: same)."""
    if not current or set(previous) != set(current):
        return False
    if len(current) == 1:
        return True
    from scipy.stats import kendalltau  # here: planning a generation needs no scipy

    where = {h: i for i, h in enumerate(previous)}
    tau = kendalltau([where[h] for h in current], list(range(len(current)))).statistic
    return bool(tau >= STABLE_TAU)


@dataclass
class GenerationLoop:
    """One run of the loop over the store. `debate` debates hypotheses (returns how many hold a completed debate);
    `rank` runs the pool's tournament; `pool` lists the pool's hypothesis ids; `over_budget` says when to stop;
    `stored` runs after new hypotheses are stored (the pages' links)."""

    sessions: sessionmaker[Session]
    generator: Generator
    dedup: Deduplicator
    source: Source
    settings: LoopSettings
    run: str
    debate: Callable[[Sequence[Hypothesis]], Awaitable[int]]
    rank: Callable[[Sequence[str]], Awaitable[Ranking]]
    pool: Callable[[Session], list[str]]
    over_budget: Callable[[], bool]
    stored: Callable[[Session], None] = lambda session: None
    progress: Callable[[str], None] = lambda message: None
    concurrency: int = 4
    summaries: list[GenerationSummary] = field(default_factory=list)
    _account: Account = field(init=False)

    def __post_init__(self) -> None:
        self._account = Account(self.generator.client.ledger)  # the calls of each answer, check and meta-review

    async def run_loop(self) -> LoopResult:
        self._account.attach()
        try:
            return await self._loop()
        finally:
            self._account.detach()

    async def _loop(self) -> LoopResult:
        with self.sessions() as session:
            runs.open_run_commit(
                session,
                self.run,
                source_kind=self.source.kind,
                source=self.source.value,
                page_slug=self.source.page_slug,
                settings={**self.settings.identity(), "generations": self.settings.generations},
            )
        previous: list[str] = []
        for number in range(1, self.settings.generations + 1):
            summary, done = await self._generation(number, previous)
            self.summaries.append(summary)
            if not done:
                return self._finish("budget", f"the budget was reached in generation {number}")
            stop = self._stop(number, summary, previous)
            if stop is not None:
                return self._finish(*stop)
            previous = summary.top
        raise AssertionError("unreachable: the last generation stops the loop")

    def _stop(self, number: int, summary: GenerationSummary, previous: Sequence[str]) -> tuple[StopReason, str] | None:
        if not summary.new:
            return "no-new", f"generation {number} added no new hypothesis ({summary.duplicates} duplicates)"
        if number > 1 and stable(previous, summary.top):
            return "stable", f"the top {len(summary.top)} held still from generation {number - 1} to {number}"
        if number >= self.settings.generations:
            return "generations", f"{number} generation(s) run, as asked"
        return None

    def _finish(self, stopped: StopReason, detail: str) -> LoopResult:
        with self.sessions() as session:
            runs.finish_run_commit(session, self.run, stopped, detail)
        self.progress(f"stopped: {detail}")
        return LoopResult(self.run, self.source, self.summaries, stopped, detail)

    async def _generation(self, number: int, previous: Sequence[str]) -> tuple[GenerationSummary, bool]:
        """Run generation `number` (or read it back when it is done). Returns its summary and False when the budget
        stopped it before it was ranked."""
        with self.sessions() as session:
            row = runs.generation_commit(session, self.run, number)
            if row.status == "done":
                return self._summary_of(session, row), True
        slots = plan(number, self.settings, self.source, previous)
        if not await self._answers(number, slots):
            return self._summary(number), False
        await self._settle(number)
        summary = self._summary(number)
        if self.over_budget():
            return summary, False
        self.progress(f"generation {number}: debating {len(summary.new)} new hypothesis(es)")
        with self.sessions() as session:
            pages = [self.source.page_slug] if self.source.page_slug else []
            fresh = [_hypothesis(v, pages) for v in stored.current_versions(session, summary.new)]
        summary.debated = await self.debate(fresh) if fresh else 0
        if self.over_budget():
            return summary, False
        with self.sessions() as session:
            pool = stored.debated(session, self.pool(session))
        ranking = await self.rank(pool) if len(pool) >= 2 else Ranking(None, list(pool))
        summary.top = ranking.order[: self.settings.top]
        await self._meta_review(number, summary.new)
        with self.sessions() as session:
            runs.close_generation_commit(
                session, self.run, number, debated=summary.debated, tournament_id=ranking.tournament_id, top=summary.top
            )
        self.progress(f"generation {number}: top {', '.join(summary.top) or '(none)'}")
        return summary, True

    # -- answers -------------------------------------------------------------------------------------------------

    async def _answers(self, number: int, slots: Sequence[Slot]) -> bool:
        """Ask every slot not answered yet (stored as each lands); False when the budget stopped them."""
        with self.sessions() as session:
            todo = [s for s in slots if runs.candidate(session, self.run, number, s.number) is None]
            parents = self._parents(session, [p for s in todo for p in s.parents])
            brief = self._brief(session, number)
        if todo:
            self.progress(f"generation {number}: asking {len(todo)} candidate(s)")
        gate = asyncio.Semaphore(self.concurrency)
        stopped = False

        async def one(slot: Slot) -> None:
            nonlocal stopped
            async with gate:
                if self.over_budget():
                    stopped = True
                    return
                await self._answer(number, slot, brief, parents)

        await asyncio.gather(*(one(s) for s in todo))
        return not stopped

    async def _answer(self, number: int, slot: Slot, brief: Brief, parents: dict[str, Parent]) -> None:
        draw_key = f"{self.run}:{number}:{slot.number}"
        model = self.settings.generator_model
        source = self.source.name if slot.kind == "propose" else f"evolve:{slot.strategy}"
        if slot.gap is not None:
            source = f"gap:{slot.gap[0]}"
        values: dict[str, Any] = {
            "run_id": self.run,
            "generation": number,
            "slot": slot.number,
            "strategy": slot.strategy,
            "source": source,
            "parents": list(slot.parents),
        }
        failed: str | None = None
        async with self._booked(draw_key, "evolve" if slot.kind == "evolve" else "generate") as calls:
            try:
                if slot.kind == "evolve":
                    chosen = [parents[p] for p in slot.parents if p in parents]
                    proposal = await self.generator.evolve(brief, slot.strategy, chosen, draw_key=draw_key, model=model)  # type: ignore[arg-type]
                else:
                    asked = brief if slot.gap is None else replace(brief, goal=slot.gap[1], source_kind="gap")
                    proposal = await self.generator.propose(asked, slot.strategy, draw_key=draw_key, model=model)  # type: ignore[arg-type]
            except TurnFailed as exc:
                failed = exc.reason
            except ValueError as exc:  # a slot the role cannot ask (e.g. a parent no longer stored)
                failed = str(exc)
        if failed is not None:
            values.update(_no_answer(failed, model or "", calls))
        if values.get("status") == "invalid":
            self.progress(f"generation {number}: slot {slot.number} {values['reason']}")
        else:
            values.update(_answered(proposal))
        with self.sessions() as session:
            runs.add_candidate_commit(session, values)

    @asynccontextmanager
    async def _booked(self, work: str, step: str) -> AsyncIterator[list[CallRecord]]:
        """Book the calls made in the block to `work`; when it ends (answered, failed or cancelled) they are stored
        in the usage table with `step` and added to the list it yields."""
        before = working_on.get()
        self._account.open(work)
        calls: list[CallRecord] = []
        try:
            yield calls
        finally:
            working_on.set(before)
            calls.extend(self._account.close(work))
            usage = [c.usage_row(batch_id=None, debate_id=None, step=step) for c in calls]
            with self.sessions() as session:
                runs.add_usage_commit(session, usage)

    def _brief(self, session: Session, number: int) -> Brief:
        """The source's brief with the pool's titles (not to be repeated) and the last generation's meta-review."""
        titles = [v.title for v in stored.current_versions(session, self.pool(session))]
        review = runs.meta_review(session, self.run, number - 1)
        text = _review_text(review.review) if review is not None else None
        return replace(self.source.brief, existing=tuple(titles[:200]), meta_review=text)

    def _parents(self, session: Session, ids: Sequence[str]) -> dict[str, Parent]:
        versions = stored.current_versions(session, sorted(set(ids)))
        debates = stored.newest_debates(session, [(v.id, v.content_hash) for v in versions])
        out: dict[str, Parent] = {}
        for v in versions:
            digest = stored_digest(debates.get((v.id, v.content_hash))).strongest_point
            out[v.id] = Parent(
                id=v.id,
                title=v.title,
                targets=v.targets,
                diseases=v.diseases,
                mechanism=v.mechanism,
                evidence=[{"claim": e.claim, "citation": e.citation, "stance": e.stance} for e in v.evidence],
                strongest_point=digest,
                score=None,
            )
        return out

    # -- settling: validate, merge duplicates, store the new ------------------------------------------------------

    async def _settle(self, number: int) -> None:
        """Settle the generation's pending answers in slot order: each is checked against the pool as it stands,
        the earlier answers of this generation included."""
        with self.sessions() as session:
            pending = [c for c in lineage.candidates_of(session, self.run, number) if c.status == "pending"]
        for row in pending:
            await self._settle_one(row, number)

    async def _settle_one(self, row: CandidateRow, number: int) -> None:
        """An answer that does not validate is invalid (its reason kept); one that makes the same claim as a pool
        hypothesis is merged into it (similarity and method kept); anything else is stored as a new hypothesis with
        its provenance and parents."""
        pages = [self.source.page_slug] if self.source.page_slug else []
        try:
            hypothesis = Hypothesis.model_validate({**(row.content or {}), "pages": pages})
        except ValidationError as exc:
            reason = validation_line(exc)
            with self.sessions() as session:
                runs.settle_candidate_commit(session, row.id, status="invalid", reason=reason)
            self.progress(f"generation {number}: slot {row.slot} invalid: {reason}")
            return
        with self.sessions() as session:
            pool = [_hypothesis(v) for v in stored.current_versions(session, self.pool(session))]
        async with self._booked(f"{self.run}:{number}:{row.slot}:duplicate", "duplicate"):
            match, checks = await self.dedup.match(hypothesis, pool)
        cost = _add_checks(row, checks)
        with self.sessions() as session:
            if match is not None:
                runs.settle_candidate_commit(
                    session,
                    row.id,
                    status="duplicate",
                    hypothesis_id=match.kept_id,
                    similarity=match.similarity,
                    method=match.method,
                    reason=match.reason,
                    **cost,
                )
                self.progress(
                    f"generation {number}: slot {row.slot} merged into {match.kept_id} "
                    f"(cosine {match.similarity:.2f}, {match.method})"
                )
                return
            repository.upsert_hypotheses(session, [hypothesis_record(hypothesis)])
            lineage.add_generated(session, hypothesis.hypothesis_id, self._provenance(row, number), row.parents)
            self.stored(session)
            session.commit()
            runs.settle_candidate_commit(session, row.id, status="new", hypothesis_id=hypothesis.hypothesis_id, **cost)
        self.progress(f"generation {number}: slot {row.slot} new {hypothesis.hypothesis_id} {hypothesis.title[:70]}")

    def _provenance(self, row: CandidateRow, number: int) -> dict[str, object]:
        return {
            "origin": "evolved" if row.parents else "generated",
            "strategy": row.strategy,
            "source_kind": self.source.kind,
            "source": row.source if row.source.startswith("gap:") else self.source.name,
            "model": row.model,
            "prompt_hash": row.prompt_hash,
            "run_id": self.run,
            "generation": number,
        }

    def _summary(self, number: int) -> GenerationSummary:
        with self.sessions() as session:
            rows = lineage.candidates_of(session, self.run, number)
        return _count(number, rows)

    def _summary_of(self, session: Session, row: GenerationRow) -> GenerationSummary:
        summary = _count(row.number, lineage.candidates_of(session, self.run, row.number))
        summary.debated, summary.top = row.debated, list(row.top)
        return summary

    async def _meta_review(self, number: int, new: Sequence[str]) -> None:
        with self.sessions() as session:
            if runs.meta_review(session, self.run, number) is not None or not new:
                return
            versions = stored.current_versions(session, list(new))
            debates = stored.newest_debates(session, [(v.id, v.content_hash) for v in versions])
        notes = [
            _notes(v.title, debates[(v.id, v.content_hash)]) for v in versions if (v.id, v.content_hash) in debates
        ]
        if not notes:
            return
        key = f"{self.run}:{number}:meta"
        try:
            async with self._booked(key, "meta_review"):
                review = await self.generator.meta_review(notes, draw_key=key, model=self.settings.generator_model)
        except TurnFailed as exc:
            self.progress(f"generation {number}: no meta-review ({exc.reason})")
            return
        with self.sessions() as session:
            runs.add_meta_review_commit(
                session,
                {
                    "run_id": self.run,
                    "generation": number,
                    "review": review.as_json(),
                    "debates": sorted(d.debate_id for d in debates.values()),
                    "prompt_hash": review.prompt_hash,
                    "asks": review.asks,
                    **review.record.answer_columns(),
                },
            )


def _count(number: int, rows: Sequence[CandidateRow]) -> GenerationSummary:
    return GenerationSummary(
        number,
        candidates=len(rows),
        duplicates=sum(r.status == "duplicate" for r in rows),
        invalid=sum(r.status == "invalid" for r in rows),
        new=[r.hypothesis_id for r in rows if r.status == "new" and r.hypothesis_id],
    )


def _answered(proposal: Proposal) -> dict[str, Any]:
    return {
        "content": proposal.hypothesis,
        "reasoning": proposal.reasoning,
        "status": "pending",
        "prompt_hash": proposal.prompt_hash,
        "asks": proposal.asks,
        **proposal.record.answer_columns(),
    }


def _no_answer(reason: str, model: str, calls: Sequence[CallRecord]) -> dict[str, Any]:
    """A slot whose asks all failed: stored as invalid (a re-run does not ask it again), with what its `calls` cost."""
    spent: dict[str, Any] = {
        "model": model,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "latency_s": 0.0,
        "cost_usd": 0.0,
        "attempts": 0,
        "cached_prompt_tokens": 0,
    }
    if calls:
        spent = {**combine(list(calls)).answer_columns(), "model": model or calls[-1].served_model}
    return {
        "content": None,
        "reasoning": "",
        "status": "invalid",
        "reason": f"no valid answer: {reason}",
        "prompt_hash": "",
        "asks": 0,
        **spent,
    }


def _hypothesis(v: stored.StoredHypothesis, pages: Sequence[str] = ()) -> Hypothesis:
    """A stored current version as the debate and dedup code take it; `pages`: the page it joins (a batch stores
    what it debates, pages included)."""
    return Hypothesis(
        id=v.id,
        pages=list(pages),
        title=v.title,
        targets=list(v.targets),
        target_label=v.label,
        mechanism=v.mechanism,
        diseases=list(v.diseases),
        evidence=[Evidence(claim=e.claim, citation=e.citation, stance=e.stance) for e in v.evidence],
    )


def _notes(title: str, debate: stored.StoredDebate) -> DebateNotes:
    points = [
        str(p.get("point", ""))
        for step, _, _, _, payload in debate.turns
        if step == "critique"
        for p in payload.get("points", [])
        if isinstance(p, dict)
    ]
    return DebateNotes(title=title, critique_points=points, judge_rationales=[s for s, _ in debate.verdicts])


def _review_text(review: dict[str, Any]) -> str:
    lines = [str(review.get("summary", ""))]
    lines += [f"- weakness raised often: {w}" for w in review.get("weaknesses", [])]
    lines += [f"- rewarded by the judges: {r}" for r in review.get("rewarded", [])]
    return "\n".join(line for line in lines if line)


def _add_checks(row: CandidateRow, checks: Sequence[CallRecord]) -> dict[str, Any]:
    """The candidate's cost columns with its duplicate checks' calls added."""
    return {
        "prompt_tokens": row.prompt_tokens + sum(r.prompt_tokens for r in checks),
        "completion_tokens": row.completion_tokens + sum(r.completion_tokens for r in checks),
        "latency_s": row.latency_s + sum(r.latency_s for r in checks),
        "cost_usd": total_cost([row.cost_usd, *(r.cost_usd for r in checks)]),
        "attempts": row.attempts + sum(r.attempts for r in checks),
        "cached_prompt_tokens": row.cached_prompt_tokens + sum(r.cached_prompt_tokens for r in checks),
    }
