"""`hypodebate generate` with scripted generators behind the real client: duplicates merge into the earlier
hypothesis with their similarity kept, a reversed claim stays apart, children record their parents, the meta-review
reaches the next generation, a citation outside the offered bibliography is never stored, a free-form invented
citation is audited as fabricated, a killed run resumes without asking a slot twice, and the same command run again
asks nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hypodebate.app.generate import GenerateOptions, GenerateResult, generate
from hypodebate.app.options import DebateOptions
from hypodebate.app.pages import import_pages_with_references
from hypodebate.app.workspace import Workspace
from safeio.errors import InputError
from store import lineage
from store.models import (
    CandidateRow,
    CitationAuditRow,
    GenerationRunRow,
    HypothesisRow,
    LineageRow,
    MetaReviewRow,
    ProvenanceRow,
)
from tests.chaos_support import run_env
from tests.generators import NLRP3, SIRT1, SIRT1_REVERSED, SIRT1_REWORDED, TREM2, ScriptedGenerator, numbered
from tests.helpers import REPO, query_rows, settings_for
from tests.loopback import LoopbackServer

SLUG = "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration"
PAGE = REPO / "examples" / "pages" / f"{SLUG}.txt"
DEBATE = DebateOptions(rounds=1, judges=2)


def _workspace(server: LoopbackServer, tmp_path: Path, db: str, extra: str = "") -> Workspace:
    return Workspace(settings_for(server, tmp_path, concurrency=1, extra=extra), db)


def _import_page(ws: Workspace, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir(exist_ok=True)
    shutil.copy(PAGE, pages / PAGE.name)
    with ws:
        import_pages_with_references(ws, [pages / PAGE.name], root=pages)


def _generate(ws: Workspace, **options: object) -> GenerateResult:
    return ws.run(lambda ws: generate(ws, GenerateOptions(debate=DEBATE, **options)))  # type: ignore[arg-type]


def _candidates(db: str, ws: Workspace) -> list[CandidateRow]:
    with ws.store() as session:
        rows = session.scalars(select(CandidateRow).order_by(CandidateRow.generation, CandidateRow.slot)).all()
        session.expunge_all()
        return list(rows)


def test_a_page_run_merges_a_paraphrase_keeps_a_reversal_and_evolves_children_beside_their_parents(
    judge_server, tmp_path, db
):
    generator = ScriptedGenerator(answers=[SIRT1, SIRT1_REWORDED, SIRT1_REVERSED, NLRP3], fallback=numbered)
    server = judge_server(generator)
    ws = _workspace(server, tmp_path, db)
    _import_page(ws, tmp_path)
    result = _generate(ws, page=SLUG, n=4, generations=2, top=2)

    first, second = result.loop.generations
    assert (first.candidates, first.duplicates, len(first.new)) == (4, 1, 3)
    rows = _candidates(db, ws)
    kept, reworded, reversed_, _ = rows[:4]
    # the paraphrase is merged into the earlier hypothesis, recorded with its similarity, never dropped
    assert kept.status == "new" and reworded.status == "duplicate"
    assert reworded.hypothesis_id == kept.hypothesis_id
    assert reworded.similarity is not None and reworded.similarity >= 0.75
    assert reworded.method and reworded.content and reworded.content["title"] == SIRT1_REWORDED["title"]
    # the same words with the effect reversed are a different hypothesis
    assert reversed_.status == "new" and reversed_.hypothesis_id != kept.hypothesis_id

    with ws.store() as session:
        origin = lineage.origins(session, [kept.hypothesis_id])[kept.hypothesis_id]
        assert (origin.origin, origin.generation, origin.strategy) == ("generated", 1, "grounded")
        assert origin.source == f"page:{SLUG}" and origin.model and origin.prompt_hash
        # generation 2 opens with the top 2's children, recorded with their parents
        children = [r for r in rows if r.generation == 2 and r.parents]
        assert len(children) == 2 and all(set(c.parents) <= set(first.top) for c in children)
        for child in (c for c in children if c.status == "new"):
            parents = session.scalars(
                select(LineageRow.parent_id)
                .where(LineageRow.child_id == child.hypothesis_id)
                .order_by(LineageRow.position)
            ).all()
            assert list(parents) == child.parents
            assert session.get(ProvenanceRow, child.hypothesis_id).origin == "evolved"
        # evolution adds: every parent is still stored and still in the pool
        assert all(session.get(HypothesisRow, p) is not None for p in first.top)
        # every generated hypothesis carries its page (what links it to the page's block and pool), debated or not
        generated = [r.hypothesis_id for r in rows if r.status == "new"]
        assert {tuple(session.get(HypothesisRow, h).pages) for h in generated} == {(SLUG,)}
        assert session.scalars(select(MetaReviewRow)).first() is not None
    # the first generation's meta-review reaches the second generation's prompts
    assert any("no human tissue evidence" in p for p in generator.prompts[4:])
    assert second.candidates == 2 + 4 and result.loop.stopped in ("generations", "stable")
    assert result.calls > 0 and result.tokens > 0

    # the same command again: nothing is asked, the same answer comes back
    asked = dict(generator.asked)
    again = _generate(ws, page=SLUG, n=4, generations=2, top=2)
    assert again.calls == 0 and generator.asked == asked
    assert [g.as_json() for g in again.loop.generations] == [g.as_json() for g in result.loop.generations]
    assert again.loop.run_id == result.loop.run_id


def test_a_citation_outside_the_offered_bibliography_is_never_stored(judge_server, tmp_path, db):
    invented = {**TREM2, "evidence": [{"claim": "TREM2 is raised", "citation": "@invented2031", "stance": "for"}]}
    generator = ScriptedGenerator(fallback=lambda number: invented)
    server = judge_server(generator)
    ws = _workspace(server, tmp_path, db, extra="  max_requests_per_turn: 2\n")
    _import_page(ws, tmp_path)
    ws.run(lambda ws: _bib(ws))
    result = _generate(ws, page=SLUG, n=1, generations=1, top=1)

    (row,) = _candidates(db, ws)
    assert row.status == "invalid" and "invented2031" in (row.reason or "")
    assert result.loop.generations[0].new == [] and result.loop.stopped == "no-new"
    with ws.store() as session:
        assert session.scalars(select(HypothesisRow)).first() is None


async def _bib(ws: Workspace) -> None:
    from hypodebate.app.evidence import import_bibliographies

    import_bibliographies(ws, [REPO / "examples" / "bib" / "msc-neurodegeneration.bib"])


def test_with_no_bibliography_an_invented_citation_is_debated_and_audited_as_fabricated(judge_server, tmp_path, db):
    invented = {**TREM2, "evidence": [{"claim": "TREM2 is raised", "citation": "@invented2031", "stance": "for"}]}
    server = judge_server(ScriptedGenerator(answers=[invented, NLRP3]))
    ws = _workspace(server, tmp_path, db)
    result = _generate(ws, goal="Find a microglial target whose modulation slows neurodegeneration", n=2, top=1)

    assert len(result.loop.generations[0].new) == 2 and result.loop.source.kind == "goal"
    with ws.store() as session:
        audited = session.scalars(select(CitationAuditRow).where(CitationAuditRow.citation == "@invented2031")).all()
    assert audited and all(a.status == "fabricated" for a in audited)


def test_a_source_that_is_not_there_is_one_clear_error(judge_server, tmp_path, db):
    ws = _workspace(judge_server(ScriptedGenerator()), tmp_path, db)
    with pytest.raises(InputError, match="no page 'nowhere'"):
        _generate(ws, page="nowhere")
    with pytest.raises(InputError, match="no gap 'g-00000000'"):
        _generate(ws, gap="g-00000000")
    with pytest.raises(InputError, match="exactly one source"):
        _generate(ws, page=SLUG, goal="two sources at once here")


def _generate_process(server: LoopbackServer, db: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = run_env(server.url, tmp_path / "config.yaml", {"concurrency": 1})
    command = [sys.executable, "-m", "hypodebate", "generate", "--page", SLUG, "--db", db, *args]
    command += ["--rounds", "1", "--judges", "2", "--json", str(tmp_path / "run.json")]
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db: str, sql: str) -> int:
    try:
        return int(query_rows(db, sql)[0][0])
    except OperationalError:
        return 0  # no tables yet


def test_a_run_killed_mid_generation_resumes_without_asking_a_slot_twice(judge_server, tmp_path, db):
    generator = ScriptedGenerator(fallback=numbered)
    server = judge_server(generator, latency=0.05)
    ws = _workspace(server, tmp_path, db)
    _import_page(ws, tmp_path)
    process = _generate_process(server, db, tmp_path, "--n", "6")
    deadline = time.monotonic() + 120
    while _count(db, "select count(*) from candidates") < 3:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run stored no candidate"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    landed = _count(db, "select count(*) from candidates")
    assert 3 <= landed < 6

    done = _generate_process(server, db, tmp_path, "--n", "6")
    stdout, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["generations"][0]["candidates"] == 6 and report["stopped"] == "generations"
    # each slot asked once, but for the one in flight when the process died
    assert query_rows(db, "select count(*), count(distinct slot) from candidates") == [(6, 6)]
    assert generator.asked["generator"] <= 6 + 1
    assert set(report) >= {"source", "generations", "stopped", "calls", "tokens", "cost_usd"}
    assert "generation run" in stdout and "stopped: generations" in stdout


def test_the_plan_evolves_the_previous_top_first_then_asks_new_candidates():
    from agents.generation import Brief
    from debates.generation import LoopSettings, Source, plan

    brief = Brief(source_kind="page", goal="the open questions")
    page = Source("page", SLUG, SLUG, brief, (("g-1", "first gap"), ("g-2", "second gap")))
    settings = LoopSettings(n=4, generations=3, top=2)
    first = plan(1, settings, page, [])
    assert [(s.kind, s.strategy) for s in first] == [("propose", "grounded"), ("propose", "gap")] * 2
    assert [s.gap for s in first if s.gap] == [("g-1", "first gap"), ("g-2", "second gap")]
    second = plan(2, settings, page, ["h-aaaaaaaa", "h-bbbbbbbb", "h-cccccccc"])
    assert [(s.strategy, s.parents) for s in second[:2]] == [
        ("strengthen", ("h-aaaaaaaa",)),
        ("combine", ("h-bbbbbbbb", "h-aaaaaaaa")),
    ]
    assert len(second) == 2 + 4 and [s.number for s in second] == list(range(6))
    # one parent cannot be combined: it is simplified
    assert [s.strategy for s in plan(2, LoopSettings(n=0, generations=2, top=2), page, ["h-aaaaaaaa"])] == [
        "strengthen"
    ]


def test_a_top_k_is_stable_when_it_is_the_same_set_ranked_alike():
    from debates.generation import stable

    assert stable(["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert not stable(["a", "b", "c", "d"], ["a", "b", "c", "e"])  # another member
    assert not stable(["a", "b", "c", "d"], ["b", "a", "d", "c"])  # the same set, reordered (tau 0.33)
    assert stable(["a"], ["a"]) and not stable([], [])


def test_a_token_budget_stops_the_loop_and_says_so(judge_server, tmp_path, db):
    generator = ScriptedGenerator(fallback=numbered)
    ws = _workspace(judge_server(generator), tmp_path, db)
    _import_page(ws, tmp_path)
    budget = DebateOptions(rounds=1, judges=2, budget_tokens=1500)
    result = ws.run(lambda ws: generate(ws, GenerateOptions(page=SLUG, n=6, generations=3, debate=budget)))
    assert result.loop.stopped == "budget" and "budget" in result.loop.detail
    # each generator answer costs 550 tokens: no call starts past the budget, so at most 3 asks (1,650 tokens)
    assert generator.asked["generator"] <= 3
    with ws.store() as session:
        run = session.scalars(select(GenerationRunRow)).one()
        assert (run.status, run.stopped) == ("finished", "budget")
