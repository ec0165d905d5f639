"""`--dry-run`: what `run`, `eval`, `tournament` and `evidence` would ask and spend, asking the model nothing and
writing nothing (`generate`: hypodebate/app/estimate_generate.py).

Each command's own planning decides what would be asked: its runners are built as the command builds them, on a
`PromptCapture` client in place of the LLM client (the same protocol, so the same debate, comparison and claim-check
ids, and the same stored work skipped), and debates/dry_batch.py and debates/dry_tournament.py count what is left.
The embedded model is never loaded: its tokenizer is, vocabulary only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agents.audit import Auditor, Penalty
from agents.dry_run import PromptCapture, counter_for, rendered
from agents.roles import Roles
from agents.settings import LLMSettings
from agents.subject import Subject
from agents.verifier import ClaimVerifier
from debates import schedule
from debates.dry_batch import Counting, Part, calibrated, calibration, estimate_debates, sample
from debates.dry_tournament import answer_model, answer_spreads, cached_share, estimate_comparisons
from debates.estimate import Assume, Estimate, Figure, Key, Spend, add_spends, call_spend, scale_spends, with_spread
from debates.evaluation import run_order
from debates.graph import Design
from debates.hypotheses import Hypothesis
from debates.inputs import load_hypotheses
from debates.labelled import Labelled
from debates.runner import BatchRunner
from debates.settings import DebateSettings
from debates.tournament import TournamentRunner
from evidence.audit import audit_version, with_checks
from evidence.resolve import Bibliography
from hypodebate.app import batch
from hypodebate.app.eval import eval_rows
from hypodebate.app.evidence import audit_runner
from hypodebate.app.options import DebateOptions, EvalOptions, Pool
from hypodebate.app.tournament import MAX_POOL, pool_of
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import evidence as evidence_store
from store import history, lineage
from store import tournaments as tournament_store
from store.evidence import CitedTurn
from store.tournaments import StoredEvidence, StoredHypothesis

WORK = {"claim_checks": "claim checks", "meta_reviews": "meta-reviews"}  # else the key as it is


def assumed_seconds(llm: LLMSettings) -> tuple[Assume, str]:
    """Seconds a call takes where history does not say, and the assumption in words."""
    if llm.resolved_provider == "embedded":
        return (
            lambda p, c: Figure(p / 600 + c / 45, p / 1200 + c / 80, p / 300 + c / 20),
            "no history of seconds per call: assumed 300–1,200 prompt and 20–80 completion tokens a second "
            "(the embedded model on 2–4 cores)",
        )
    return (
        lambda p, c: Figure(0.5 + c / 70, 0.3 + c / 150, 1.5 + c / 30),
        "no history of seconds per call: assumed 0.3–1.5 s plus 30–150 completion tokens a second (a hosted model)",
    )


def call_slots(llm: LLMSettings) -> int:
    """Calls at once: the embedded model answers one at a time."""
    return 1 if llm.resolved_provider == "embedded" else llm.concurrency


async def counting_for(ws: Workspace, capture: PromptCapture) -> Counting:
    """The token counter for the provider, calibrated on this database's past openings by the proposer's model."""
    counter = counter_for(ws.llm)
    assume, _ = assumed_seconds(ws.llm)
    roles = Roles(capture, ws.prompts, ws.settings.scoring)  # type: ignore[arg-type]
    model = ws.llm.model_for("proposer")
    with ws.store() as session:
        factor = await calibration(session, roles, counter, model)
    return Counting(counter, assume, {model: factor} if factor is not None else {})


def estimate_of(
    ws: Workspace, command: str, parts: Mapping[str, Part], *, parallel: int, options: DebateOptions | None = None
) -> Estimate:
    """The estimate of a command made of `parts` (debates, comparisons, claim checks), priced; `options`: its
    budgets, which may stop it before all of that is asked."""
    spend = add_spends(*(p.spend for p in parts.values()))
    models = {model for _, model in spend}
    estimate = Estimate(
        command=command,
        work={name: Figure.exact(p.work) for name, p in parts.items()},
        stored={name: p.stored for name, p in parts.items()},
        spend=spend,
        prices={model: ws.llm.price(model) for model in models},
        parallel=max(1, parallel),
        history=[f"{WORK.get(name, name)}: {p.history if p.work else 'none to ask'}" for name, p in parts.items()],
    )
    _, assumption = assumed_seconds(ws.llm)
    if any("no history" in p.history for p in parts.values() if p.work):
        estimate.notes.append(assumption)
    if options is not None and (options.budget_usd is not None or options.budget_tokens is not None):
        estimate.notes.append("a budget stops the command starting new work once spent: it may ask less than this")
    return estimate


def batch_runner(
    ws: Workspace, capture: PromptCapture, settings: DebateSettings, *, design: Design = "symmetric-closing",
    auditor: Auditor | None = None,
) -> BatchRunner:  # fmt: skip
    """A batch runner as the command builds it, on the capturing client."""
    return BatchRunner(
        sessions=ws.store,
        client=capture,  # type: ignore[arg-type]
        rubric=ws.settings.scoring,
        prompts=ws.prompts,
        settings=settings,
        design=design,
        auditor=auditor,
    )


async def estimate_batch(
    ws: Workspace,
    files: Sequence[str | Path],
    options: DebateOptions,
    *,
    versions: Sequence[str] = (),
    loaded: Sequence[Hypothesis] | None = None,
) -> Estimate:
    """What `run` would ask: the evidence's claim checks first (with `evidence.verify_before_debate`), then every
    (hypothesis, replicate) not debated yet under the batch's protocol."""
    hypotheses, _ = batch._hypotheses(files, versions, loaded)
    hypotheses = batch._stored(ws, versions, hypotheses)
    settings = options.debate(ws.settings)
    capture = PromptCapture(ws.llm)
    count = await counting_for(ws, capture)
    parts: dict[str, Part] = {}
    e, auditor = ws.settings.evidence, None
    if e.judges_see_audit:
        auditor = audit_runner(ws, verify=False).auditor(
            Penalty(e.penalty_dimension, e.penalty_cap) if e.penalize else None
        )
        if e.verify_before_debate:
            parts["claim_checks"] = await claim_checks(
                ws, capture, count, [(h.hypothesis_id, h, []) for h in hypotheses]
            )
    runner = batch_runner(ws, capture, settings, auditor=auditor)
    try:
        with ws.store() as session:
            debates = schedule.batch_debates(hypotheses, settings.replicates)
            parts["debates"] = await estimate_debates(session, runner, debates, count)
    finally:
        runner.detach()
    slots = min(call_slots(ws.llm), parts["debates"].work)
    return estimate_of(ws, "run", parts, parallel=slots, options=options)


async def claim_checks(
    ws: Workspace,
    capture: PromptCapture,
    count: Counting,
    versions: Sequence[tuple[str, Subject, Sequence[CitedTurn]]],
) -> Part:
    """The claim checks the audit would ask for `versions` (hypothesis id, version, its debates' cited turns): each
    (statement, claim, source) once, ever; online lookups are not made."""
    checker = audit_runner(ws, verify=False)
    with ws.store() as session:
        bibliography = Bibliography(evidence_store.entries(session))
        written = lineage.model_written(session, [i for i, _, _ in versions])
        audits = [(h, audit_version(h, t, bibliography, model_written=i in written)) for i, h, t in versions]
        pending = checker._pending(audits)  # the runner's own choice of what is still to check
        wanted = {i.check_id for h, items in audits for i in with_checks(h.title, items, checker.protocol, {})}
        past = history.past_claim_checks(session, protocol_hash=checker.protocol)
        source = f"verifier protocol {checker.protocol}"
        if not past:
            model = ws.llm.model_for("verifier")
            past, source = history.past_claim_checks(session, model=model), f"verifier {model}"
    step, share = answer_model(past), cached_share(past)
    verifier = ClaimVerifier(capture, ws.prompts)  # type: ignore[arg-type]
    spends: list[dict[Key, Spend]] = []
    for cid, (statement, item) in sample(list(pending.items())):
        one, _ = await rendered(
            verifier.check(statement, item.claim, item.resolution.entry, draw_key=cid), count.counter
        )  # type: ignore[arg-type]
        spends.append({("verifier", one.model): call_spend(one, step, count.assume, share)})
    total = calibrated(scale_spends(add_spends(*spends), len(pending) / len(spends)) if spends else {}, count)
    if past:
        total = with_spread(total, *answer_spreads(past))
    said = f"{source}: {len(past)} past claim checks" if past else "no history: rendered prompts and the caps"
    return Part(len(pending), len(wanted - {None}) - len(pending), total, said)


async def estimate_evidence(
    ws: Workspace,
    *,
    hypotheses: Sequence[str] | None,
    verify: bool,
    concurrency: int | None,
    page: str | None = None,
) -> Estimate:
    """What `evidence` would ask: the claim checks of the chosen hypotheses' evidence and debates not stored yet
    (a page's citations are resolved in code: nothing to ask)."""
    if page is not None:
        if hypotheses:
            raise InputError("give --page or --hypothesis, not both")
        nothing = Part(0, 0, {}, "a page's citations are resolved in code, never checked by the model")
        return estimate_of(ws, "evidence", {"claim_checks": nothing}, parallel=1)
    capture = PromptCapture(ws.llm)
    with ws.store() as session:
        if hypotheses:
            missing = sorted(set(hypotheses) - set(evidence_store.audited_ids(session, hypotheses)))
            if missing:
                raise InputError(
                    f"--hypothesis {missing[0]}: no such hypothesis (expected a stored id, e.g. h-2600483e)"
                )
        chosen = evidence_store.audited_ids(session, hypotheses)
        versions = evidence_store.versions_with_turns(session, chosen)
    parts: dict[str, Part] = {}
    if verify:
        count = await counting_for(ws, capture)
        parts["claim_checks"] = await claim_checks(ws, capture, count, [(h.id, h, turns) for h, turns in versions])
    else:
        parts["claim_checks"] = Part(0, 0, {}, "--no-verify: no claim is checked")
    default = ws.llm.embedded.concurrency if ws.llm.resolved_provider == "embedded" else ws.llm.concurrency
    slots = min(concurrency or default, call_slots(ws.llm))
    estimate = estimate_of(ws, "evidence", parts, parallel=min(slots, parts["claim_checks"].work))
    if ws.settings.evidence.online:
        estimate.notes.append("online lookups are not made in a dry run: identifiers found online may add checks")
    return estimate


def as_version(subject: Subject, hypothesis_id: str) -> StoredHypothesis:
    """A hypothesis as the tournament reads its current version once stored."""
    return StoredHypothesis(
        id=hypothesis_id,
        content_hash=subject.content_hash,
        title=subject.title,
        targets=tuple(subject.targets),
        label=subject.label,
        mechanism=subject.mechanism,
        diseases=tuple(subject.diseases),
        evidence=tuple(StoredEvidence(e.claim, e.citation, e.stance) for e in subject.evidence),
    )


async def estimate_tournament(ws: Workspace, pool: Pool, options: DebateOptions, *, matches: int | None) -> Estimate:
    """What `tournament` would ask: the comparisons of the pool not stored yet under its protocol."""
    if sum(bool(x) for x in (pool.page, pool.batch, pool.files)) != 1:
        raise InputError("give exactly one pool: --page SLUG, --batch b-..., or --hypotheses FILE")
    capture = PromptCapture(ws.llm)
    count = await counting_for(ws, capture)
    runner = TournamentRunner(
        sessions=ws.store,
        client=capture,  # type: ignore[arg-type]
        rubric=ws.settings.scoring,
        prompts=ws.prompts,
        judges=options.judges or 1,
        concurrency=call_slots(ws.llm),
    )
    try:
        with ws.store() as session:
            versions = _pool_versions(session, pool)
            part = await estimate_comparisons(session, runner, versions, count, matches=matches)
    finally:
        runner.detach()
    slots = min(call_slots(ws.llm), part.work)
    return estimate_of(ws, "tournament", {"comparisons": part}, parallel=slots, options=options)


def _pool_versions(session: object, pool: Pool) -> list[StoredHypothesis]:
    """The pool's current versions: a page's or a batch's as stored, a file's as storing them would make them (the
    dry run stores nothing)."""
    if not pool.files:
        _, ids = pool_of(session, pool, [])  # type: ignore[arg-type]
        return tournament_store.current_versions(session, ids)  # type: ignore[arg-type]
    loaded = load_hypotheses(pool.files)
    versions = list({h.hypothesis_id: as_version(h, h.hypothesis_id) for h in loaded}.values())
    name = "file:" + ", ".join(Path(f).name for f in pool.files)
    if len(versions) < 2:
        raise InputError(f"{name}: {len(versions)} hypothesis(es); a tournament compares at least 2")
    if len(versions) > MAX_POOL:
        raise InputError(f"{name}: {len(versions):,} hypotheses; a tournament ranks at most {MAX_POOL:,}")
    return versions


async def estimate_eval(
    ws: Workspace,
    files: Sequence[str | Path],
    options: DebateOptions,
    choice: EvalOptions,
    *,
    loaded: Sequence[Labelled] | None = None,
) -> Estimate:
    """What `eval` would ask: each arm's debates (single: the panel alone; debate: the full protocol) and the
    pairwise arm's comparisons, on the sample's rows in their run order, stored ones left out."""
    rows = eval_rows(files, choice, loaded)
    settings = options.debate(ws.settings)
    capture = PromptCapture(ws.llm)
    count = await counting_for(ws, capture)
    order = run_order(rows, choice.sample_seed)
    parts: list[dict[str, Part]] = []
    arms: dict[str, dict[str, object]] = {}
    for evidence in (True, False) if choice.no_evidence else (True,):
        variant = [r.subject if evidence else r.without_evidence() for r in rows]
        unique = list({variant[i].content_hash: variant[i] for i in order}.values())
        for protocol in dict.fromkeys(choice.protocols):
            name = f"{protocol}{'' if evidence else ':no-evidence'}"
            part = await _arm(ws, capture, count, protocol, settings, unique)
            kind = "comparisons" if protocol == "pairwise" else "debates"
            parts.append({kind: part})
            arms[name] = {kind: part.work, "stored": part.stored, "history": part.history}
    merged: dict[str, Part] = {}
    for part in parts:
        for kind, p in part.items():
            held = merged.get(kind)
            merged[kind] = (
                p
                if held is None
                else Part(held.work + p.work, held.stored + p.stored, add_spends(held.spend, p.spend), held.history)
            )
    work = max((p.work for p in merged.values()), default=0)
    estimate = estimate_of(ws, "eval", merged, parallel=min(call_slots(ws.llm), work), options=options)
    estimate.parts = arms
    estimate.history = [f"{name}: {arm['history']}" for name, arm in arms.items()]
    return estimate


async def _arm(
    ws: Workspace,
    capture: PromptCapture,
    count: Counting,
    protocol: str,
    settings: DebateSettings,
    subjects: Sequence[Hypothesis],
) -> Part:
    """One eval arm as debates/evaluation.py runs it: a tournament of the stated rows (no digests, one judge), or
    a batch under the arm's protocol (single: no debate, no rounds, the same panel; no evidence audit)."""
    if protocol == "pairwise":
        runner = TournamentRunner(
            sessions=ws.store,
            client=capture,  # type: ignore[arg-type]
            rubric=ws.settings.scoring,
            prompts=ws.prompts,
            concurrency=call_slots(ws.llm),
            digests=False,
        )
        versions = [as_version(s, s.hypothesis_id) for s in subjects]
        try:
            with ws.store() as session:
                return await estimate_comparisons(session, runner, versions, count, matches=None)
        finally:
            runner.detach()
    design: Design = "single-judge" if protocol == "single" else "symmetric-closing"
    if protocol == "single":
        settings = settings.model_copy(update={"rounds": 0, "early_stop": False})
    runner = batch_runner(ws, capture, settings, design=design)
    try:
        with ws.store() as session:
            return await estimate_debates(session, runner, schedule.batch_debates(subjects, settings.replicates), count)
    finally:
        runner.detach()
