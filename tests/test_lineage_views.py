"""Where a hypothesis came from, as a user sees it: `show`, the web hypothesis view and its API, the report's
origin lines and its lineage view per page (gap → candidates → children, duplicates merged, the meta-review, what
stopped the run), and the export's origin, generation and parents. The lineage rows are written straight into the
store over real scripted debates; model text in them is the XSS corpus."""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from debates.hypotheses import Hypothesis
from hypodebate.cli import app
from report.render import render_html, render_markdown
from store.engine import open_store
from store.lineage import add_generated, gaps_of
from store.models import CandidateRow, GenerationRow, GenerationRunRow, HypothesisRow, MetaReviewRow
from store.scoreboards import Board
from store.tournaments import Rating, TournamentStats, save_ratings_commit
from tests.fakes import FakeDebater, ScriptedServer
from tests.helpers import report_data, runner
from tests.wiki_db import SEED, SEED_SLUG
from tests.xss import PAYLOADS, assert_inert
from wiki.sync import import_pages

cli = CliRunner()
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
REPORT_SVG = frozenset({"histogram", "dotplot"})
RUN = "r-0a1b2c3d"
COST = {"prompt_tokens": 10, "completion_tokens": 5, "latency_s": 0.1, "cost_usd": 0.0, "attempts": 1, "asks": 1}


def _hypothesis(title: str, target: str, mechanism: str) -> Hypothesis:
    return Hypothesis(
        title=title, targets=[target], mechanism=mechanism, diseases=["Alzheimer's disease"], pages=[SEED_SLUG]
    )


HYPOTHESES = {
    "parent": _hypothesis(
        "CYP46A1 activation clears cholesterol", "CYP46A1", "Raising CYP46A1 lowers neuronal cholesterol."
    ),
    "other": _hypothesis(
        "TREM2 agonism restores microglia", "TREM2", "Agonist antibodies activate TREM2 on microglia."
    ),
    "child": _hypothesis(
        "CYP46A1 and TREM2 together", "SIRT1", "Cholesterol export and microglial activation combined."
    ),
    "imported": _hypothesis("NLRP3 inhibition calms inflammation", "NLRP3", "Blocking NLRP3 lowers IL-1 beta release."),
}


@dataclass(frozen=True)
class LineageDb:
    url: str
    batch_id: str
    ids: dict[str, str]  # name -> hypothesis id
    gap: str  # the run's gap id
    tournament: str


def _provenance(gap: str, generation: int, origin: str = "generated", strategy: str = "gap") -> dict[str, object]:
    return {
        "origin": origin,
        "strategy": strategy,
        "source_kind": "gap",
        "source": gap,
        "model": "SmolLM2-served-name",
        "prompt_hash": "p1a2b3c4",
        "run_id": RUN,
        "generation": generation,
    }


def _candidate(generation: int, slot: int, title: str, status: str, **more: object) -> CandidateRow:
    values: dict[str, object] = {"strategy": "gap", "source": "gap", "parents": [], "model": "SmolLM2-served-name"}
    values.update(more)
    return CandidateRow(
        run_id=RUN,
        generation=generation,
        slot=slot,
        content={"title": title, "targets": ["X"]},
        status=status,
        prompt_hash="p1a2b3c4",
        **values,
        **COST,
    )


def _lineage_rows(sessions: sessionmaker[Session], ids: dict[str, str]) -> tuple[str, str]:
    """A gap run of the seed page: generation 1 makes `parent` and `other`, merges a paraphrase into `parent`, and
    refuses a hostile answer; generation 2 evolves `child` from both. Returns (gap id, tournament id)."""
    with sessions() as s:
        gap = gaps_of(s, SEED_SLUG)[2].id
        s.add(
            GenerationRunRow(
                id=RUN,
                source_kind="gap",
                source=gap,
                page_slug=SEED_SLUG,
                settings={"n": 3, "generations": 2},
                status="finished",
                stopped="generations",
                stop_detail=f"reached 2 generations {HOSTILE}",
                finished_at=datetime.now(UTC),
            )
        )
        s.flush()
        add_generated(s, ids["parent"], _provenance(gap, 1), [])
        add_generated(s, ids["other"], _provenance(gap, 1), [])
        add_generated(s, ids["child"], _provenance(gap, 2, "evolved", "combine"), [ids["parent"], ids["other"]])
        hashes = {h.id: h.content_hash for h in s.query(HypothesisRow)}
        s.add_all(
            [
                _candidate(1, 0, HYPOTHESES["parent"].title, "new", hypothesis_id=ids["parent"]),
                _candidate(1, 1, HYPOTHESES["other"].title, "new", hypothesis_id=ids["other"]),
                _candidate(
                    1,
                    2,
                    "Activating CYP46A1 removes cholesterol",
                    "duplicate",
                    hypothesis_id=ids["parent"],
                    similarity=0.93,
                    method="embedding+model-check",
                ),
                _candidate(
                    1, 3, f"Bad answer {HOSTILE}", "invalid", reason=f"cites @nokey outside the bibliography {HOSTILE}"
                ),
                _candidate(
                    2,
                    0,
                    HYPOTHESES["child"].title,
                    "new",
                    hypothesis_id=ids["child"],
                    strategy="combine",
                    parents=[ids["parent"], ids["other"]],
                ),
                MetaReviewRow(
                    run_id=RUN,
                    generation=1,
                    review={
                        "summary": f"Critics doubted delivery. {PAYLOADS[3]}",
                        "weaknesses": [f"blood-brain barrier delivery {p}" for p in PAYLOADS[:5]],
                        "rewarded": [f"falsifiable predictions {HOSTILE}"],
                    },
                    debates=[],
                    model=f"meta-model {PAYLOADS[1]}",
                    prompt_hash="m1",
                    **COST,
                ),
            ]
        )
        s.commit()
        board = Board(
            "r", "pw", ["pairwise-judge"], protocol={"design": "pairwise", "judge_models": ["pairwise-judge"]}
        )
        stats = TournamentStats(hypotheses=2, comparisons=4, matches=2, order_inconsistency=0.0, first_share=None)
        ratings = [
            Rating(ids["parent"], hashes[ids["parent"]], 1560.0, 1500.0, 1620.0, 3, 0, 1, 1, 1, 2),
            Rating(ids["other"], hashes[ids["other"]], 1440.0, 1380.0, 1500.0, 1, 0, 3, 2, 2, 2),
        ]
        tournament = save_ratings_commit(s, f"run:{RUN}:1", board, stats, ratings)
        s.add(
            GenerationRow(run_id=RUN, number=1, status="done", debated=2, tournament_id=tournament, top=[ids["parent"]])
        )
        s.add(GenerationRow(run_id=RUN, number=2, status="done", debated=1, top=[ids["child"]]))
        s.commit()
    return gap, tournament


async def build_lineage_db(folder: Path) -> LineageDb:
    url = f"sqlite:///{folder / 'lineage.db'}"
    batch = runner(ScriptedServer(default=FakeDebater(score=lambda judge, dim: 6 + judge)), url, rounds=1, judges=2)
    try:
        result = await batch.run(list(HYPOTHESES.values()), source="generated.yaml")
    finally:
        await batch.client.aclose()
    ids = {name: h.hypothesis_id for name, h in HYPOTHESES.items()}
    seed = folder / "seed.txt"
    shutil.copyfile(SEED, seed)
    sessions = open_store(url)
    try:
        import_pages(sessions, [seed], root=folder)
        gap, tournament = _lineage_rows(sessions, ids)
    finally:
        sessions.close()
    return LineageDb(url, result.batch_id, ids, gap, tournament)


@pytest.fixture(scope="module")
def lineage_db(tmp_path_factory: pytest.TempPathFactory) -> LineageDb:
    return asyncio.run(build_lineage_db(tmp_path_factory.mktemp("lineage")))


@pytest.fixture(scope="module")
def served_url(lineage_db: LineageDb) -> str:
    return lineage_db.url


# -- show --------------------------------------------------------------------------------------------


def test_show_tells_origin_parents_and_children(lineage_db: LineageDb):
    ids = lineage_db.ids
    result = cli.invoke(app, ["show", ids["child"], "--db", lineage_db.url])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Origin: evolved · generation 2" in out
    assert "strategy combine" in out and f"from gap {lineage_db.gap} (TDP-43 phase separation" in out
    assert "generator SmolLM2-served-name (as served)" in out and "prompt p1a2b3c4" in out and f"run {RUN}" in out
    assert f"parents: {ids['parent']}, {ids['other']}" in out and "children: -" in out
    out = cli.invoke(app, ["show", ids["parent"], "--db", lineage_db.url]).output
    assert "Origin: generated · generation 1" in out and f"children: {ids['child']}" in out and "parents: -" in out
    out = cli.invoke(app, ["show", ids["imported"], "--db", lineage_db.url]).output
    assert "Origin: imported · generation 0" in out and "strategy" not in out.split("Origin")[1].split("\n")[1]


def test_show_of_the_page_lists_its_runs(lineage_db: LineageDb):
    out = cli.invoke(app, ["show", SEED_SLUG, "--db", lineage_db.url]).output
    assert lineage_db.gap in out and "Generation runs" in out
    run = next(line for line in out.splitlines() if RUN in line)
    assert "finished · stopped: generations (reached 2 generations" in run and "TDP-43" in run


# -- web -------------------------------------------------------------------------------------------


def test_the_web_hypothesis_view_links_parents_and_children(lineage_db: LineageDb, client: TestClient):
    ids = lineage_db.ids
    page = client.get(f"/hypothesis/{ids['child']}").text
    parents = page[page.index('<tr id="parents">') : page.index("</tr>", page.index('<tr id="parents">'))]
    assert f'<a class="id" href="/hypothesis/{ids["parent"]}">' in parents
    assert f'<a class="id" href="/hypothesis/{ids["other"]}">' in parents
    assert "evolved · generation 2 · strategy combine" in page and "SmolLM2-served-name" in page
    assert lineage_db.gap in page and "TDP-43 phase separation therapeutics for ALS-FTD" in page
    page = client.get(f"/hypothesis/{ids['parent']}").text
    children = page[page.index('<tr id="children">') : page.index("</tr>", page.index('<tr id="children">'))]
    assert f'href="/hypothesis/{ids["child"]}"' in children
    page = client.get(f"/hypothesis/{ids['imported']}").text
    assert "imported · generation 0" in page
    api = client.get(f"/api/hypotheses/{ids['child']}").json()["lineage"]
    assert api["origin"] == "evolved" and api["parents"] == [ids["parent"], ids["other"]]
    assert (api["generation"], api["strategy"], api["source_kind"], api["run_id"]) == (2, "combine", "gap", RUN)
    assert client.get(f"/api/hypotheses/{ids['parent']}").json()["lineage"]["children"] == [ids["child"]]


# -- report ----------------------------------------------------------------------------------------


def _lineage_section(html: str) -> str:
    start = html.index('<section id="lineage">')
    return html[start : html.index("</section>", start)]


def test_the_report_shows_each_generation_of_the_pages_run(lineage_db: LineageDb):
    ids = lineage_db.ids
    data = report_data(lineage_db.url, batch_id=lineage_db.batch_id)
    html = render_html(data)
    view = _lineage_section(html)
    assert f'id="lineage-{SEED_SLUG}"' in view and f'data-run="{RUN}"' in view
    assert "TDP-43 phase separation therapeutics for ALS-FTD" in view and lineage_db.gap in view
    assert 'stopped: <strong class="stopped">generations</strong>' in view
    # the paraphrase is merged, never dropped: it names what it merged into and how
    duplicate = view[view.index('data-status="duplicate"') : view.index("</tr>", view.index('data-status="duplicate"'))]
    assert "Activating CYP46A1 removes cholesterol" in duplicate
    assert (
        f'merged into <a class="id" href="#{ids["parent"]}">{ids["parent"]}</a> (cosine 0.93, embedding+model-check)'
        in duplicate
    )
    invalid = view[view.index('data-status="invalid"') : view.index("</tr>", view.index('data-status="invalid"'))]
    assert "cites @nokey outside the bibliography" in invalid or "cites <cite>@nokey</cite> outside" in invalid
    # a new candidate: its score names its scoreboard and judges; its rating is the generation's tournament's
    board = data.rankings[0].board
    new = view[view.index(f'data-hypothesis="{ids["parent"]}"') :]
    new = new[: new.index("</tr>")]
    assert f'scoreboard <span class="id">{board.id}</span>' in new and "gpt-4o-mini" in new
    assert "1560 [1500, 1620]" in new and lineage_db.tournament in view and "pairwise-judge" in view
    children = view[
        view.index('<table class="children"') : view.index("</table>", view.index('<table class="children"'))
    ]
    assert (
        "combine of" in children and ids["child"] in children and ids["parent"] in children and ids["other"] in children
    )
    assert "Meta-review" in view and "blood-brain barrier delivery" in view and "falsifiable predictions" in view


def test_the_reports_hypothesis_sections_say_where_each_came_from(lineage_db: LineageDb):
    ids = lineage_db.ids
    html = render_html(report_data(lineage_db.url, batch_id=lineage_db.batch_id))

    def origin(hid: str) -> str:
        start = html.index(f'<section class="hypothesis" id="{hid}">')
        line = html.index('<p class="origin"', start)
        return html[line : html.index("</p>", line)]

    child = origin(ids["child"])
    assert 'data-origin="evolved"' in child and "generation 2" in child and "strategy combine" in child
    assert f'parents: <a class="id" href="#{ids["parent"]}">' in child and "SmolLM2-served-name (as served)" in child
    assert f'children: <a class="id" href="#{ids["child"]}">' in origin(ids["parent"])
    assert "imported (generation 0)" in origin(ids["imported"])


def test_the_markdown_report_has_the_same_lineage(lineage_db: LineageDb):
    ids = lineage_db.ids
    md = render_markdown(report_data(lineage_db.url, batch_id=lineage_db.batch_id))
    view = md[md.index("## Lineage of generated hypotheses") : md.index("## Score distribution")]
    assert f"merged into {ids['parent']} \\(cosine 0.93, embedding\\+model-check\\)" in view  # escaped: inert
    assert "invalid: cites @nokey outside the bibliography" in view
    assert "stopped: **generations**" in view and "rating 1560 [1500, 1620]" in view
    assert f"combine of {ids['parent']}, {ids['other']}" in view
    assert "**Origin.** evolved · generation 2" in md and f"parents: {ids['parent']}, {ids['other']}" in md


def test_model_text_in_the_lineage_is_inert(lineage_db: LineageDb):
    data = report_data(lineage_db.url, batch_id=lineage_db.batch_id)
    html = render_html(data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _lineage_section(html)
    assert_inert(html, own_scripts=1, svg_classes=REPORT_SVG)
    md = render_markdown(data)
    assert HOSTILE not in md
    assert_inert(MarkdownIt("commonmark").enable("table").render(md))


# -- export ----------------------------------------------------------------------------------------


def test_the_export_carries_origin_generation_and_parents(lineage_db: LineageDb, tmp_path: Path):
    ids = lineage_db.ids
    out = tmp_path / "export.jsonl"
    result = cli.invoke(app, ["export", "-o", str(out), "--db", lineage_db.url])
    assert result.exit_code == 0, result.output
    rows = {r["hypothesis_id"]: r for r in map(json.loads, out.read_text().splitlines()) if r["kind"] == "hypothesis"}
    assert (rows[ids["child"]]["origin"], rows[ids["child"]]["generation"]) == ("evolved", 2)
    assert rows[ids["child"]]["parents"] == [ids["parent"], ids["other"]]
    assert (rows[ids["parent"]]["origin"], rows[ids["parent"]]["generation"], rows[ids["parent"]]["parents"]) == (
        "generated",
        1,
        [],
    )
    assert (rows[ids["imported"]]["origin"], rows[ids["imported"]]["generation"]) == ("imported", 0)
    out = tmp_path / "export.csv"
    assert cli.invoke(app, ["export", "--format", "csv", "-o", str(out), "--db", lineage_db.url]).exit_code == 0
    with out.open(newline="") as handle:
        table = {r["hypothesis_id"]: r for r in csv.DictReader(handle) if r["kind"] == "hypothesis"}
    assert table[ids["child"]]["origin"] == "evolved" and table[ids["child"]]["generation"] == "2"
    assert json.loads(table[ids["child"]]["parents"]) == [ids["parent"], ids["other"]]
