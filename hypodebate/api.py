"""The Python entry point: `run_batch()` does what `hypodebate run` does and returns the results.

In a script, call `run_batch(...)`. Where an event loop is already running (a Jupyter notebook, an async
web handler) `run_batch` runs the batch on a worker thread with its own loop and blocks until it is done;
`await run_batch_async(...)` runs it on the running loop instead. `run_eval` and `run_tournament` work the same way.

This module is the stable facade over the application layer (hypodebate/app/): its names and keywords stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from debates.eval_result import EvalResult
from debates.evaluation import ProtocolName
from debates.hypotheses import Hypothesis
from debates.labelled import Labelled
from debates.runner import BatchResult, Progress
from debates.tournament import TournamentProgress, TournamentResult
from hypodebate.app import batch, tournament
from hypodebate.app import eval as evaluation
from hypodebate.app.bridge import run_to_completion
from hypodebate.app.options import DebateOptions, EvalOptions, Pool, as_files
from hypodebate.app.workspace import Workspace
from hypodebate.config import Settings, load_settings

Paths = str | Path | Sequence[str | Path]


def run_batch(
    paths: Paths,
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
    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)
    return run_to_completion(lambda: _batch(settings, db, paths, options, progress, versions, None))


async def run_batch_async(
    paths: Paths,
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
    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)
    return await _batch(settings, db, paths, options, progress, versions, loaded)


async def _batch(
    settings: Settings,
    db: str | None,
    paths: Paths,
    options: DebateOptions,
    progress: Callable[[Progress], None] | None,
    versions: Sequence[str],
    loaded: Sequence[Hypothesis] | None,
) -> BatchResult:
    async with Workspace(settings, db, llm=options.llm(settings)) as ws:
        return await batch.run_batch(ws, as_files(paths), options, progress=progress, versions=versions, loaded=loaded)


def run_eval(
    paths: Paths,
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
) -> EvalResult:
    """Score labelled rows (JSON Lines with `label`, as in examples/eval/) under each protocol and measure how
    well the scores predict the labels: AUROC, Brier, ECE, pairwise accuracy, per stratum, with 95% intervals.

    Returns the figures as a dict (what `hypodebate eval --json` writes). Every call is a stored debate: a rerun
    resumes and costs nothing. `limit` draws a stratified sample of about `limit` rows per file (`sample_seed`).

        >>> result = run_eval("examples/eval/target_disease_outcomes.dev.jsonl", limit=60, rounds=1, judges=2)
        >>> result["protocols"]["debate"]["auroc"]
    """
    settings = settings or load_settings(config)
    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)
    choice = EvalOptions(tuple(protocols), limit, sample_seed, no_evidence)
    return run_to_completion(lambda: _eval(settings, db, paths, options, choice, progress, None, False))


async def run_eval_async(
    paths: Paths,
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
) -> EvalResult:
    """`run_eval` on the running event loop. `loaded`: the rows of `paths` when the caller has already read them
    with `debates.labelled.load_labelled` (the sample is still drawn here). `queue`: the debates and comparisons
    are jobs for `hypodebate worker`s on the PostgreSQL store (this process waits for them)."""
    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)
    choice = EvalOptions(tuple(protocols), limit, sample_seed, no_evidence)
    return await _eval(settings, db, paths, options, choice, progress, loaded, queue)


async def _eval(
    settings: Settings,
    db: str | None,
    paths: Paths,
    options: DebateOptions,
    choice: EvalOptions,
    progress: Callable[[str, Progress], None] | None,
    loaded: Sequence[Labelled] | None,
    queue: bool,
) -> EvalResult:
    async with Workspace(settings, db, llm=options.llm(settings)) as ws:
        files = as_files(paths)
        return await evaluation.run_eval(ws, files, options, choice, progress=progress, loaded=loaded, queue=queue)


def run_tournament(
    *,
    page: str | None = None,
    batch: str | None = None,
    hypotheses: Paths | None = None,
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
    pool = Pool(page, batch, tuple(as_files(hypotheses)))
    options = DebateOptions(concurrency=concurrency, judges=judges, budget_usd=budget_usd)
    return run_to_completion(lambda: _tournament(settings, db, pool, options, matches, progress, queue))


async def run_tournament_async(
    *,
    settings: Settings,
    page: str | None = None,
    batch: str | None = None,
    hypotheses: Paths | None = None,
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
    pool = Pool(page, batch, tuple(as_files(hypotheses)))
    options = DebateOptions(concurrency=concurrency, judges=judges, budget_usd=budget_usd)
    return await _tournament(settings, db, pool, options, matches, progress, queue)


async def _tournament(
    settings: Settings,
    db: str | None,
    pool: Pool,
    options: DebateOptions,
    matches: int | None,
    progress: Callable[[TournamentProgress], None] | None,
    queue: bool,
) -> TournamentResult:
    async with Workspace(settings, db, llm=options.llm(settings)) as ws:
        return await tournament.run_tournament(ws, pool, options, matches=matches, progress=progress, queue=queue)
