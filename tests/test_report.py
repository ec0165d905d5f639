"""The transcript report and the export, built from a real database of scripted debates."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import func, select, update

from agents.settings import EMBEDDED_MODEL
from debates.hypotheses import Evidence, Hypothesis
from debates.inputs import load_hypotheses
from hypodebate.commands.export import export_command
from hypodebate.commands.report import report_command
from report.data import ReportScopeError
from report.render import cite, md_escape, render_html, render_markdown, usd, word_diff
from safeio.errors import NotFound
from store.demo import DEMO_MODEL, DEMO_WARNING
from store.engine import open_store
from store.models import DebateRow, HypothesisRow, ScoreboardRow, TurnRow, UsageRow, VerdictRow
from tests.fakes import FakeDebater, Reply, ScriptedServer
from tests.helpers import TWO, report_data, runner

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
SCORES = {"CYP46A1": 8, "NLRP3": 5, "TREM2": 3}  # every judge, every dimension: composites 7/9, 4/9, 2/9


def hostile_hypothesis() -> Hypothesis:
    return Hypothesis(
        title=f"TREM2 agonism {HOSTILE}",
        targets=["TREM2"],
        mechanism=f"Agonist antibodies activate TREM2 on microglia and clear plaques. {HOSTILE}",
        diseases=["Alzheimer's disease"],
        evidence=[Evidence(claim=f"TREM2 agonism reduced plaque load {HOSTILE}", citation="PMID:12345")],
    )


def failing_hypothesis() -> Hypothesis:
    return Hypothesis(
        title="APOE4 structure corrector",
        targets=["APOE"],
        mechanism="A small molecule corrects the APOE4 domain interaction and restores lipid transport.",
        diseases=["Alzheimer's disease"],
    )


def _with_hostile_text(args: dict) -> dict:
    """Plant the payload in the model's own words: claims, critic points, answers, revisions, the closing's
    assessments and concerns, the judges' reasoning and summaries."""
    for key in ("claim", "revised_claim", "summary", "reasoning"):
        if isinstance(args.get(key), str):
            args[key] = f"{args[key]} {HOSTILE}"
    for item in args.get("points", []) + args.get("answers", []) + args.get("assessments", []):
        key = "point" if "severity" in item else "reason" if "reason" in item else "answer"
        item[key] = f"{item[key]} {HOSTILE}"
    if "remaining_concerns" in args:
        args["remaining_concerns"] = [f"{c} {HOSTILE}" for c in args["remaining_concerns"]]
    return args


class Responder:
    """A scripted model: one FakeDebater per target (fixed scores), hostile text for TREM2, and an
    APOE critic that answers with prose instead of JSON, so APOE debates fail at the critique."""

    def __init__(self, scores: dict[str, int] = SCORES) -> None:
        self.debaters = {target: FakeDebater(score=score) for target, score in scores.items()}
        self.debaters["APOE"] = FakeDebater()

    def __call__(self, body: dict) -> Reply:
        prompt = " ".join(str(m.get("content") or "") for m in body["messages"])
        target = next(t for t in self.debaters if t in prompt)
        tools = body.get("tools") or []
        schema = tools[0]["function"]["parameters"] if tools else {}
        if target == "APOE" and "points" in schema.get("properties", {}):
            return Reply(content="not json")
        reply = self.debaters[target](body)
        if target == "TREM2" and isinstance(reply.tool_args, dict):
            reply.tool_args = _with_hostile_text(reply.tool_args)
        return reply


@dataclass(frozen=True)
class ReportDb:
    url: str
    batch_id: str
    hypothesis_ids: dict[str, str]  # target -> hypothesis id


async def build_report_db(folder: Path) -> ReportDb:
    """Four hypotheses, two replicates each, two rounds, a panel of two: CYP46A1 > NLRP3 > TREM2 (hostile
    text everywhere), and APOE whose debates fail at the critique."""
    path = folder / "two.yaml"
    path.write_text(TWO)
    hypotheses = [*load_hypotheses([path]), hostile_hypothesis(), failing_hypothesis()]
    url = f"sqlite:///{folder / 'report.db'}"
    batch = runner(ScriptedServer(default=Responder()), url, rounds=2, judges=2, replicates=2, early_stop=False)
    try:
        result = await batch.run(hypotheses, source="two.yaml")
    finally:
        await batch.client.aclose()
    ids = {h.targets[0]: h.hypothesis_id for h in hypotheses}
    return ReportDb(url, result.batch_id, ids)


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> ReportDb:
    """Four hypotheses debated twice each (`build_report_db`), shared by the module."""
    return asyncio.run(build_report_db(tmp_path_factory.mktemp("report")))


def section(html: str, hypothesis_id: str) -> str:
    start = html.index(f'<section class="hypothesis" id="{hypothesis_id}">')
    return html[start : html.index("</section>", start)]


def board_block(html: str, board_id: str) -> str:
    """One scoreboard's part of the ranking section: its heading, banner, label and ranked table."""
    start = html.index(f'<div class="scoreboard" id="board-{board_id}">')
    return html[start : html.index("</div>", html.index("</table>", start))]


def copy_db(db: ReportDb, folder: Path, name: str) -> ReportDb:
    """A copy through SQLite's backup API: it includes what is still in the write-ahead log."""
    copy = folder / name
    with closing(sqlite3.connect(db.url.removeprefix("sqlite:///"))) as source, closing(sqlite3.connect(copy)) as dest:
        source.backup(dest)
    return ReportDb(f"sqlite:///{copy}", db.batch_id, db.hypothesis_ids)


# -- HTML ------------------------------------------------------------------------------------------


def test_html_report_escapes_every_hostile_text(report_db):
    html = render_html(report_data(report_db.url, batch_id=report_db.batch_id))
    assert "<script>alert" not in html and "<img src=x" not in html and "<img" not in html
    assert 'href="javascript:' not in html and "href='javascript:" not in html
    assert html.count("<script") == 1  # the report's own code, at the end
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "[x](javascript:alert(1))" in html  # shown as text, never a link
    # nothing can be fetched: a strict policy, and no src/href that leaves the page
    assert "default-src 'none'" in html and "script-src 'sha256-" in html
    assert not re.findall(r"""(?:src|href|action)\s*=\s*["'](?!#|data:)""", html)
    # the hostile text is in the model's turns too: critic point, rebuttal answer, revision, verdict summary
    trem2 = section(html, report_db.hypothesis_ids["TREM2"])
    assert trem2.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8


def test_html_report_ranks_breaks_down_and_lists_failures(report_db):
    data = report_data(report_db.url, batch_id=report_db.batch_id)
    html = render_html(data)
    ids = report_db.hypothesis_ids
    assert len(data.rankings) == 1  # one batch, one set of judges: one scoreboard, one table
    (ranking,) = data.rankings
    assert html.count('<table class="ranking"') == 1 and ranking.board.judge_models == ("gpt-4o-mini",)
    block = board_block(html, ranking.board.id)
    assert f'Scoreboard <span class="id">{ranking.board.id}</span> · judges' in block and "gpt-4o-mini" in block
    rows = re.findall(r'<tr data-rank="(\d+)" data-hypothesis="(h-[0-9a-f]{8})"', html)
    assert rows == [("1", ids["CYP46A1"]), ("2", ids["NLRP3"]), ("3", ids["TREM2"])]
    assert [r.score.mean for r in ranking.rows] == pytest.approx([7 / 9, 4 / 9, 2 / 9])
    assert [r.score.interval for r in ranking.rows] == ["no-variation"] * 3  # the scripted judges never vary
    assert re.search(r'data-score="0\.777778"[^>]*data-debates="2" data-verdicts="4"', html)
    interval = "[0.78, 0.78] 2 debates, no variation on this scoreboard"
    assert f'<strong>0.78</strong> <span class="interval">{interval}</span>' in block
    assert "<th" in block and ">debates</button>" in block and ">verdicts</button>" in block
    assert ">n</button>" not in html and "(n = " not in html  # debates and verdicts, never a bare n
    # the failing hypothesis is listed as not scored, never ranked
    unscored = html[html.index('<ul class="unscored">') : html.index("</ul>", html.index('<ul class="unscored">'))]
    assert ids["APOE"] in unscored and "0 of 2 debate(s) completed" in unscored
    assert ids["APOE"] not in block

    cyp = section(html, ids["CYP46A1"])
    assert f'<td class="model">gpt-4o-mini</td><td>{ids["CYP46A1"]}.v1</td><td class="num">1 of 3</td>' in cyp
    assert cyp.count('class="dim-bar"') == 10
    assert f'Score by dimension · scoreboard <span class="id">{ranking.board.id}</span>' in cyp
    assert 'mechanistic plausibility</td><td class="num">15</td><td class="num">8.0 / 10' in cyp
    assert 'style="width: 77.8%"' in cyp
    assert html.count('class="dim-bar"') == 30  # APOE never got a verdict: no bars
    assert cyp.count('turn-verdict verdict"') == 2 * 2  # two replicates, a panel of two
    assert cyp.count("<h4>Round ") == 2 * 2
    assert cyp.count("<h4>Closing</h4>") == 2 and cyp.count('<article class="turn turn-closing">') == 2
    assert f"(2 verdicts) · scoreboard {ranking.board.id}" in cyp  # each debate's own panel score and scoreboard
    assert "<del>" in cyp and "<ins>" in cyp  # the rebuttal's revision as a diff against the opening claim
    # the revision is kept as a child version: offered by the first replicate, offered again by the second
    assert cyp.count(f'Stored as child version <span class="id">{ids["CYP46A1"]}.v2</span>') == 2
    assert cyp.count("(first offered in debate") == 1
    assert "not answered" in cyp  # the fake proposer answers only point 1 of 2
    # per point: the proposer's own claim and, for the last round, the critic's closing assessment
    assert "<th>proposer says resolved</th><th>critic's closing</th>" in cyp
    assert '<td class="resolved-no">no</td><td class="closing-no">not resolved: <span class="reason">' in cyp
    assert "not assessed (the closing assesses the last round)" in cyp
    # per judge: the model as served, the persona, the order it read the debate in, and its reasoning
    assert cyp.count('<dd class="model">gpt-4o-mini</dd>') == 4
    assert (
        cyp.count('<dd class="persona">clinician</dd>') == 2 and cyp.count('<dd class="persona">geneticist</dd>') == 2
    )
    assert cyp.count('<dd class="material-order">chronological</dd>') == 2
    assert cyp.count('<dd class="material-order">critic-first</dd>') == 2
    assert cyp.count('<p class="reasoning"><span class="label">Reasoning.</span> CYP46A1') == 4
    assert "<cite>@hudry2010</cite>" in cyp
    assert "<cite>PMID:12345</cite>" in html

    failed = html[html.index('<section id="failed">') : html.index('<section class="hypothesis"')]
    apoe = [d for h in data.hypotheses if h.id == ids["APOE"] for d in h.debates]
    assert len(apoe) == 2 and all(d.status == "failed" for d in apoe)
    for debate in apoe:
        assert debate.id in failed
    assert failed.count("critique (round 1), after 1 stored turn") == 2
    assert "Critique" in failed  # the reason: no valid Critique after 3 asks

    overview = html[html.index('<section id="overview">') : html.index('<section id="ranking-section">')]
    assert "6 completed · 2 failed · 0 skipped" in overview
    assert "2 round(s) · panel of 2 judge(s)" in overview
    sessions = open_store(report_db.url)
    with sessions() as s:
        tokens = s.scalar(select(func.sum(UsageRow.prompt_tokens + UsageRow.completion_tokens)))
        calls = s.scalar(select(func.count()).select_from(UsageRow))
        cost = s.scalar(select(func.sum(UsageRow.cost_usd)))
    sessions.close()
    assert f"{tokens:,} (" in overview and f"in {calls} calls" in overview
    assert f"estimated cost {usd(cost)}" in overview and cost > 0
    assert f"This report covers batch {report_db.batch_id}: 4 hypotheses, 8 debates." in overview
    assert "scoreboards" not in overview  # one scoreboard: nothing to warn about
    assert "Demo model" not in html and "demo-board" not in html
    # the histogram has ten bins; each hypothesis with two completed debates has a dot plot
    assert html.count('<rect class="bin"') == 10
    assert html.count('<svg class="dotplot"') == 3


def test_demo_banner_when_the_embedded_model_took_part(report_db, tmp_path):
    copy = copy_db(report_db, tmp_path, "demo.db")
    sessions = open_store(copy.url)
    with sessions() as s:
        s.execute(update(DebateRow).values(models={"proposer": EMBEDDED_MODEL, "critic": "x", "judge": "y"}))
        s.commit()
    sessions.close()
    html = render_html(report_data(copy.url, batch_id=report_db.batch_id))
    assert 'id="demo-banner"' in html and DEMO_WARNING in html
    assert "Demo model" in render_markdown(report_data(copy.url))


def test_a_demo_scoreboard_gets_the_demo_banner_over_its_ranking(report_db, tmp_path):
    copy = copy_db(report_db, tmp_path, "demo-board.db")
    sessions = open_store(copy.url)
    with sessions() as s:
        s.execute(update(ScoreboardRow).values(demo=True))
        s.commit()
    sessions.close()
    data = report_data(copy.url, batch_id=report_db.batch_id)
    (ranking,) = data.rankings
    assert ranking.board.demo and "demo model: scores carry no information" in ranking.board.label
    html = render_html(data)
    block = board_block(html, ranking.board.id)
    assert block.index('class="banner demo-board"') < block.index('<table class="ranking"')
    assert "these scores carry no information" in block
    assert 'id="demo-banner"' in html  # and the report as a whole says it
    cyp = section(html, report_db.hypothesis_ids["CYP46A1"])
    assert '<span class="demo-tag">demo: no information</span>' in cyp
    md = render_markdown(data)
    heading = md.index(f"### Scoreboard {ranking.board.id}")
    assert md.index("> **Demo scoreboard:**", heading) < md.index("| # | Hypothesis |", heading)


def test_closing_turn_and_judge_seats_are_shown_escaped(report_db, tmp_path):
    copy = copy_db(report_db, tmp_path, "seats.db")
    sessions = open_store(copy.url)
    with sessions() as s:
        s.execute(
            update(VerdictRow)
            .where(VerdictRow.judge == 2)
            .values(model="judge <b>model</b>", persona="<i>persona</i>", material_order="<u>order</u>")
        )
        s.commit()
    sessions.close()
    html = render_html(report_data(copy.url, batch_id=report_db.batch_id))
    assert "<b>model" not in html and "<i>persona" not in html and "<u>order" not in html
    assert '<dd class="model">judge &lt;b&gt;model&lt;/b&gt;</dd>' in html
    assert '<dd class="persona">&lt;i&gt;persona&lt;/i&gt;</dd>' in html
    assert '<dd class="material-order">&lt;u&gt;order&lt;/u&gt;</dd>' in html
    trem2 = section(html, report_db.hypothesis_ids["TREM2"])
    closing = trem2[trem2.index('<article class="turn turn-closing">') :]
    closing = closing[: closing.index("</article>")]
    assert '<span class="role role-critic">critic</span> <strong>closing</strong>' in closing
    assert '<td class="closing-no">not resolved</td>' in closing
    assert closing.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # reasons, concerns, the closing statement
    assert "Remaining concerns" in closing and "Closing statement." in closing
    assert '<p class="reasoning"><span class="label">Reasoning.</span> TREM2' in trem2
    md = render_markdown(report_data(copy.url, batch_id=report_db.batch_id))
    assert "<b>model" not in md and "- **Model:** judge &lt;b&gt;model&lt;/b&gt;" in md
    assert "- **Persona:** &lt;i&gt;persona&lt;/i&gt;" in md
    assert "- **Order of material:** &lt;u&gt;order&lt;/u&gt;" in md


# -- Markdown --------------------------------------------------------------------------------------


def test_markdown_report_has_the_same_content_and_is_inert(report_db):
    md = render_markdown(report_data(report_db.url, batch_id=report_db.batch_id))
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md  # the one escaping the wiki block uses too
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in md
    assert "\\\\" not in md  # nothing escaped twice
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<script" not in rendered and "<img" not in rendered and 'javascript:alert(1)"' not in rendered
    assert 'href="javascript' not in rendered
    ranked = re.findall(r"^\| (\d) \| .*?\((h-[0-9a-f]{8})\.v1\) \| \*\*", md, re.M)
    assert [h for _, h in ranked] == [report_db.hypothesis_ids[t] for t in ("CYP46A1", "NLRP3", "TREM2")]
    for expected in [
        "## Batch overview",
        "6 completed · 2 failed · 0 skipped",
        "### Scoreboard s-",
        "| # | Hypothesis | Score [95% interval] | debates | verdicts |",
        r"**0.78** \[0.78, 0.78\] 2 debates, no variation on this scoreboard | 2 | 4 |",
        "### Not scored",
        "## Score distribution",
        "#### Replicates",
        "## Failed debates",
        "critique \\(round 1\\), after 1 stored turn",  # parentheses escaped, as in the wiki block
        "### Score by dimension · scoreboard s-",
        "| mechanistic plausibility | 15 | 8.0 / 10 |",
        "*not answered*",
        "| # | critic point | severity | rebuttal's answer | proposer says resolved | critic's closing |",
        "| no | not resolved: ",
        "**Closing** · critic",
        "Stored as child version",
        "<del>",
        "<ins>",
        "##### Judge 2",
        "- **Model:** gpt-4o-mini",
        "- **Persona:** geneticist",
        "- **Order of material:** critic-first",
        "- **Reasoning.** CYP46A1",
    ]:
        assert expected in md, expected
    assert "(n = " not in md
    assert rendered.count("<table>") >= 10  # the tables really are tables


# -- commands, scope, export -----------------------------------------------------------------------


def test_report_command_writes_html_and_md_and_names_unknown_ids(report_db, tmp_path):
    out = tmp_path / "out" / "report.html"
    assert report_command(report_db.url, batch=None, hypothesis=None, output=out, fmt="html") == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "No batch was chosen" in html
    one = tmp_path / "one.md"
    cyp = report_db.hypothesis_ids["CYP46A1"]
    assert report_command(report_db.url, batch=report_db.batch_id, hypothesis=cyp, output=one, fmt="md") == 0
    text = one.read_text()
    assert f"({cyp})" in text and report_db.hypothesis_ids["NLRP3"] not in text
    with pytest.raises(NotFound, match="b-00000000"):
        report_command(report_db.url, batch="b-00000000", hypothesis=None, output=out, fmt="html")
    with pytest.raises(NotFound, match="h-00000000"):
        report_command(report_db.url, batch=None, hypothesis="h-00000000", output=out, fmt="html")


async def test_report_without_batch_covers_every_hypothesis_with_debates(report_db, tmp_path):
    url = copy_db(report_db, tmp_path, "scope.db").url
    extra = Hypothesis(
        title="SIRT1 activation", targets=["SIRT1"], mechanism="SIRT1 activation restores mitochondrial biogenesis."
    )
    batch = runner(ScriptedServer(default=FakeDebater(score=9)), url, rounds=1, judges=1)
    second = await batch.run([extra], source="extra.yaml")
    await batch.client.aclose()
    scoped = ReportDb(url, report_db.batch_id, report_db.hypothesis_ids)
    first = report_data(scoped.url, batch_id=report_db.batch_id)
    newest = report_data(scoped.url, batch_id=second.batch_id)
    everything = report_data(scoped.url)
    assert extra.hypothesis_id not in {h.id for h in first.hypotheses}
    assert [h.id for h in newest.hypotheses] == [extra.hypothesis_id]
    assert everything.scope == "all" and everything.batch.id == second.batch_id
    assert len(everything.hypotheses) == 5 and everything.debates_total == 9 and everything.batches_total == 2
    # a panel of one under another protocol is another scoreboard: its higher score is ranked on its own,
    # never above the first batch's hypotheses
    assert [[row.hypothesis.id for row in r.rows] for r in everything.rankings] == [
        [report_db.hypothesis_ids[t] for t in ("CYP46A1", "NLRP3", "TREM2")],
        [extra.hypothesis_id],
    ]
    alone = everything.rankings[1].rows[0].score
    assert (alone.mean, alone.interval, alone.debates, alone.verdicts) == (pytest.approx(8 / 9), "too-few", 1, 1)
    assert alone.text == "0.89 no interval: too few verdicts on this scoreboard to pool"
    assert [h.id for h in everything.unscored] == [report_db.hypothesis_ids["APOE"]]
    assert everything.hypotheses[-1].id == report_db.hypothesis_ids["APOE"]
    html = render_html(everything)
    assert html.count('<table class="ranking"') == 2
    assert "Its debates were scored on 2 scoreboards" in html
    with pytest.raises(ReportScopeError, match=f"{report_db.hypothesis_ids['CYP46A1']}: no debates in batch"):
        report_data(scoped.url, batch_id=second.batch_id, hypothesis_id=report_db.hypothesis_ids["CYP46A1"])
    # a re-run skips what is done: its report is empty and says where those debates are
    again = runner(ScriptedServer(default=FakeDebater(score=9)), url, rounds=1, judges=1)
    third = await again.run([extra], source="extra.yaml")
    await again.client.aclose()
    empty = report_data(scoped.url, batch_id=third.batch_id)
    assert empty.hypotheses == () and empty.batch.skipped == 1
    html, md = render_html(empty), render_markdown(empty)
    assert "1 debate(s) were skipped because they had already completed" in html
    assert "1 debate(s) were skipped because they had already completed" in md


def _counts(db: ReportDb) -> dict[str, int]:
    sessions = open_store(db.url)
    with sessions() as s:
        counts = {
            "hypothesis": 4,
            "scoreboard": 1,
            "hypothesis_score": 3,
            "debate": s.scalar(select(func.count()).select_from(DebateRow)),
            "score": 6,
            "verdict": s.scalar(select(func.count()).select_from(VerdictRow)),
            "turn": s.scalar(select(func.count()).select_from(TurnRow)),
        }
    sessions.close()
    return counts


def test_export_jsonl_has_one_object_per_line_with_a_kind(report_db, tmp_path):
    out = tmp_path / "export.jsonl"
    assert export_command(report_db.url, fmt="jsonl", output=out) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    expected = _counts(report_db)
    # a completed debate: opening, 2 x (critique, rebuttal), the closing and 2 verdicts; a failed one: the opening
    assert expected["debate"] == 8 and expected["verdict"] == 12 and expected["turn"] == 6 * 8 + 2
    assert {k: sum(r["kind"] == k for r in rows) for k in expected} == expected
    assert len(rows) == sum(expected.values())
    cyp_id = report_db.hypothesis_ids["CYP46A1"]
    cyp = next(r for r in rows if r["kind"] == "hypothesis" and r["hypothesis_id"] == cyp_id)
    assert cyp["version"] == 1 and cyp["evidence"][0]["citation"] == "@hudry2010"
    assert not {"score", "spread", "n", "debates_completed"} & cyp.keys()
    (board,) = [r for r in rows if r["kind"] == "scoreboard"]
    assert board["scoreboard_id"].startswith("s-") and board["judge_models"] == ["gpt-4o-mini"]
    assert {"rubric_hash", "protocol_hash"} <= board.keys() and board["demo"] is False and board["legacy"] is False
    score = next(r for r in rows if r["kind"] == "hypothesis_score" and r["hypothesis_id"] == cyp_id)
    assert score["scoreboard_id"] == board["scoreboard_id"] and score["version_id"] == f"{cyp_id}.v1"
    assert score["content_hash"] == cyp["content_hash"] and score["current"] is True
    assert score["mean"] == pytest.approx(7 / 9) and score["lo"] == pytest.approx(7 / 9)
    assert (score["interval"], score["debates"], score["verdicts"]) == ("no-variation", 2, 4)
    assert (score["se"], score["hi"]) == (0.0, pytest.approx(7 / 9))
    panel = next(r for r in rows if r["kind"] == "score")
    assert panel["scoreboard_id"] == board["scoreboard_id"] and len(panel["content_hash"]) == 64
    verdict = next(r for r in rows if r["kind"] == "verdict" and r["judge"] == 2)
    assert (verdict["persona"], verdict["material_order"], verdict["model"]) == (
        "geneticist",
        "critic-first",
        "gpt-4o-mini",
    )
    assert verdict["reasoning"]
    turn = next(r for r in rows if r["kind"] == "turn")
    assert {"debate_id", "hypothesis_id", "seq", "step", "role", "model", "text", "payload"} <= turn.keys()
    assert sum(r["kind"] == "turn" and r["step"] == "closing" for r in rows) == 6
    assert any(r["kind"] == "turn" and HOSTILE in r["text"] for r in rows)  # data, kept exactly as stored


def test_export_csv_holds_every_kind_in_one_table(report_db, tmp_path):
    out = tmp_path / "export.csv"
    assert export_command(report_db.url, fmt="csv", output=out) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = _counts(report_db)
    assert {k: sum(r["kind"] == k for r in rows) for k in expected} == expected
    verdict = next(r for r in rows if r["kind"] == "verdict")
    assert json.loads(verdict["scores"])["novelty"] in (3, 5, 8, 7)
    assert verdict["persona"] in ("clinician", "geneticist") and verdict["material_order"]
    board = next(r for r in rows if r["kind"] == "scoreboard")
    assert json.loads(board["judge_models"]) == ["gpt-4o-mini"] and board["demo"] == "False"
    score = next(r for r in rows if r["kind"] == "hypothesis_score")
    assert score["scoreboard_id"] == board["scoreboard_id"] and score["interval"] == "no-variation"
    assert all(not r[c].startswith(("=", "+", "@")) for r in rows for c in ("text", "title", "summary", "reasoning"))


# -- two scoreboards: the same hypotheses judged by different models --------------------------------

OTHER_SCORES = {"CYP46A1": 3, "NLRP3": 8}  # the other judge ranks them the other way round


@dataclass(frozen=True)
class TwoBoards:
    url: str
    batches: tuple[str, str]
    hypothesis_ids: dict[str, str]


async def build_two_boards(folder: Path) -> TwoBoards:
    """The two hypotheses of TWO, debated once by a panel of gpt-4o-mini and once by a panel of other-judge."""
    path = folder / "two.yaml"
    path.write_text(TWO)
    hypotheses = load_hypotheses([path])
    url = f"sqlite:///{folder / 'boards.db'}"
    batch_ids = []
    for llm, scores in (({}, SCORES), ({"models": {"judge": "other-judge"}}, OTHER_SCORES)):
        batch = runner(ScriptedServer(default=Responder(scores)), url, llm, rounds=1, judges=2, early_stop=False)
        try:
            result = await batch.run(hypotheses, source="two.yaml")
        finally:
            await batch.client.aclose()
        assert result.count("completed") == 2
        batch_ids.append(result.batch_id)
    return TwoBoards(url, (batch_ids[0], batch_ids[1]), {h.targets[0]: h.hypothesis_id for h in hypotheses})


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> TwoBoards:
    return asyncio.run(build_two_boards(tmp_path_factory.mktemp("boards")))


def test_two_judge_panels_make_two_rankings_that_never_mix(boards):
    cyp, nlrp3 = boards.hypothesis_ids["CYP46A1"], boards.hypothesis_ids["NLRP3"]
    data = report_data(boards.url)  # no --batch: both batches
    assert sorted(r.board.judge_models for r in data.rankings) == [("gpt-4o-mini",), ("other-judge",)]
    by_judge = {r.board.judge_models[0]: r for r in data.rankings}
    first, other = by_judge["gpt-4o-mini"], by_judge["other-judge"]
    assert first.board.id != other.board.id
    assert [(row.hypothesis.id, row.score.mean) for row in first.rows] == [
        (cyp, pytest.approx(7 / 9)),
        (nlrp3, pytest.approx(4 / 9)),
    ]
    assert [(row.hypothesis.id, row.score.mean) for row in other.rows] == [
        (nlrp3, pytest.approx(7 / 9)),
        (cyp, pytest.approx(2 / 9)),
    ]
    for ranking in (first, other):
        for row in ranking.rows:
            assert row.score.scoreboard_id == ranking.board.id
            assert {d.scoreboard_id for d in row.score.debate_views} == {ranking.board.id}
            # two panels of two on each scoreboard: 1 df for the judges' spread, too few to pool
            assert (row.score.debates, row.score.verdicts, row.score.interval) == (1, 2, "too-few")
            assert row.score.text.endswith("no interval: too few verdicts on this scoreboard to pool")

    html = render_html(data)
    assert html.count('<table class="ranking"') == 2
    for judge, ranking in by_judge.items():
        block = board_block(html, ranking.board.id)
        stranger = "other-judge" if judge == "gpt-4o-mini" else "gpt-4o-mini"
        assert f'judges <span class="model">{judge}</span></h3>' in block and stranger not in block
        scores = [float(x) for x in re.findall(r'data-score="([0-9.]+)"', block)]
        assert scores == pytest.approx([row.score.mean for row in ranking.rows])
        assert all(f'data-board="{ranking.board.id}"' in tr for tr in re.findall(r"<tr data-rank[^>]*>", block))
    assert 'data-score="0.500000"' not in html  # (7/9 + 2/9) / 2: the mixed score appears nowhere
    assert "no interval: too few verdicts on this scoreboard to pool" in html
    # each hypothesis lists one score per scoreboard, and each debate its own scoreboard
    section_cyp = section(html, cyp)
    assert section_cyp.count('<tr class="score"') == 2
    for ranking in data.rankings:
        assert f"· scoreboard {ranking.board.id} ·" in section_cyp

    md = render_markdown(data)
    assert md.count("### Scoreboard ") == 4  # a ranking and a distribution per scoreboard
    assert "### Scoreboard " + first.board.id + " · judges gpt-4o-mini" in md
    assert "### Scoreboard " + other.board.id + " · judges other-judge" in md


def test_one_hypothesis_across_two_batches_gets_a_table_per_scoreboard(boards, tmp_path):
    cyp = boards.hypothesis_ids["CYP46A1"]
    out = tmp_path / "cyp.html"
    assert report_command(boards.url, batch=None, hypothesis=cyp, output=out, fmt="html") == 0
    html = out.read_text()
    assert html.count('<table class="ranking"') == 2
    assert len(re.findall(r'<tr data-rank="1" data-hypothesis="' + cyp, html)) == 2  # first of one, twice
    assert 'judges <span class="model">gpt-4o-mini</span>' in html
    assert 'judges <span class="model">other-judge</span>' in html
    one = report_data(boards.url, batch_id=boards.batches[1])
    assert [r.board.judge_models for r in one.rankings] == [("other-judge",)]  # a batch: its own scoreboard


def test_export_scores_stay_on_the_scoreboard_of_their_judges(boards, tmp_path):
    out = tmp_path / "boards.jsonl"
    assert export_command(boards.url, fmt="jsonl", output=out) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    judges = {r["scoreboard_id"]: r["judge_models"] for r in rows if r["kind"] == "scoreboard"}
    assert sorted(judges.values()) == [["gpt-4o-mini"], ["other-judge"]]
    served: dict[str, set[str]] = {}
    for v in (r for r in rows if r["kind"] == "verdict"):
        served.setdefault(v["debate_id"], set()).add(v["model"])
    panels = [r for r in rows if r["kind"] == "score"]
    assert len(panels) == 4
    for p in panels:  # each debate's panel score is on the scoreboard of the judges who gave it
        assert judges[p["scoreboard_id"]] == sorted(served[p["debate_id"]])
    scores = [r for r in rows if r["kind"] == "hypothesis_score"]
    assert len(scores) == 4  # two hypotheses x two scoreboards, never one merged score
    for s in scores:
        mine = [
            p for p in panels if p["scoreboard_id"] == s["scoreboard_id"] and p["hypothesis_id"] == s["hypothesis_id"]
        ]
        assert len(mine) == s["debates"] == 1 and s["verdicts"] == 2 and s["interval"] == "too-few"
        assert s["mean"] == pytest.approx(mine[0]["score"])
        assert s["content_hash"] == mine[0]["content_hash"] and s["version_id"] == f"{s['hypothesis_id']}.v1"


# -- escaping helpers ------------------------------------------------------------------------------


def test_cite_marks_citations_only_in_escaped_text():
    marked = str(cite('see PMID:123, 10.1038/nn.4125. and @shi2010; NCT01234567 <b>"@x"</b> a@b.org'))
    assert "<cite>PMID:123</cite>" in marked and "<cite>10.1038/nn.4125</cite>." in marked
    assert "<cite>@shi2010</cite>" in marked and "<cite>NCT01234567</cite>" in marked
    assert "&lt;b&gt;" in marked and "<b>" not in marked
    assert "&#34;<cite>@x</cite>&#34;" in marked and "a@b.org" in marked  # an e-mail is not a bibkey


def test_md_escape_and_word_diff():
    assert md_escape("<script>x</script> [a](javascript:b) *c* | d") == (
        "&lt;script&gt;x&lt;/script&gt; \\[a\\]\\(javascript:b\\) \\*c\\* \\| d"
    )
    assert md_escape("# not a heading\n1. not a list") == "\\# not a heading\n1\\. not a list"
    assert word_diff("a b c", "a x c d") == [("same", "a"), ("del", "b"), ("ins", "x"), ("same", "c"), ("ins", "d")]


@pytest.mark.parametrize(
    "text",
    [
        "- a list item? no",
        "+ nor this",
        "# nor a heading",
        "===",
        "---",
        "1) not a list",
        "2. nor this",
        "> not a quote",
        "  [link](http://x) ![img](http://x/i.png) {attr}",
        "`code` ~~strike~~ **bold** _em_ <b>html</b> <http://autolink> &amp; &#60;",
        "a | table | row",
        "line one\n= underline attempt\n- and a bullet",
    ],
)
def test_markdown_escape_renders_as_the_text_itself(text):
    """Report and wiki block share one escaper: untrusted text renders as its own words, nothing else."""
    import html as html_module

    from safeio.markdown import escape, escape_inline
    from wiki.block import escape_inline as block_escape

    assert block_escape is escape_inline  # one helper, not two copies
    for escaped, expected in ((escape(text), text), (escape_inline(text), " ".join(text.split()))):
        rendered = MarkdownIt("commonmark").enable("table").render(escaped)
        body = rendered.removeprefix("<p>").removesuffix("</p>\n")
        assert rendered.startswith("<p>") and "<p>" not in body and "<" not in body.replace("&lt;", "")
        assert html_module.unescape(body).split() == expected.split()


# -- one definition of the score by dimension --------------------------------------------------------


def test_report_and_web_page_show_the_same_score_by_dimension(report_db, tmp_path):
    """Two debates of one hypothesis that the judges scored differently: the report and the web page give the
    same per-dimension numbers: the mean over the debates, not the latest debate's."""
    from fastapi.testclient import TestClient

    from wiki.app import create_app

    copy = copy_db(report_db, tmp_path, "dims.db")
    cyp = report_db.hypothesis_ids["CYP46A1"]
    sessions = open_store(copy.url)
    with sessions() as s:
        _, second = s.scalars(
            select(DebateRow.id).where(DebateRow.hypothesis_id == cyp).order_by(DebateRow.finished_at)
        ).all()
        for verdict in s.scalars(select(VerdictRow).where(VerdictRow.debate_id == second)):
            verdict.scores = {name: 2 for name in verdict.scores}  # the latest debate: 2 everywhere (the first: 8)
        s.commit()
    sessions.close()

    data = report_data(copy.url)
    (score,) = next(h for h in data.hypotheses if h.id == cyp).scores
    report = {d.name: d.mean for d in score.dimensions}
    assert len(report) == 10 and list(report.values()) == pytest.approx([5.0] * 10)  # (8 + 2) / 2
    assert all((d.debates, d.verdicts) == (2, 4) for d in score.dimensions)
    with TestClient(create_app(copy.url), base_url="http://localhost") as client:
        web = client.get(f"/api/hypotheses/{cyp}").json()["dimensions"]
        page = client.get(f"/hypothesis/{cyp}").text
    assert web == pytest.approx(report)
    assert page[page.index('id="dimensions"') :].count('<td class="num">5.0</td>') == 10
    assert "| mechanistic plausibility | 15 | 5.0 / 10 |" in render_markdown(data)


# -- CSV export: no cell is a formula ------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","click")', "+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def test_export_csv_neutralises_every_formula(report_db, tmp_path):
    """Titles, mechanisms, target labels and model text that start like a formula are exported as text."""
    copy = copy_db(report_db, tmp_path, "formula.db")
    sessions = open_store(copy.url)
    with sessions() as s:
        hypotheses = s.scalars(select(HypothesisRow).order_by(HypothesisRow.id)).all()
        for h, formula in zip(hypotheses, FORMULAS, strict=False):
            h.title, h.mechanism, h.target_label = formula, formula, formula
        turns = s.scalars(select(TurnRow).order_by(TurnRow.id).limit(len(FORMULAS))).all()
        for turn, formula in zip(turns, FORMULAS, strict=True):
            turn.text = formula
        s.commit()
    sessions.close()
    out = tmp_path / "formula.csv"
    assert export_command(copy.url, fmt="csv", output=out) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cells = [r[c] for r in rows for c in r if r[c]]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    written = {r["title"] for r in rows if r["kind"] == "hypothesis"} | {r["text"] for r in rows if r["kind"] == "turn"}
    used = FORMULAS[: len(hypotheses)]
    assert {"'" + f for f in used} <= written and {"'" + f for f in FORMULAS} <= written
    mechanisms = {r["mechanism"] for r in rows if r["kind"] == "hypothesis"}
    assert {"'" + f for f in used} <= mechanisms
    # the JSON Lines export keeps the data exactly as stored: only a spreadsheet needs the mark
    jsonl = tmp_path / "formula.jsonl"
    assert export_command(copy.url, fmt="jsonl", output=jsonl) == 0
    titles = {json.loads(line).get("title") for line in jsonl.read_text(encoding="utf-8").splitlines()}
    assert set(used) <= titles


# -- re-asks: a turn that needed more than one answer says so ----------------------------------------------------


def test_a_turn_that_needed_re_asks_says_so(report_db, tmp_path):
    copy = copy_db(report_db, tmp_path, "asks.db")
    cyp = report_db.hypothesis_ids["CYP46A1"]
    sessions = open_store(copy.url)
    with sessions() as s:
        debate = s.scalars(select(DebateRow.id).where(DebateRow.hypothesis_id == cyp).order_by(DebateRow.id)).first()
        s.execute(update(TurnRow).where(TurnRow.debate_id == debate, TurnRow.step == "critique").values(asks=3))
        s.execute(update(TurnRow).where(TurnRow.debate_id == debate, TurnRow.step == "verdict").values(asks=2))
        s.commit()
    sessions.close()
    data = report_data(copy.url, batch_id=report_db.batch_id)
    html, md = render_html(data), render_markdown(data)
    assert html.count('<span class="reasks">needed 3 asks</span>') == 2  # a critique in each of the two rounds
    assert html.count('<span class="reasks">needed 2 asks</span>') == 2  # both judges of the panel
    assert html.count('class="reasks"') == 4  # turns answered at the first ask say nothing
    assert len(re.findall(r"^\*\*Round \d, critique\*\* · critic · .* · needed 3 asks$", md, re.M)) == 2
    assert len(re.findall(r"^##### Judge \d .* · needed 2 asks$", md, re.M)) == 2
    assert md.count("needed ") == 4


def test_the_store_names_the_demo_model_as_the_embedded_server_does():
    """store/ may not import agents/, so the demo model's name is written twice: they must agree."""
    assert DEMO_MODEL == EMBEDDED_MODEL
    assert EMBEDDED_MODEL in DEMO_WARNING
