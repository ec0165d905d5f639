"""A tournament: rank a pool by pairwise comparison (both orders per pair) and fit Bradley-Terry ratings.

The pool rules live here: a page's or a batch's hypotheses with a completed debate, or a file's; at least 2, and at
most `MAX_POOL` (the intervals invert an n×n matrix)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from debates import queue as job_queue
from debates.hypotheses import Hypothesis
from debates.inputs import load_hypotheses
from debates.rows import hypothesis_record
from debates.tournament import Dispatch, TournamentRunner
from debates.tournament_result import TournamentProgress, TournamentResult
from hypodebate.app.options import DebateOptions, Pool, check_dollar_budget
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import repository
from store import tournaments as tournament_store
from store.models import BatchRow, PageRow
from wiki.related import page_entities

MAX_POOL = 2000  # hypotheses one tournament ranks


async def run_tournament(
    ws: Workspace,
    pool: Pool,
    options: DebateOptions,
    *,
    matches: int | None = None,
    progress: Callable[[TournamentProgress], None] | None = None,
    queue: bool = False,
) -> TournamentResult:
    """Rank `pool`; `options.judges` (default 1) independent pairwise judges per pair, `options.budget_usd`, and as
    many comparisons in flight as the client has call slots. Comparisons are stored as they land: a repeated
    tournament asks nothing again, a killed one resumes. `queue`: the comparisons are jobs for `hypodebate worker`s
    on the PostgreSQL store (this process waits for them)."""
    if sum(bool(x) for x in (pool.page, pool.batch, pool.files)) != 1:
        raise InputError("give exactly one pool: --page SLUG, --batch b-..., or --hypotheses FILE")
    check_dollar_budget(ws.llm, options.budget_usd, ("judge",))  # every judge of the panel
    loaded = load_hypotheses(pool.files) if pool.files else []  # bad input fails here, before anything is stored
    with ws.store() as session:
        name, ids = pool_of(session, pool, loaded)
    return await run_tournament_of(ws, name, ids, options, matches=matches, progress=progress, queue=queue)


@books("tournament")
async def run_tournament_of(
    ws: Workspace,
    name: str,
    ids: list[str],
    options: DebateOptions,
    *,
    matches: int | None = None,
    progress: Callable[[TournamentProgress], None] | None = None,
    queue: bool = False,
) -> TournamentResult:
    """Rank the hypotheses `ids` as the pool `name` (page:<slug>, run:<r-id>, ...): `run_tournament` once the pool
    is known."""
    check_dollar_budget(ws.llm, options.budget_usd, ("judge",))
    judges = options.judges or 1
    if not queue:
        return await _runner(ws, judges, options, progress).run(name, ids, matches=matches)
    url = ws.queue_url()
    job_queue.install_schema(ws.store.engine)
    async with job_queue.open_queue(url) as jobs:
        dispatch = job_queue.queued_comparisons(jobs, {"judges": judges, "digests": True})
        return await _runner(ws, judges, options, progress, dispatch).run(name, ids, matches=matches)


def _runner(
    ws: Workspace,
    judges: int,
    options: DebateOptions,
    progress: Callable[[TournamentProgress], None] | None,
    dispatch: Dispatch | None = None,
) -> TournamentRunner:
    return TournamentRunner(
        **ws.runner_parts(),
        judges=judges,
        concurrency=ws.client.settings.concurrency,  # comparisons in flight: one per call slot
        budget_usd=options.budget_usd,
        progress=progress,
        dispatch=dispatch,
    )


def pool_of(session: Session, pool: Pool, loaded: Sequence[Hypothesis]) -> tuple[str, list[str]]:
    """The pool's name and its hypotheses; a page's or a batch's are those with a completed debate, a file's are
    stored here."""
    if pool.page:
        row = session.get(PageRow, pool.page)
        if row is None:
            raise InputError(
                f"--page: no page {pool.page!r} in the database (import it with `hypodebate pages import`)"
            )
        linked = tournament_store.linked_to(session, page_entities(row))
        name, ids = f"page:{pool.page}", tournament_store.debated(session, linked)
    elif pool.batch:
        if session.get(BatchRow, pool.batch) is None:
            raise InputError(f"--batch: no batch {pool.batch!r} in the database (`hypodebate report` lists batches)")
        in_batch = tournament_store.in_batch(session, pool.batch)
        name, ids = f"batch:{pool.batch}", tournament_store.debated(session, in_batch)
    else:
        repository.upsert_hypotheses(session, [hypothesis_record(h) for h in loaded])
        session.commit()
        name = "file:" + ", ".join(Path(f).name for f in pool.files)
        ids = sorted({h.hypothesis_id for h in loaded})
    if len(ids) < 2:
        held = "" if pool.files else " with a completed debate"
        raise InputError(f"{name}: {len(ids)} hypothesis(es){held}; a tournament compares at least 2")
    if len(ids) > MAX_POOL:
        raise InputError(
            f"{name}: {len(ids):,} hypotheses; a tournament ranks at most {MAX_POOL:,} (its intervals invert an n×n "
            "matrix): rank a batch (--batch) or a file (--hypotheses) instead"
        )
    return name, ids
