"""`generate --dry-run`: what a generation run would ask and spend, asking the model nothing and writing nothing.

The run is the one the command would resume (its id from the source, n, top and the generator's model): finished
generations and answered slots are left out, and a run that stopped for nothing new or a stable top asks nothing
more. What comes next depends on answers not given yet, so the estimate says three ways it may go: the value has
every remaining generation run with every candidate new (each debated, the pool's tournament growing by them, a
meta-review each); the bottom stops after the next generation's candidates all turn out duplicates; the top also
has every candidate checked for duplicates by the model. The candidates' prompts are rendered by the generator
itself; the debates, comparisons and meta-reviews are rendered for a stand-in hypothesis at the generator's caps
(the real ones are not written yet)."""

from __future__ import annotations

import math
from dataclasses import replace

from agents.dry_run import PromptCapture, filler, rendered
from agents.duplicate import DuplicateCheck
from agents.evolution import Caps, DebateNotes
from agents.generation import Generator
from debates.dry_batch import Counting, Part, calibrated, estimate_debates
from debates.dry_tournament import estimate_comparisons
from debates.estimate import Estimate, Figure, Key, Spend, StepModel, add_spends, bounded, call_spend, summary
from debates.generation import LoopSettings, plan, run_id
from debates.hypotheses import Evidence, Hypothesis
from debates.tournament import TournamentRunner
from hypodebate.app import generate as loop_app
from hypodebate.app.estimate import as_version, batch_runner, call_slots, counting_for, estimate_of
from hypodebate.app.generate import EMBEDDED_PAGE_CAP, GenerateOptions
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from scoring import pairing
from store import history, lineage
from store import tournaments as tournament_store
from store.models import GenerationRunRow

ENDED = ("no-new", "stable")  # a run stopped for these asks nothing more when run again


async def estimate_generate(ws: Workspace, options: GenerateOptions) -> Estimate:
    """What `generate` would ask for `options`' source."""
    if len([x for x in (options.page, options.gap, options.goal) if x]) != 1:
        raise InputError("give exactly one source: --page SLUG, --gap g-..., or --goal TEXT")
    embedded = ws.llm.resolved_provider == "embedded"
    page_cap = EMBEDDED_PAGE_CAP if embedded else 6000
    capture = PromptCapture(ws.llm)
    count = await counting_for(ws, capture)
    generator = Generator(capture, ws.prompts, page_cap=page_cap)  # type: ignore[arg-type]
    settings = LoopSettings(n=options.n, generations=options.generations, top=options.top)
    with ws.store() as session:
        source = loop_app._source(session, options, page_cap=page_cap)
        run = run_id(source, settings, ws.llm.model_for("generator"))
        row = session.get(GenerationRunRow, run)
        done = {g.number for g in lineage.generations_of(session, run) if g.status == "done"}
        answered = {g: len(lineage.candidates_of(session, run, g)) for g in range(1, options.generations + 1)}
        pool = tournament_store.debated(session, loop_app._pool(session, source, run))
        titles = [v.title for v in tournament_store.current_versions(session, pool)]
        past = history.role_calls(session, "generator", ws.llm.model_for("generator"))
    ended = row is not None and row.stopped in ENDED
    todo = [] if ended else [g for g in range(1, options.generations + 1) if g not in done]
    brief = replace(source.brief, existing=tuple(titles[:200]))
    slots = {g: max(0, len(plan(g, settings, source, ["?"] * options.top)) - answered[g]) for g in todo}
    step = StepModel(
        completion=summary([c.completion_tokens for c in past]), latency_s=summary([c.latency_s for c in past])
    )
    answers: list[dict[Key, Spend]] = []
    for slot in (s for s in plan(1, settings, source, []) if s.kind == "propose"):
        asked = brief if slot.gap is None else replace(brief, goal=slot.gap[1], source_kind="gap")
        ask = generator.propose(asked, slot.strategy, draw_key="dry-run")  # type: ignore[arg-type]
        one, _ = await rendered(ask, count.counter)
        answers.append({("generator", one.model): call_spend(one, step, count.assume)})
    per_candidate = calibrated(_mean(answers), count)  # an evolved child's prompt is taken as a new one's
    stand_in = representative(generator.limits())
    new = sum(slots.values())
    parts = {
        "candidates": Part(new, sum(answered.values()), _times(per_candidate, new), _said(past, "generator calls")),
        **await _downstream(ws, capture, count, options, stand_in, pool, [slots[g] for g in todo]),
    }
    parallel = min(call_slots(ws.llm), max(1, new))
    estimate = estimate_of(ws, "generate", parts, parallel=parallel, options=options.debate)
    first = slots[todo[0]] if todo else 0
    model_checks = options.use_llm_dedup and not embedded
    checks = await _duplicate_checks(ws, capture, count, stand_in, new) if model_checks else {}
    lowest = _times(per_candidate, first)
    estimate.spend = bounded(estimate.spend, lowest, add_spends(estimate.spend, checks))
    estimate.work = {
        "generations": Figure(len(todo), min(1, len(todo)), len(todo)),
        **{k: Figure(p.work, first if k == "candidates" else 0, p.work) for k, p in parts.items()},
    }
    estimate.notes.append(
        "the value has every remaining generation run and every candidate new; the range runs from the next "
        "generation's candidates all duplicates to every candidate also checked for duplicates by the model"
    )
    if ended:
        estimate.notes.append(f"run {run} stopped ({row.stopped if row else ''}): the same command asks nothing more")
    return estimate


def representative(caps: Caps) -> Hypothesis:
    """A stand-in for a hypothesis not generated yet: what the generator writes at its caps, its lists halfway."""
    return Hypothesis(
        title=filler(min(caps.title, 300)),
        targets=[f"GENE{k}" for k in range(1, math.ceil(caps.targets / 2) + 1)],
        mechanism=filler(caps.mechanism),
        diseases=[filler(40)] * math.ceil(caps.diseases / 2),
        evidence=[
            Evidence(claim=filler(caps.claim), citation=f"PMID:{k}") for k in range(1, math.ceil(caps.evidence / 2) + 1)
        ],
    )


async def _downstream(
    ws: Workspace,
    capture: PromptCapture,
    count: Counting,
    options: GenerateOptions,
    stand_in: Hypothesis,
    pool: list[str],
    new: list[int],
) -> dict[str, Part]:
    """Each remaining generation's debates of its new hypotheses, the pool's tournament grown by them, and its
    meta-review, all rendered for the stand-in."""
    settings = options.debate.debate(ws.settings)
    runner = batch_runner(ws, capture, settings)
    try:
        with ws.store() as session:
            one_debate = await estimate_debates(session, runner, [(stand_in, 0)], count, fresh=True)
    finally:
        runner.detach()
    judges = options.debate.judges or 1
    comparisons = _comparisons(len(pool), new, judges, options.matches)
    tournament = TournamentRunner(
        sessions=ws.store,
        client=capture,  # type: ignore[arg-type]
        rubric=ws.settings.scoring,
        prompts=ws.prompts,
        judges=judges,
    )
    try:
        with ws.store() as session:
            pair = [as_version(stand_in, "h-00000001"), as_version(stand_in, "h-00000002")]
            one_pair = await estimate_comparisons(session, tournament, pair, count, matches=judges)
    finally:
        tournament.detach()
    generator = Generator(capture, ws.prompts)  # type: ignore[arg-type]
    notes = [DebateNotes(stand_in.title, [filler(250)] * 2, [filler(300)] * settings.judges)] * max([1, *new])
    review, _ = await rendered(generator.meta_review(notes, draw_key="dry-run"), count.counter)
    reviewed = calibrated({("generator", review.model): call_spend(review, StepModel(), count.assume)}, count)
    reviews = sum(1 for n in new if n)
    return {
        "debates": Part(sum(new), 0, _per(one_debate, sum(new)), one_debate.history),
        "comparisons": Part(comparisons, 0, _per(one_pair, comparisons), one_pair.history),
        "meta_reviews": Part(reviews, 0, _times(reviewed, reviews), "rendered prompts and the caps"),
    }


def _per(part: Part, units: int) -> dict[Key, Spend]:
    """`units` units at what `part`'s units cost each."""
    return _times(part.spend, units / part.work) if part.work else {}


def _comparisons(pool: int, new: list[int], judges: int, matches: int | None) -> int:
    """Comparisons the pool's tournament asks over the generations: each run judges up to its budget of pairs in
    all (those judged before included), both orders per judge."""
    asked, size, judged = 0, pool, 0
    for added in new:
        size += added
        if size < 2:
            continue
        every = size * (size - 1) // 2
        budget = pairing.default_budget(size) if matches is None else -(-matches // judges)
        pairs = min(budget, every)
        asked += 2 * judges * max(0, pairs - judged)
        judged = max(judged, pairs)
    return asked


async def _duplicate_checks(
    ws: Workspace, capture: PromptCapture, count: Counting, stand_in: Hypothesis, candidates: int
) -> dict[Key, Spend]:
    """The most duplicate checks the model may be asked: one per candidate (the range's top)."""
    check = DuplicateCheck(capture, ws.prompts)  # type: ignore[arg-type]
    one, _ = await rendered(check.check(stand_in, stand_in), count.counter)
    spend = {("deduplicator", one.model): call_spend(one, StepModel(), count.assume)}
    return calibrated(_times(spend, candidates), count)


def _mean(spends: list[dict[Key, Spend]]) -> dict[Key, Spend]:
    return _times(add_spends(*spends), 1 / len(spends)) if spends else {}


def _times(spends: dict[Key, Spend], k: float) -> dict[Key, Spend]:
    return {key: s.scaled(k) for key, s in spends.items()}


def _said(past: list[history.PastCall], what: str) -> str:
    return f"the generator's model: {len(past)} past {what}" if past else "no history: rendered prompts and the caps"
