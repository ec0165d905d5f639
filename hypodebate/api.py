"""The Python entry point: `run_batch()` does what `hypodebate run` does and returns the results.

In a script, call `run_batch(...)`. Where an event loop is already running (a Jupyter notebook, an async
web handler) `run_batch` runs the batch on a worker thread with its own loop and blocks until it is done;
`await run_batch_async(...)` runs it on the running loop instead. `run_eval`, `run_tournament`, `generate` and
`find_duplicates` work the same way.

This module is the stable facade over the application layer (hypodebate/app/): its names and keywords stay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from debates.eval_figures import ProtocolName
from debates.eval_result import EvalResult
from debates.hypotheses import Hypothesis
from debates.labelled import Labelled
from debates.runner import BatchResult, Progress
from debates.tournament_result import TournamentProgress, TournamentResult
from hypodebate.app import batch, tournament
from hypodebate.app import eval as evaluation
from hypodebate.app.bridge import run_to_completion
from hypodebate.app.options import DebateOptions, EvalOptions, Pool, as_files
from hypodebate.app.workspace import Workspace
from hypodebate.config import Settings, load_settings

if TYPE_CHECKING:
    from hypodebate.app.generate import GenerateResult

Paths = str | Path | Sequence[str | Path]
Config = str | Path | None  # a config.yaml path (default ./config.yaml)


class BatchKeywords(TypedDict, total=False):
    """The keywords of `run_batch` and `run_batch_async` (all optional)."""

    db: str | None  # database URL (default: HYPODEBATE_DATABASE_URL, then config.yaml)
    concurrency: int | None  # LLM call slots; debates in flight are `debate.in_flight`
    replicates: int | None
    rounds: int | None
    judges: int | None
    budget_tokens: int | None  # start no new debate past this many tokens
    budget_usd: float | None  # start no new debate past this estimated cost
    progress: Callable[[Progress], None] | None
    versions: Sequence[str]  # stored version ids to debate instead of files (h-2600483e.v2)


class EvalKeywords(TypedDict, total=False):
    """The keywords of `run_eval` and `run_eval_async` (all optional)."""

    db: str | None
    protocols: Sequence[ProtocolName]  # default: single and debate
    rounds: int | None
    judges: int | None
    replicates: int | None
    limit: int | None  # a stratified sample of about `limit` rows per file
    sample_seed: int  # the sample's and the bootstrap's seed (default 0)
    no_evidence: bool  # also score every row with its evidence removed
    concurrency: int | None
    budget_tokens: int | None
    budget_usd: float | None
    progress: Callable[[str, Progress], None] | None


class TournamentKeywords(TypedDict, total=False):
    """The keywords of `run_tournament` and `run_tournament_async` (all optional; give exactly one pool)."""

    page: str | None  # a wiki page's related hypotheses (its slug)
    batch: str | None  # a batch's hypotheses (b-...)
    hypotheses: Paths | None  # the hypotheses of files
    db: str | None
    matches: int | None  # most matches in all
    budget_usd: float | None
    judges: int  # independent pairwise judges per pair (default 1)
    concurrency: int | None
    progress: Callable[[TournamentProgress], None] | None
    queue: bool  # comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits for them


def run_batch(
    paths: Paths,
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    **keywords: Unpack[BatchKeywords],
) -> BatchResult:
    """Debate every hypothesis in `paths` (YAML or JSONL), score and store it; return outcomes and ranking.

    Re-running with the same files and settings skips completed debates and resumes interrupted ones.
    `versions` (ids such as h-2600483e.v2, e.g. revisions offered in rebuttals) debates stored versions as
    they are; they do not become their hypothesis's current content. `settings`: default, `config` (a
    config.yaml path, default ./config.yaml) read with the environment. The other keywords: `BatchKeywords`.

        >>> result = run_batch("examples/neurodegeneration.yaml", rounds=1, judges=2)
        >>> [(r.id, round(r.score, 2)) for r in result.ranking[:3]]

    Inside a running event loop (a notebook) the batch runs on a worker thread with its own event loop, and
    `progress` is called from that thread; `await run_batch_async(...)` keeps it on the running loop.
    """
    settings = _settings(settings, config, keywords, BatchKeywords)
    return run_to_completion(lambda: run_batch_async(paths, settings=settings, **keywords))


async def run_batch_async(
    paths: Paths, *, settings: Settings, loaded: Sequence[Hypothesis] | None = None, **keywords: Unpack[BatchKeywords]
) -> BatchResult:
    """`run_batch` on the running event loop. `loaded`: the hypotheses of `paths` when the caller has already
    read them with `debates.inputs.load_hypotheses` (the files are then not read again)."""
    _check(keywords, BatchKeywords)
    options = _options(keywords)
    async with Workspace(settings, keywords.get("db"), llm=options.llm(settings)) as ws:
        versions, progress = keywords.get("versions", ()), keywords.get("progress")
        return await batch.run_batch(ws, as_files(paths), options, progress=progress, versions=versions, loaded=loaded)


def run_eval(
    paths: Paths,
    *,
    settings: Settings | None = None,
    config: str | Path | None = None,
    **keywords: Unpack[EvalKeywords],
) -> EvalResult:
    """Score labelled rows (JSON Lines with `label`, as in examples/eval/) under each protocol and measure how
    well the scores predict the labels: AUROC, Brier, ECE, pairwise accuracy, per stratum, with 95% intervals.

    Returns the figures as a dict (what `hypodebate eval --json` writes). Every call is a stored debate: a rerun
    resumes and costs nothing. `limit` draws a stratified sample of about `limit` rows per file (`sample_seed`).
    The keywords: `EvalKeywords`.

        >>> result = run_eval("examples/eval/target_disease_outcomes.dev.jsonl", limit=60, rounds=1, judges=2)
        >>> result["protocols"]["debate"]["auroc"]
    """
    settings = _settings(settings, config, keywords, EvalKeywords)
    return run_to_completion(lambda: run_eval_async(paths, settings=settings, **keywords))


async def run_eval_async(
    paths: Paths,
    *,
    settings: Settings,
    loaded: Sequence[Labelled] | None = None,
    queue: bool = False,
    **keywords: Unpack[EvalKeywords],
) -> EvalResult:
    """`run_eval` on the running event loop. `loaded`: the rows of `paths` when the caller has already read them
    with `debates.labelled.load_labelled` (the sample is still drawn here). `queue`: the debates and comparisons
    are jobs for `hypodebate worker`s on the PostgreSQL store (this process waits for them)."""
    _check(keywords, EvalKeywords)
    options = _options(keywords)
    choice = EvalOptions(
        tuple(keywords.get("protocols", ("single", "debate"))),
        keywords.get("limit"),
        keywords.get("sample_seed", 0),
        keywords.get("no_evidence", False),
    )
    async with Workspace(settings, keywords.get("db"), llm=options.llm(settings)) as ws:
        files, progress = as_files(paths), keywords.get("progress")
        return await evaluation.run_eval(ws, files, options, choice, progress=progress, loaded=loaded, queue=queue)


def run_tournament(
    *, settings: Settings | None = None, config: Config = None, **keywords: Unpack[TournamentKeywords]
) -> TournamentResult:
    """Rank a pool by pairwise comparison, every pair judged in both orders, and fit Bradley-Terry ratings.

    The pool is one of: a wiki page's related hypotheses (`page`, its slug) or a batch's (`batch`, b-…), each
    with at least one completed debate, or the hypotheses of files (`hypotheses`). Comparisons are stored as they
    land: a repeated tournament asks nothing again, a killed one resumes. The keywords: `TournamentKeywords`.

        >>> result = run_tournament(batch="b-1a2b3c4d", judges=1)
        >>> [(r.id, round(r.rating), round(r.lo), round(r.hi)) for r in result.ratings]
    """
    settings = _settings(settings, config, keywords, TournamentKeywords)
    return run_to_completion(lambda: run_tournament_async(settings=settings, **keywords))


async def run_tournament_async(*, settings: Settings, **keywords: Unpack[TournamentKeywords]) -> TournamentResult:
    """`run_tournament` on the running event loop. `queue`: the comparisons are jobs for `hypodebate worker`s on the
    PostgreSQL store (this process waits for them)."""
    _check(keywords, TournamentKeywords)
    pool = Pool(keywords.get("page"), keywords.get("batch"), tuple(as_files(keywords.get("hypotheses"))))
    options = DebateOptions(
        concurrency=keywords.get("concurrency"), judges=keywords.get("judges", 1), budget_usd=keywords.get("budget_usd")
    )
    async with Workspace(settings, keywords.get("db"), llm=options.llm(settings)) as ws:
        matches, progress, queue = keywords.get("matches"), keywords.get("progress"), keywords.get("queue", False)
        return await tournament.run_tournament(ws, pool, options, matches=matches, progress=progress, queue=queue)


class GenerateKeywords(TypedDict, total=False):
    """The keywords of `generate` and `generate_async` (all optional; give exactly one source)."""

    page: str | None  # fill a wiki page's gaps (its slug)
    gap: str | None  # one gap (g-...)
    goal: str | None  # a research goal in words
    n: int  # new candidates per generation (default 4)
    generations: int  # most generations (default 1)
    top: int  # the best k of each generation evolve (default 2)
    matches: int | None  # most tournament matches per generation
    rounds: int | None
    judges: int | None
    budget_tokens: int | None
    budget_usd: float | None
    use_llm_dedup: bool  # confirm every merge with the model (default True; never on the embedded model)
    queue: bool  # debates and comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits for them
    concurrency: int | None
    db: str | None
    progress: Callable[[str], None] | None


def generate(
    *, settings: Settings | None = None, config: Config = None, **keywords: Unpack[GenerateKeywords]
) -> GenerateResult:
    """Generate hypotheses from a page's gaps, one gap or a goal; merge duplicates; debate, rank and evolve them
    (what `hypodebate generate` does). Returns the run (`.as_json()`: source, generations, stopped, calls, tokens,
    cost_usd). The same call again asks nothing already answered.

        >>> result = generate(page="therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration", n=4)
        >>> result.loop.stopped, [g.top for g in result.loop.generations]
    """
    settings = _settings(settings, config, keywords, GenerateKeywords)
    return run_to_completion(lambda: generate_async(settings=settings, **keywords))


async def generate_async(*, settings: Settings, **keywords: Unpack[GenerateKeywords]) -> GenerateResult:
    """`generate` on the running event loop."""
    from hypodebate.app.generate import GenerateOptions, generate

    _check(keywords, GenerateKeywords)
    given = {k: v for k, v in keywords.items() if k in GenerateOptions.__dataclass_fields__}
    options = GenerateOptions(**given, debate=_options(keywords))  # type: ignore[arg-type]
    async with Workspace(settings, keywords.get("db"), llm=options.debate.llm(settings)) as ws:
        return await generate(ws, options, progress=keywords.get("progress"))


def find_duplicates(
    paths: Paths, *, use_llm: bool = True, settings: Settings | None = None, config: Config = None
) -> dict[str, Any]:
    """Duplicate groups among hypothesis files (what `hypodebate dedup` writes with --json): `{"model",
    "threshold", "groups": [[id, id, ...], ...]}`, ids as the files give them. `use_llm=False`: embeddings and
    fields only."""
    settings = settings or load_settings(config)
    return run_to_completion(lambda: find_duplicates_async(paths, use_llm=use_llm, settings=settings))


async def find_duplicates_async(paths: Paths, *, use_llm: bool = True, settings: Settings) -> dict[str, Any]:
    from hypodebate.app.dedup import dedup_files

    async with Workspace(settings) as ws:
        return await dedup_files(ws, as_files(paths), use_llm=use_llm)


def _check(keywords: Mapping[str, Any], allowed: type) -> None:
    """A keyword the function does not take is a TypeError, as it is for any Python function."""
    unknown = sorted(set(keywords) - set(allowed.__annotations__))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (expected one of {allowed.__name__})")


def _settings(
    given: Settings | None, config: str | Path | None, keywords: Mapping[str, Any], allowed: type
) -> Settings:
    """The settings given, else config.yaml read with the environment; bad keywords fail before anything runs."""
    _check(keywords, allowed)
    return given or load_settings(config)


def _options(keywords: Mapping[str, Any]) -> DebateOptions:
    fields = ("concurrency", "replicates", "rounds", "judges", "budget_tokens", "budget_usd")
    return DebateOptions(**{name: keywords.get(name) for name in fields})
