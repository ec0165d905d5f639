"""The Python entry point: `run_batch()` does what `hypodebate run` does and returns the results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from agents.factory import make_client
from agents.prompts import load_prompts
from debates.inputs import InputError, load_hypotheses, stored_versions
from debates.runner import BatchResult, BatchRunner, Progress
from hypodebate.config import Settings, load_settings
from store.engine import open_store


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
    """
    settings = settings or load_settings(config)
    return asyncio.run(
        run_batch_async(
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
) -> BatchResult:
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if versions and files:
        raise InputError("give hypothesis files or --version ids, not both")
    hypotheses = load_hypotheses(files) if files else []
    overrides = {
        k: v
        for k, v in {"concurrency": concurrency, "replicates": replicates, "rounds": rounds, "judges": judges}.items()
        if v is not None
    }
    debate_settings = settings.debate.model_validate({**settings.debate.model_dump(), **overrides})
    llm = settings.llm
    if concurrency is not None:
        llm = llm.model_validate({**llm.model_dump(), "api_key": llm.api_key, "concurrency": concurrency})
    sessions = open_store(db or settings.store.url)
    if versions:
        try:
            with sessions() as session:
                hypotheses = stored_versions(session, versions)
        except InputError:
            sessions.kw["bind"].dispose()
            raise
    client = make_client(llm)
    try:
        runner = BatchRunner(
            client=client,
            sessions=sessions,
            settings=debate_settings,
            rubric=settings.scoring,
            prompts=load_prompts(),
            progress=progress,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
        )
        source = ", ".join(map(str, files)) or "versions " + ", ".join(versions)
        return await runner.run(hypotheses, source=source, stored=bool(versions))
    finally:
        await client.aclose()
        sessions.kw["bind"].dispose()
