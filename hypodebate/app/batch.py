"""A batch: debate, score and store hypotheses here (`run_batch`), or queue one job per debate for the workers
(`enqueue_batch`); `job_runner` builds the runner a queued job's options give."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.audit import Auditor
from agents.settings import Role
from debates.hypotheses import Hypothesis
from debates.inputs import load_hypotheses, stored_versions
from debates.runner import BatchResult, BatchRunner, Progress
from debates.settings import DebateSettings
from hypodebate.app.evidence import audit_runner, judge_auditor
from hypodebate.app.options import DebateOptions, check_dollar_budget
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError

if TYPE_CHECKING:  # the job queue (procrastinate, the debate graph) is imported by `run --queue` only
    from debates.queue import Enqueued


def _hypotheses(
    files: Sequence[str | Path], versions: Sequence[str], loaded: Sequence[Hypothesis] | None
) -> tuple[list[Hypothesis], str]:
    """The batch's hypotheses (read from `files` unless `loaded`, or the stored `versions`) and its source."""
    if versions and files:
        raise InputError("give hypothesis files or --version ids, not both")
    hypotheses = list(loaded) if loaded is not None else load_hypotheses(files) if files else []
    return hypotheses, ", ".join(map(str, files)) or "versions " + ", ".join(versions)


def _stored(ws: Workspace, versions: Sequence[str], hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """The stored `versions` as they are (ids such as h-2600483e.v2), else `hypotheses`. Opens the store: a bad URL
    or database fails here."""
    store = ws.store
    if not versions:
        return hypotheses
    with store() as session:
        return stored_versions(session, versions)


def batch_roles(ws: Workspace) -> tuple[Role, ...]:
    """The roles a batch calls: the debate's, and the verifier when the judges read an audit checked first."""
    e = ws.settings.evidence
    return ("proposer", "critic", "judge", *(("verifier",) if e.judges_see_audit and e.verify_before_debate else ()))


def batch_runner(ws: Workspace, settings: DebateSettings, auditor: Auditor | None, **given: Any) -> BatchRunner:
    """A batch runner on the workspace (its store, client, rubric and prompts); `given`: its other keywords."""
    return BatchRunner(**ws.runner_parts(), settings=settings, auditor=auditor, **given)


@books("run")
async def run_batch(
    ws: Workspace,
    files: Sequence[str | Path],
    options: DebateOptions,
    *,
    progress: Callable[[Progress], None] | None = None,
    versions: Sequence[str] = (),
    loaded: Sequence[Hypothesis] | None = None,
    source: str | None = None,
) -> BatchResult:
    """Debate every hypothesis of `files` (or the stored `versions`, or those `loaded` by the caller, named by
    `source`), score and store it; then refresh the evidence audit of the batch's hypotheses. Re-running skips
    completed debates and resumes interrupted ones. A dollar budget with a model that has no price is refused
    (ConfigError) before anything is asked."""
    hypotheses, named = _hypotheses(files, versions, loaded)
    source = source or named
    debate_settings = options.debate(ws.settings)
    check_dollar_budget(ws.llm, options.budget_usd, batch_roles(ws), judges=debate_settings.judges)
    hypotheses = _stored(ws, versions, hypotheses)
    # each with its id (a file may leave it to the content hash, hashed again whenever it is read): hashed once here
    hypotheses = [h if h.id else h.model_copy(update={"id": h.hypothesis_id}) for h in hypotheses]
    auditor = None
    if ws.settings.evidence.judges_see_audit:
        auditor, _ = await judge_auditor(ws, [(h.hypothesis_id, h) for h in hypotheses])
    runner = batch_runner(
        ws,
        debate_settings,
        auditor,
        progress=progress,
        budget_tokens=options.budget_tokens,
        budget_usd=options.budget_usd,
    )
    result = await runner.run(hypotheses, source=source, stored=bool(versions))
    # the debates' citations join the stored audit (resolved in code; `hypodebate evidence` checks their claims): the
    # hypotheses whose audit inputs changed are audited again, the others keep theirs
    ids = [h.hypothesis_id for h in hypotheses]
    audits = audit_runner(ws, verify=False)
    audit = await audits.refresh(ids)
    result.evidence = audits.stored_counts(ids)
    result.bibliography_entries = audit.entries
    result.audited = len(audit.audits)
    return result


async def enqueue_batch(
    ws: Workspace,
    files: Sequence[str | Path],
    options: DebateOptions,
    *,
    versions: Sequence[str] = (),
    loaded: Sequence[Hypothesis] | None = None,
) -> Enqueued:
    """Store the batch and defer one job per debate not yet done; returns at once (workers debate). The jobs carry
    `options.job()` (rounds, judges); the workers' own config.yaml gives the rest."""
    from debates import queue as job_queue

    url = ws.queue_url()
    hypotheses, source = _hypotheses(files, versions, loaded)
    hypotheses = _stored(ws, versions, hypotheses)
    job_queue.install_schema(ws.store.engine)
    # the client is never called here: the runner only states the protocol
    runner = await job_runner(ws, options.job(), replicates=options.replicates)
    async with job_queue.open_queue(url) as queue:
        return await job_queue.enqueue(
            queue, runner, hypotheses, source=source, options=options.job(), stored=bool(versions)
        )


async def job_runner(ws: Workspace, options: Mapping[str, Any], *, replicates: int | None = None) -> BatchRunner:
    """The runner a job's options and this process's config.yaml give: `rounds` and `judges` override the config;
    `early_stop`, `design` and `audit` (whether the judges read the evidence audit) are set by eval's arms."""
    debate_settings = DebateOptions.of_job(options, replicates).debate(ws.settings)
    if "early_stop" in options:
        debate_settings = debate_settings.model_copy(update={"early_stop": bool(options["early_stop"])})
    auditor = None
    if options.get("audit", ws.settings.evidence.judges_see_audit):  # its protocol: each debate's audit comes later
        auditor, _ = await judge_auditor(ws, [])
    return batch_runner(ws, debate_settings, auditor, design=options.get("design", "symmetric-closing"))
