"""The Python entry point: `run_batch()` does what `hypodebate run` does and returns the results.

In a script, call `run_batch(...)`. Where an event loop is already running (a Jupyter notebook, an async
web handler) `run_batch` runs the batch on a worker thread with its own loop and blocks until it is done;
`await run_batch_async(...)` runs it on the running loop instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agents.factory import make_client
from agents.prompts import load_prompts
from agents.settings import LLMSettings
from debates.evaluation import EvalPlan, EvalRunner, ProtocolName
from debates.hypotheses import Hypothesis
from debates.inputs import InputError, load_hypotheses, stored_versions
from debates.labelled import Labelled, load_labelled, stratified_sample
from debates.runner import BatchResult, BatchRunner, Progress, hypothesis_record
from debates.settings import DebateSettings
from debates.tournament import TournamentProgress, TournamentResult, TournamentRunner
from evidence.audit import counts
from hypodebate.config import Settings, load_settings
from hypodebate.evidence_api import audit_evidence_in, judge_auditor
from store import repository
from store import tournaments as tournament_store
from store.engine import open_store
from store.models import BatchRow, PageRow
from wiki.related import page_entities

T = TypeVar("T")
MAX_POOL = 2000  # hypotheses one tournament ranks


def run_batch(
    paths: str | Path | Sequence[str | Path],
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    db: str | None = None,
    concurrency: int | None = None,
    replicates: int | None = None,
    rounds: int | None = None,
    judges: int | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    versions: Sequence[str] = (),
) -> BatchResult:
    """Debate every hypothesis in `paths` (YAML or JSONL), score and store it; return outcomes and ranking.

    Re-running with the same files and settings skips completed debates and resumes interrupted ones.
    `versions` (ids such as h-2600483e.v2, e.g. revisions offered in rebuttals) debates stored versions as
    they are; they do not become their hypothesis's current content.

        >>> result = run_batch("examples/neurodegeneration.yaml", rounds=1, judges=2)
        >>> [(r.id, round(r.score, 2)) for r in result.ranking[:3]]

    Inside a running event loop (a notebook) the batch runs on a worker thread with its own event loop, and
    `progress` is called from that thread; `await run_batch_async(...)` keeps it on the running loop.
    """
    settings = settings or load_settings(config)
    return _run_to_completion(
        lambda: run_batch_async(
            paths,
            settings=settings,
            db=db,
            concurrency=concurrency,
            replicates=replicates,
            rounds=rounds,
            judges=judges,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            progress=progress,
            versions=versions,
        )
    )


def run_eval(
    paths: str | Path | Sequence[str | Path],
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    db: str | None = None,
    protocols: Sequence[ProtocolName] = ("single", "debate"),
    rounds: int | None = None,
    judges: int | None = None,
    replicates: int | None = None,
    limit: int | None = None,
    sample_seed: int = 0,
    no_evidence: bool = False,
    concurrency: int | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    progress: Callable[[str, Progress], None] | None = None,
) -> dict[str, Any]:
    """Score labelled rows (JSON Lines with `label`, as in examples/eval/) under each protocol and measure how
    well the scores predict the labels: AUROC, Brier, ECE, pairwise accuracy, per stratum, with 95% intervals.

    Returns the figures as a dict (what `hypodebate eval --json` writes). Every call is a stored debate: a rerun
    resumes and costs nothing. `limit` draws a stratified sample of about `limit` rows per file (`sample_seed`).

        >>> result = run_eval("examples/eval/target_disease_outcomes.dev.jsonl", limit=60, rounds=1, judges=2)
        >>> result["protocols"]["debate"]["auroc"]
    """
    settings = settings or load_settings(config)
    return _run_to_completion(
        lambda: run_eval_async(
            paths,
            settings=settings,
            db=db,
            protocols=protocols,
            rounds=rounds,
            judges=judges,
            replicates=replicates,
            limit=limit,
            sample_seed=sample_seed,
            no_evidence=no_evidence,
            concurrency=concurrency,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            progress=progress,
        )
    )


async def run_eval_async(
    paths: str | Path | Sequence[str | Path],
    *,
    settings: Settings,
    db: str | None = None,
    protocols: Sequence[ProtocolName] = ("single", "debate"),
    rounds: int | None = None,
    judges: int | None = None,
    replicates: int | None = None,
    limit: int | None = None,
    sample_seed: int = 0,
    no_evidence: bool = False,
    concurrency: int | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    progress: Callable[[str, Progress], None] | None = None,
    loaded: Sequence[Labelled] | None = None,
    queue: bool = False,
) -> dict[str, Any]:
    """`run_eval` on the running event loop. `loaded`: the rows of `paths` when the caller has already read them
    with `debates.labelled.load_labelled` (the sample is still drawn here)."""
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    rows = list(loaded) if loaded is not None else load_labelled(files)
    if limit is not None:
        rows = stratified_sample(rows, limit, sample_seed)
    if not protocols:
        raise InputError("--protocol: give at least one of single, debate, pairwise")
    debate_settings, llm = _overrides(settings, concurrency, replicates, rounds, judges)
    sessions = open_store(db or settings.store.url)
    client = make_client(llm)
    try:
        runner = EvalRunner(
            client=client,
            sessions=sessions,
            settings=debate_settings,
            rubric=settings.scoring,
            prompts=load_prompts(),
            progress=progress,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
        )
        plan = EvalPlan(
            protocols=tuple(dict.fromkeys(protocols)),
            no_evidence=no_evidence,
            seed=sample_seed,
            files=tuple(Path(f).name for f in files),
            sample={"limit": limit, "seed": sample_seed} if limit is not None else None,
        )
        if not queue:
            return await runner.run(rows, plan)
        from debates import queue as job_queue
        from hypodebate.queue_api import queue_url

        url = queue_url(settings, db)
        job_queue.install_schema(sessions.engine)
        async with job_queue.open_queue(url) as jobs:
            runner.debates_via = lambda options: job_queue.queued_debates(jobs, options)
            runner.comparisons_via = lambda options: job_queue.queued_comparisons(jobs, options)
            return await runner.run(rows, plan)
    finally:
        await client.aclose()
        sessions.close()


def run_tournament(
    *,
    page: str | None = None,
    batch: str | None = None,
    hypotheses: str | Path | Sequence[str | Path] | None = None,
    settings: Settings | None = None,
    config: str | Path | None = None,
    db: str | None = None,
    matches: int | None = None,
    budget_usd: float | None = None,
    judges: int = 1,
    concurrency: int | None = None,
    progress: Callable[[TournamentProgress], None] | None = None,
    queue: bool = False,
) -> TournamentResult:
    """Rank a pool by pairwise comparison, every pair judged in both orders, and fit Bradley-Terry ratings.

    The pool is one of: a wiki page's related hypotheses (`page`, its slug) or a batch's (`batch`, b-…), each
    with at least one completed debate, or the hypotheses of files (`hypotheses`). Comparisons are stored as they
    land: a repeated tournament asks nothing again, a killed one resumes.

        >>> result = run_tournament(batch="b-1a2b3c4d", judges=1)
        >>> [(r.id, round(r.rating), round(r.lo), round(r.hi)) for r in result.ratings]
    """
    settings = settings or load_settings(config)
    return _run_to_completion(
        lambda: run_tournament_async(
            page=page,
            batch=batch,
            hypotheses=hypotheses,
            settings=settings,
            db=db,
            matches=matches,
            budget_usd=budget_usd,
            judges=judges,
            concurrency=concurrency,
            progress=progress,
            queue=queue,
        )
    )


async def run_tournament_async(
    *,
    settings: Settings,
    page: str | None = None,
    batch: str | None = None,
    hypotheses: str | Path | Sequence[str | Path] | None = None,
    db: str | None = None,
    matches: int | None = None,
    budget_usd: float | None = None,
    judges: int = 1,
    concurrency: int | None = None,
    progress: Callable[[TournamentProgress], None] | None = None,
    queue: bool = False,
) -> TournamentResult:
    """`run_tournament` on the running event loop. `queue`: the comparisons are jobs for `hypodebate worker`s on the
    PostgreSQL store (this process waits for them)."""
    files = [hypotheses] if isinstance(hypotheses, (str, Path)) else list(hypotheses or [])
    if sum(bool(x) for x in (page, batch, files)) != 1:
        raise InputError("give exactly one pool: --page SLUG, --batch b-..., or --hypotheses FILE")
    loaded = load_hypotheses(files) if files else []  # bad input fails here, before anything is stored
    _, llm = _overrides(settings, concurrency, None, None, None)
    sessions = open_store(db or settings.store.url)
    try:
        with sessions() as session:
            pool, ids = _pool(session, page, batch, files, loaded)
        client = make_client(llm)
        try:
            runner = TournamentRunner(
                client=client,
                sessions=sessions,
                rubric=settings.scoring,
                prompts=load_prompts(),
                judges=judges,
                concurrency=client.settings.concurrency,  # comparisons in flight: one per call slot
                budget_usd=budget_usd,
                progress=progress,
            )
            if not queue:
                return await runner.run(pool, ids, matches=matches)
            from debates import queue as job_queue
            from hypodebate.queue_api import queue_url

            url = queue_url(settings, db)
            job_queue.install_schema(sessions.engine)
            async with job_queue.open_queue(url) as jobs:
                runner.dispatch = job_queue.queued_comparisons(jobs, {"judges": judges, "digests": True})
                return await runner.run(pool, ids, matches=matches)
        finally:
            await client.aclose()
    finally:
        sessions.close()


def _pool(
    session: Any, page: str | None, batch: str | None, files: Sequence[str | Path], loaded: Sequence[Hypothesis]
) -> tuple[str, list[str]]:
    """The pool's name and its hypotheses; a page's or a batch's are those with a completed debate."""
    if page:
        row = session.get(PageRow, page)
        if row is None:
            raise InputError(f"--page: no page {page!r} in the database (import it with `hypodebate pages import`)")
        pool, ids = (
            f"page:{page}",
            tournament_store.debated(session, tournament_store.linked_to(session, page_entities(row))),
        )
    elif batch:
        if session.get(BatchRow, batch) is None:
            raise InputError(f"--batch: no batch {batch!r} in the database (`hypodebate report` lists batches)")
        pool, ids = f"batch:{batch}", tournament_store.debated(session, tournament_store.in_batch(session, batch))
    else:
        repository.upsert_hypotheses(session, [hypothesis_record(h) for h in loaded])
        session.commit()
        pool, ids = "file:" + ", ".join(Path(f).name for f in files), sorted({h.hypothesis_id for h in loaded})
    if len(ids) < 2:
        held = "" if files else " with a completed debate"
        raise InputError(f"{pool}: {len(ids)} hypothesis(es){held}; a tournament compares at least 2")
    if len(ids) > MAX_POOL:
        raise InputError(
            f"{pool}: {len(ids):,} hypotheses; a tournament ranks at most {MAX_POOL:,} (its intervals invert an n×n "
            "matrix): rank a batch (--batch) or a file (--hypotheses) instead"
        )
    return pool, ids


def _overrides(
    settings: Settings,
    concurrency: int | None,
    replicates: int | None,
    rounds: int | None,
    judges: int | None,
) -> tuple[DebateSettings, LLMSettings]:
    """The debate and LLM settings with the command's overrides applied. `concurrency` is LLM call slots (debates in
    flight are `debate.in_flight`); the embedded model answers one call at a time, with `llm.embedded.concurrency`
    debates in flight."""
    given = {"replicates": replicates, "rounds": rounds, "judges": judges}
    overrides: dict[str, int] = {k: v for k, v in given.items() if v is not None}
    if settings.llm.resolved_provider == "embedded":
        overrides["in_flight"] = settings.llm.embedded.concurrency  # one in-process model: see EmbeddedSettings
    debate_settings = settings.debate.model_validate({**settings.debate.model_dump(), **overrides})
    llm = settings.llm
    if concurrency is not None:
        llm = llm.model_validate({**llm.model_dump(), "api_key": llm.api_key, "concurrency": concurrency})
    return debate_settings, llm


def _run_to_completion(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run(make()), or, when this thread already runs a loop, the same on a worker thread.

    The coroutine is created where it runs, so nothing is left un-awaited if the run cannot start."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    running: dict[str, Any] = {}

    async def main() -> T:
        running["loop"], running["task"] = asyncio.get_running_loop(), asyncio.current_task()
        return await make()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hypodebate-run-batch")
    future = pool.submit(lambda: asyncio.run(main()))
    try:
        return future.result()
    except BaseException:  # an interrupt (Ctrl-C, a notebook's stop button) cancels the batch; finished debates stay
        if not future.done() and "task" in running:
            running["loop"].call_soon_threadsafe(running["task"].cancel)
        raise
    finally:
        pool.shutdown(wait=False)


async def run_batch_async(
    paths: str | Path | Sequence[str | Path],
    *,
    settings: Settings,
    db: str | None = None,
    concurrency: int | None = None,
    replicates: int | None = None,
    rounds: int | None = None,
    judges: int | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    versions: Sequence[str] = (),
    loaded: Sequence[Hypothesis] | None = None,
) -> BatchResult:
    """`run_batch` on the running event loop. `loaded`: the hypotheses of `paths` when the caller has already
    read them with `debates.inputs.load_hypotheses` (the files are then not read again)."""
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if versions and files:
        raise InputError("give hypothesis files or --version ids, not both")
    hypotheses = list(loaded) if loaded is not None else load_hypotheses(files) if files else []
    debate_settings, llm = _overrides(settings, concurrency, replicates, rounds, judges)
    sessions = open_store(db or settings.store.url)
    if versions:
        try:
            with sessions() as session:
                hypotheses = stored_versions(session, versions)
        except InputError:
            sessions.close()
            raise
    client = make_client(llm)
    try:
        auditor = None
        if settings.evidence.judges_see_audit:
            subjects = [(h.hypothesis_id, h) for h in hypotheses]
            auditor, _ = await judge_auditor(settings, sessions, client, subjects, client.settings.concurrency)
        runner = BatchRunner(
            client=client,
            sessions=sessions,
            settings=debate_settings,
            rubric=settings.scoring,
            prompts=load_prompts(),
            progress=progress,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            auditor=auditor,
        )
        source = ", ".join(map(str, files)) or "versions " + ", ".join(versions)
        result = await runner.run(hypotheses, source=source, stored=bool(versions))
        # the debates' citations join the stored audit (resolved in code; `hypodebate evidence` checks their claims)
        audit = await audit_evidence_in(settings, sessions, [h.hypothesis_id for h in hypotheses])
        result.evidence = counts([i for a in audit.audits for i in a.items])
        result.bibliography_entries = audit.entries
        return result
    finally:
        await client.aclose()
        sessions.close()
