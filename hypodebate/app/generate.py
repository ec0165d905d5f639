"""Generate: fill a page's gaps (or a gap's, or a research goal's) with new hypotheses, merge duplicates, debate and
rank them, evolve the best, and stop when asked or when nothing changes (`hypodebate generate`).

This module gathers what the loop reads (the page's text, entities, gaps and bibliography), builds its parts (the
generator, the duplicate finder) on the workspace, and gives it the batch (`debate`) and the tournament (`rank`)
of the application, so a generated hypothesis is debated, audited and compared exactly like an imported one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.generation import BibItem, Brief, Generator
from agents.usage import Account
from debates import queue as job_queue
from debates.dedup import Deduplicator
from debates.generation import GenerationLoop, LoopResult, LoopSettings, Ranking, Source, run_id
from debates.hypotheses import Hypothesis
from debates.runner import Progress
from hypodebate.app.batch import batch_roles, job_runner, run_batch
from hypodebate.app.evidence import audit_evidence_in
from hypodebate.app.options import DebateOptions, check_dollar_budget
from hypodebate.app.tournament import run_tournament_of
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import lineage
from store import tournaments as tournament_store
from store.models import BibEntryRow, CandidateRow, GapRow, PageRow, ProvenanceRow
from wiki.entities import refresh_links
from wiki.related import page_entities

CITED = re.compile(r"\[@([A-Za-z0-9][\w:.-]{0,63})\]")
MAX_OFFERED = 80  # bibliography keys offered as the only citations (an enum in the schema)
EMBEDDED_PAGE_CAP = 1500  # characters of page text the embedded model reads (its context is small)


@dataclass(frozen=True)
class GenerateOptions:
    """`hypodebate generate`: one of `page`, `gap`, `goal`; `n` new candidates per generation, `top` evolved,
    `generations` at most; budgets count this command's calls; `queue`: debates and comparisons are jobs for
    workers; `matches`: most tournament matches per generation (default: the tournament's)."""

    page: str | None = None
    gap: str | None = None
    goal: str | None = None
    n: int = 4
    generations: int = 1
    top: int = 2
    matches: int | None = None
    queue: bool = False
    use_llm_dedup: bool = True
    debate: DebateOptions = field(default_factory=DebateOptions)


@dataclass
class GenerateResult:
    loop: LoopResult
    calls: int
    tokens: int
    cost_usd: float | None  # None: unknown (a model without a price in llm.prices)
    titles: dict[str, str]
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # of the prompt tokens, those the provider served from its cache

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.loop.run_id,
            "source": self.loop.source.name,
            "generations": [g.as_json() for g in self.loop.generations],
            "stopped": self.loop.stopped,
            "stop_detail": self.loop.detail,
            "calls": self.calls,
            "tokens": self.tokens,
            "prompt_tokens": self.prompt_tokens,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
        }


@books("generate")
async def generate(
    ws: Workspace, options: GenerateOptions, *, progress: Callable[[str], None] | None = None
) -> GenerateResult:
    """Run (or resume) the loop for `options`' source. Re-running the same command asks nothing already answered.
    A dollar budget with a model that has no price is refused (ConfigError) before anything is asked."""
    given = [x for x in (options.page, options.gap, options.goal) if x]
    if len(given) != 1:
        raise InputError("give exactly one source: --page SLUG, --gap g-..., or --goal TEXT")
    embedded = ws.settings.llm.resolved_provider == "embedded"
    roles = ("generator", *(("deduplicator",) if options.use_llm_dedup and not embedded else ()), *batch_roles(ws))
    judges = options.debate.debate(ws.settings).judges
    check_dollar_budget(ws.llm, options.debate.budget_usd, roles, judges=judges)
    with ws.store() as session:
        source = _source(session, options, page_cap=EMBEDDED_PAGE_CAP if embedded else 6000)
    generator = Generator(ws.client, ws.prompts, page_cap=EMBEDDED_PAGE_CAP if embedded else 6000)
    model = ws.llm.model_for("generator")
    settings = LoopSettings(n=options.n, generations=options.generations, top=options.top)
    run = run_id(source, settings, model)
    ledger = ws.client.ledger
    start = ledger.totals()
    say = progress or (lambda message: None)
    if embedded and options.use_llm_dedup:
        say("duplicates: embeddings and fields only (the embedded model cannot confirm a merge: README, Duplicates)")
    budget = options.debate
    account = Account(ledger=ledger)  # the command's spending, as the batch and tournament runners count it

    loop = GenerationLoop(
        sessions=ws.store,
        generator=generator,
        dedup=_deduplicator(ws, options.use_llm_dedup and not embedded),
        source=source,
        settings=settings,
        run=run,
        debate=_debater(ws, options, source, say),
        rank=_ranker(ws, options, source, run, say),
        pool=lambda session: _pool(session, source, run),
        over_budget=lambda: account.over_budget(tokens=budget.budget_tokens, usd=budget.budget_usd),
        stored=lambda session: refresh_links(session),
        progress=say,
        concurrency=ws.client.settings.concurrency,
    )
    result = await loop.run_loop()
    spent = ledger.totals() - start
    with ws.store() as session:
        ids = {h for g in result.generations for h in (*g.new, *g.top)}
        titles = {v.id: v.title for v in tournament_store.current_versions(session, sorted(ids))}
    return GenerateResult(
        result, spent.calls, spent.tokens, spent.cost_usd, titles, spent.prompt_tokens, spent.cached_prompt_tokens
    )


def _deduplicator(ws: Workspace, use_llm: bool) -> Deduplicator:
    from agents.duplicate import DuplicateCheck
    from debates.dedup import default_deduplicator

    checker = DuplicateCheck(ws.client, ws.prompts) if use_llm else None
    return default_deduplicator(checker)


def _debater(
    ws: Workspace, options: GenerateOptions, source: Source, say: Callable[[str], None]
) -> Callable[[Sequence[Hypothesis]], Any]:
    """Debate hypotheses with the batch's runner (here, or as queued jobs that workers run); returns how many now
    hold a completed debate. Says each debate that ends, and why one failed."""
    seen: set[tuple[int, int]] = set()

    def landed(p: Progress) -> None:
        if (p.completed + p.skipped, p.failed) not in seen and p.completed + p.skipped + p.failed:
            seen.add((p.completed + p.skipped, p.failed))
            say(f"  debates: {p.completed + p.skipped} of {p.total} done, {p.failed} failed · {p.tokens:,} tokens")

    async def debate(hypotheses: Sequence[Hypothesis]) -> int:
        if not options.queue:
            result = await run_batch(
                ws, [], options.debate, loaded=list(hypotheses), progress=landed, source=f"generate:{source.name}"
            )
            for outcome in (o for o in result.outcomes if o.status == "failed"):
                say(f"  debate of {outcome.hypothesis_id} failed: {outcome.reason}")
            return result.count("completed") + result.count("skipped")
        job = options.debate.job()
        job_queue.install_schema(ws.store.engine)
        async with job_queue.open_queue(ws.queue_url()) as jobs:
            # the runner a worker builds from the job's options (the same protocol, so it takes the jobs)
            runner = await job_runner(ws, job, replicates=options.debate.replicates)
            runner.dispatch = job_queue.queued_debates(jobs, job)
            try:
                result = await runner.run(list(hypotheses), source=f"generate:{source.name}")
            finally:
                runner.detach()
        await audit_evidence_in(ws, [h.hypothesis_id for h in hypotheses])
        return result.count("completed") + result.count("skipped")

    return debate


def _ranker(
    ws: Workspace, options: GenerateOptions, source: Source, run: str, say: Callable[[str], None]
) -> Callable[[Sequence[str]], Any]:
    """The pool's tournament (the page's, else the run's): its order, best first; failed comparisons said."""
    name = f"page:{source.page_slug}" if source.page_slug else f"run:{run}"

    async def rank(ids: Sequence[str]) -> Ranking:
        say(f"  tournament {name}: {len(ids)} hypotheses, both orders per pair")
        result = await run_tournament_of(
            ws, name, list(ids), options.debate, matches=options.matches, queue=options.queue
        )
        for cid, reason in result.failures:
            say(f"  comparison {cid} failed: {reason}")
        order = [r.id for r in sorted(result.ratings, key=lambda r: -r.rating)]
        return Ranking(result.tournament_id, order)

    return rank


def _pool(session: Session, source: Source, run: str) -> list[str]:
    """The hypotheses a run's candidates are checked against and ranked among: the page's related ones (the
    run's own carry the page) or, for a goal, the run's own."""
    if source.page_slug:
        page = session.get(PageRow, source.page_slug)
        if page is not None:
            return tournament_store.linked_to(session, page_entities(page))
    return sorted(
        set(session.scalars(select(ProvenanceRow.hypothesis_id).where(ProvenanceRow.run_id == run)))
        | {h for h in session.scalars(select(CandidateRow.hypothesis_id).where(CandidateRow.run_id == run)) if h}
    )


# -- the source ---------------------------------------------------------------------------------------------------


def _source(session: Session, options: GenerateOptions, *, page_cap: int) -> Source:
    if options.goal:
        goal = " ".join(options.goal.split())
        if not 10 <= len(goal) <= 1000:
            raise InputError("--goal: expected a research goal of 10 to 1,000 characters")
        brief = Brief(source_kind="goal", goal=goal, bibliography=_bibliography(session, None))
        return Source("goal", goal, None, brief)
    if options.gap:
        gap = session.get(GapRow, options.gap)
        if gap is None:
            raise InputError(
                f"--gap: no gap {options.gap!r} in the database (`hypodebate show PAGE` lists a page's gaps; "
                "`hypodebate pages import` reads them)"
            )
        page = session.get(PageRow, gap.page_slug)
        assert page is not None  # a gap is deleted with its page
        brief = _page_brief(session, page, goal=gap.title, kind="gap", cap=page_cap)
        return Source("gap", gap.id, page.slug, brief, ((gap.id, gap.title),))
    page = session.get(PageRow, options.page)
    if page is None:
        raise InputError(f"--page: no page {options.page!r} in the database (import it with `hypodebate pages import`)")
    brief = _page_brief(session, page, goal=f"the open questions of the page {page.title!r}", kind="page", cap=page_cap)
    gaps = tuple((g.id, g.title) for g in lineage.gaps_of(session, page.slug))
    return Source("page", page.slug, page.slug, brief, gaps)


def _page_brief(session: Session, page: PageRow, *, goal: str, kind: str, cap: int) -> Brief:
    return Brief(
        source_kind=kind,  # type: ignore[arg-type]
        goal=goal,
        page_title=page.title,
        page_text=page.markdown[: cap * 4],
        entities=tuple(page.entities),
        gaps=tuple(g.title for g in lineage.gaps_of(session, page.slug)),
        bibliography=_bibliography(session, page),
    )


def _bibliography(session: Session, page: PageRow | None) -> tuple[BibItem, ...]:
    """The citations offered: the bibliography entries the page cites or its References hold; for a goal, the
    whole bibliography when it is small enough to offer (else none: citations are then free and audited)."""
    if page is not None:
        keys = set(CITED.findall(page.markdown))
        rows = session.scalars(
            select(BibEntryRow).where((BibEntryRow.source == f"page:{page.slug}") | BibEntryRow.key.in_(sorted(keys)))
        ).all()
    else:
        rows = session.scalars(select(BibEntryRow).limit(MAX_OFFERED + 1)).all()
        if len(rows) > MAX_OFFERED:
            return ()
    rows = sorted(rows, key=lambda r: r.key)[:MAX_OFFERED]
    return tuple(BibItem(key=r.key, title=(r.title or "")[:200], year=r.year) for r in rows)
