"""An eval: score labelled rows under each protocol and measure how well the scores predict the labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from debates import queue as job_queue
from debates.eval_result import EvalResult
from debates.evaluation import EvalPlan, EvalRunner
from debates.labelled import Labelled, load_labelled, stratified_sample
from debates.runner import Progress
from debates.settings import DebateSettings
from hypodebate.app.options import DebateOptions, EvalOptions, check_dollar_budget
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError


def eval_rows(files: Sequence[str | Path], choice: EvalOptions, loaded: Sequence[Labelled] | None) -> list[Labelled]:
    """The labelled rows an eval scores: `loaded` (else read from `files`), sampled down to `choice.limit` by
    stratum; an eval with no protocol is refused here, before anything is asked."""
    rows = list(loaded) if loaded is not None else load_labelled(files)
    if choice.limit is not None:
        rows = stratified_sample(rows, choice.limit, choice.sample_seed)
    if not choice.protocols:
        raise InputError("--protocol: give at least one of single, debate, pairwise")
    return rows


@books("eval")
async def run_eval(
    ws: Workspace,
    files: Sequence[str | Path],
    options: DebateOptions,
    choice: EvalOptions,
    *,
    progress: Callable[[str, Progress], None] | None = None,
    loaded: Sequence[Labelled] | None = None,
    queue: bool = False,
) -> EvalResult:
    """The eval's figures (what `hypodebate eval --json` writes). `loaded`: the rows of `files` when the caller has
    already read them (the sample is still drawn here). `queue`: the debates and comparisons are jobs for
    `hypodebate worker`s on the PostgreSQL store (this process waits for them)."""
    rows = eval_rows(files, choice, loaded)
    debate_settings = options.debate(ws.settings)
    check_dollar_budget(ws.llm, options.budget_usd, ("proposer", "critic", "judge"), judges=debate_settings.judges)
    plan = EvalPlan(
        protocols=tuple(dict.fromkeys(choice.protocols)),
        no_evidence=choice.no_evidence,
        seed=choice.sample_seed,
        files=tuple(Path(f).name for f in files),
        sample={"limit": choice.limit, "seed": choice.sample_seed} if choice.limit is not None else None,
    )
    if not queue:
        return await _runner(ws, debate_settings, options, progress).run(rows, plan)
    ws.store  # noqa: B018 - opened first: a bad URL or database fails before the queue's URL is checked
    url = ws.queue_url()
    job_queue.install_schema(ws.store.engine)
    async with job_queue.open_queue(url) as jobs:
        runner = _runner(
            ws,
            debate_settings,
            options,
            progress,
            debates_via=lambda given: job_queue.queued_debates(jobs, given),
            comparisons_via=lambda given: job_queue.queued_comparisons(jobs, given),
        )
        return await runner.run(rows, plan)


def _runner(
    ws: Workspace,
    settings: DebateSettings,
    options: DebateOptions,
    progress: Callable[[str, Progress], None] | None,
    **via: Any,
) -> EvalRunner:
    return EvalRunner(
        **ws.runner_parts(),
        settings=settings,
        progress=progress,
        budget_tokens=options.budget_tokens,
        budget_usd=options.budget_usd,
        **via,
    )
