"""The transcript report and the export, built from a real database of scripted debates."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import func, select, update

from agents.embedded import DEMO_WARNING
from agents.settings import EMBEDDED_MODEL
from debates.hypotheses import Evidence, Hypothesis
from debates.inputs import load_hypotheses
from debates.report import cite, md_escape, render_html, render_markdown, word_diff
from debates.report_data import ReportScopeError, load_report
from hypodebate.commands.export import export_command
from hypodebate.commands.report import report_command
from hypodebate.commands.show import NotFound
from store.engine import open_store
from store.models import DebateRow, TurnRow, UsageRow, VerdictRow
from tests.fakes import FakeDebater, Reply, ScriptedServer
from tests.helpers import TWO, runner

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
    """Plant the payload in the model's own words: claims, critic points, answers, revisions, summaries."""
    for key in ("claim", "revised_claim", "summary"):
        if isinstance(args.get(key), str):
            args[key] = f"{args[key]} {HOSTILE}"
    for item in args.get("points", []) + args.get("answers", []):
        key = "point" if "severity" in item else "answer"
        item[key] = f"{item[key]} {HOSTILE}"
    return args


class Responder:
    """A scripted model: one FakeDebater per target (fixed scores), hostile text for TREM2, and an
    APOE critic that answers with prose instead of JSON, so APOE debates fail at the critique."""

    def __init__(self) -> None:
        self.debaters = {target: FakeDebater(score=score) for target, score in SCORES.items()}
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
def db(tmp_path_factory: pytest.TempPathFactory) -> ReportDb:
    return asyncio.run(build_report_db(tmp_path_factory.mktemp("report")))


def load(db: ReportDb, **scope: str | None):
    sessions = open_store(db.url)
    try:
        with sessions() as session:
            return load_report(session, **scope)
    finally:
        sessions.kw["bind"].dispose()


def section(html: str, hypothesis_id: str) -> str:
    start = html.index(f'<section class="hypothesis" id="{hypothesis_id}">')
    return html[start : html.index("</section>", start)]


# -- HTML ------------------------------------------------------------------------------------------


def test_html_report_escapes_every_hostile_text(db):
    html = render_html(load(db, batch_id=db.batch_id))
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
    trem2 = section(html, db.hypothesis_ids["TREM2"])
    assert trem2.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8


def test_html_report_ranks_breaks_down_and_lists_failures(db):
    data = load(db, batch_id=db.batch_id)
    html = render_html(data)
    ids = db.hypothesis_ids
    rows = re.findall(r'<tr data-rank="(\d+)".*?<a href="#(h-[0-9a-f]{8})">', html, re.S)
    assert [h for _, h in rows] == [ids["CYP46A1"], ids["NLRP3"], ids["TREM2"], ids["APOE"]]
    assert [h.score for h in data.hypotheses[:3]] == pytest.approx([7 / 9, 4 / 9, 2 / 9])
    assert re.search(r'data-score="0\.777778"[^>]*data-n="4"', html)

    cyp = section(html, ids["CYP46A1"])
    assert cyp.count('class="dim-bar"') == 10
    assert 'mechanistic plausibility</td><td class="num">15</td><td class="num">8.0 / 10' in cyp
    assert 'style="width: 77.8%"' in cyp
    assert html.count('class="dim-bar"') == 30  # APOE never got a verdict: no bars
    assert cyp.count('turn-verdict verdict"') == 2 * 2  # two replicates, a panel of two
    assert cyp.count("<h4>Round ") == 2 * 2
    assert "<del>" in cyp and "<ins>" in cyp  # the rebuttal's revision as a diff against the opening claim
    assert "not answered" in cyp  # the fake proposer answers only point 1 of 2
    assert '<td class="resolved-no">no</td>' in cyp
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
    sessions = open_store(db.url)
    with sessions() as s:
        tokens = s.scalar(select(func.sum(UsageRow.prompt_tokens + UsageRow.completion_tokens)))
        calls = s.scalar(select(func.count()).select_from(UsageRow))
    sessions.kw["bind"].dispose()
    assert f"{tokens:,} (" in overview and f"in {calls} calls" in overview
    assert "estimated cost $0.0020" in overview
    assert f"This report covers batch {db.batch_id}: 4 hypotheses, 8 debates." in overview
    assert "Demo model" not in html
    # the histogram has ten bins; each hypothesis with two completed debates has a dot plot
    assert html.count('<rect class="bin"') == 10
    assert html.count('<svg class="dotplot"') == 3


def test_demo_banner_when_the_embedded_model_took_part(db, tmp_path):
    copy = tmp_path / "demo.db"
    copy.write_bytes(Path(db.url.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{copy}"
    sessions = open_store(url)
    with sessions() as s:
        s.execute(update(DebateRow).values(models={"proposer": EMBEDDED_MODEL, "critic": "x", "judge": "y"}))
        s.commit()
    sessions.kw["bind"].dispose()
    html = render_html(load(ReportDb(url, db.batch_id, db.hypothesis_ids), batch_id=db.batch_id))
    assert 'id="demo-banner"' in html and DEMO_WARNING in html
    assert "Demo model" in render_markdown(load(ReportDb(url, db.batch_id, db.hypothesis_ids)))


# -- Markdown --------------------------------------------------------------------------------------


def test_markdown_report_has_the_same_content_and_is_inert(db):
    md = render_markdown(load(db, batch_id=db.batch_id))
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "\\[x\\](javascript:alert(1))" in md
    assert "\\\\" not in md  # nothing escaped twice
    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<script" not in rendered and "<img" not in rendered and 'javascript:alert(1)"' not in rendered
    assert 'href="javascript' not in rendered
    ranked = re.findall(r"^\| (\d) \| .*?\((h-[0-9a-f]{8})\) \|", md, re.M)
    assert [h for _, h in ranked] == [db.hypothesis_ids[t] for t in ("CYP46A1", "NLRP3", "TREM2", "APOE")]
    for expected in [
        "## Batch overview",
        "6 completed · 2 failed · 0 skipped",
        "## Score distribution",
        "### Replicates",
        "## Failed debates",
        "critique (round 1), after 1 stored turn",
        "### Score by dimension",
        "| mechanistic plausibility | 15 | 8.0 / 10 |",
        "*not answered*",
        "<del>",
        "<ins>",
        "##### Judge 2",
    ]:
        assert expected in md
    assert rendered.count("<table>") >= 10  # the tables really are tables


# -- commands, scope, export -----------------------------------------------------------------------


def test_report_command_writes_html_and_md_and_names_unknown_ids(db, tmp_path):
    out = tmp_path / "out" / "report.html"
    assert report_command(db.url, batch=None, hypothesis=None, output=out, fmt="html") == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "No batch was chosen" in html
    one = tmp_path / "one.md"
    cyp = db.hypothesis_ids["CYP46A1"]
    assert report_command(db.url, batch=db.batch_id, hypothesis=cyp, output=one, fmt="md") == 0
    text = one.read_text()
    assert f"({cyp})" in text and db.hypothesis_ids["NLRP3"] not in text
    with pytest.raises(NotFound, match="b-00000000"):
        report_command(db.url, batch="b-00000000", hypothesis=None, output=out, fmt="html")
    with pytest.raises(NotFound, match="h-00000000"):
        report_command(db.url, batch=None, hypothesis="h-00000000", output=out, fmt="html")


async def test_report_without_batch_covers_every_hypothesis_with_debates(db, tmp_path):
    copy = tmp_path / "scope.db"
    copy.write_bytes(Path(db.url.removeprefix("sqlite:///")).read_bytes())
    url = f"sqlite:///{copy}"
    extra = Hypothesis(
        title="SIRT1 activation", targets=["SIRT1"], mechanism="SIRT1 activation restores mitochondrial biogenesis."
    )
    batch = runner(ScriptedServer(default=FakeDebater(score=9)), url, rounds=1, judges=1)
    second = await batch.run([extra], source="extra.yaml")
    await batch.client.aclose()
    scoped = ReportDb(url, db.batch_id, db.hypothesis_ids)
    first = load(scoped, batch_id=db.batch_id)
    newest = load(scoped, batch_id=second.batch_id)
    everything = load(scoped)
    assert extra.hypothesis_id not in {h.id for h in first.hypotheses}
    assert [h.id for h in newest.hypotheses] == [extra.hypothesis_id]
    assert everything.scope == "all" and everything.batch.id == second.batch_id
    assert everything.hypotheses[0].id == extra.hypothesis_id and len(everything.hypotheses) == 5
    assert everything.debates_total == 9 and everything.batches_total == 2
    with pytest.raises(ReportScopeError, match=f"{db.hypothesis_ids['CYP46A1']}: no debates in batch"):
        load(scoped, batch_id=second.batch_id, hypothesis_id=db.hypothesis_ids["CYP46A1"])
    # a re-run skips what is done: its report is empty and says where those debates are
    again = runner(ScriptedServer(default=FakeDebater(score=9)), url, rounds=1, judges=1)
    third = await again.run([extra], source="extra.yaml")
    await again.client.aclose()
    empty = load(scoped, batch_id=third.batch_id)
    assert empty.hypotheses == () and empty.batch.skipped == 1
    html, md = render_html(empty), render_markdown(empty)
    assert "1 debate(s) were skipped because they had already completed" in html
    assert "1 debate(s) were skipped because they had already completed" in md


def _counts(db: ReportDb) -> dict[str, int]:
    sessions = open_store(db.url)
    with sessions() as s:
        counts = {
            "hypothesis": 4,
            "debate": s.scalar(select(func.count()).select_from(DebateRow)),
            "score": 6,
            "verdict": s.scalar(select(func.count()).select_from(VerdictRow)),
            "turn": s.scalar(select(func.count()).select_from(TurnRow)),
        }
    sessions.kw["bind"].dispose()
    return counts


def test_export_jsonl_has_one_object_per_line_with_a_kind(db, tmp_path):
    out = tmp_path / "export.jsonl"
    assert export_command(db.url, fmt="jsonl", output=out) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    expected = _counts(db)
    assert expected["debate"] == 8 and expected["verdict"] == 12 and expected["turn"] == 6 * 7 + 2
    assert {k: sum(r["kind"] == k for r in rows) for k in expected} == expected
    assert len(rows) == sum(expected.values())
    cyp = next(r for r in rows if r["kind"] == "hypothesis" and r["hypothesis_id"] == db.hypothesis_ids["CYP46A1"])
    assert cyp["score"] == pytest.approx(7 / 9) and cyp["evidence"][0]["citation"] == "@hudry2010"
    turn = next(r for r in rows if r["kind"] == "turn")
    assert {"debate_id", "hypothesis_id", "seq", "step", "role", "model", "text", "payload"} <= turn.keys()
    assert any(r["kind"] == "turn" and HOSTILE in r["text"] for r in rows)  # data, kept exactly as stored


def test_export_csv_holds_every_kind_in_one_table(db, tmp_path):
    out = tmp_path / "export.csv"
    assert export_command(db.url, fmt="csv", output=out) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = _counts(db)
    assert {k: sum(r["kind"] == k for r in rows) for k in expected} == expected
    verdict = next(r for r in rows if r["kind"] == "verdict")
    assert json.loads(verdict["scores"])["novelty"] in (3, 5, 8, 7)
    assert all(not r[c].startswith(("=", "+", "@")) for r in rows for c in ("text", "title", "summary"))


# -- escaping helpers ------------------------------------------------------------------------------


def test_cite_marks_citations_only_in_escaped_text():
    marked = str(cite('see PMID:123, 10.1038/nn.4125. and @shi2010; NCT01234567 <b>"@x"</b> a@b.org'))
    assert "<cite>PMID:123</cite>" in marked and "<cite>10.1038/nn.4125</cite>." in marked
    assert "<cite>@shi2010</cite>" in marked and "<cite>NCT01234567</cite>" in marked
    assert "&lt;b&gt;" in marked and "<b>" not in marked
    assert "&#34;<cite>@x</cite>&#34;" in marked and "a@b.org" in marked  # an e-mail is not a bibkey


def test_md_escape_and_word_diff():
    assert md_escape("<script>x</script> [a](javascript:b) *c* | d") == (
        "&lt;script&gt;x&lt;/script&gt; \\[a\\](javascript:b) \\*c\\* \\| d"
    )
    assert md_escape("# not a heading\n1. not a list") == "\\# not a heading\n1\\. not a list"
    assert word_diff("a b c", "a x c d") == [("same", "a"), ("del", "b"), ("ins", "x"), ("same", "c"), ("ins", "d")]
