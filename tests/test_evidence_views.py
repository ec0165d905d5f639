"""The evidence audit where users read it: the report (HTML, Markdown, and the data it is rendered from), the
web app's hypothesis page and its JSON API. Two hypotheses are debated through the scripted model; the audit's
rows are then written directly: one hypothesis has six audited citations (a fabricated turn citation, a
contradicted evidence claim, hostile text in claims, citations, quotes and details), the other none."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from sqlalchemy import select

from debates.inputs import load_hypotheses
from report.render import render_html, render_markdown
from report.views import ReportData
from store.engine import open_store
from store.models import CitationAuditRow, DebateRow, HypothesisRow, TurnRow
from tests.fakes import FakeDebater, ScriptedServer
from tests.helpers import TWO, report_data, runner
from tests.xss import assert_inert

AUDITED = "h-2600483e"  # CYP46A1, from tests.helpers.TWO
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
LINK = "[x](javascript:alert(1))"
TEMPLATE = "{{7*7}}"
COUNTS = "6 citations: 2 resolved · 1 miscited · 1 unresolved · 1 malformed · 1 fabricated; 1 contradicted"
NOT_AUDITED = "Evidence not audited yet: run"
ITEM_KEYS = {
    "source", "claim", "citation", "status", "detail", "entry_key", "support", "quote", "debate_id", "turn_seq", "role",
}  # fmt: skip


@dataclass(frozen=True)
class AuditDb:
    url: str
    batch_id: str
    other: str  # the hypothesis never audited
    debate_id: str  # the audited hypothesis's debate, whose turns cite
    critique_seq: int
    rebuttal_seq: int


def _rows(debate_id: str, critique: int, rebuttal: int) -> list[dict[str, Any]]:
    """The audit of AUDITED, in order: resolved, contradicted, miscited, fabricated (a turn), malformed (a turn),
    unresolved."""
    evidence = {"source": "evidence", "debate_id": None, "turn_seq": None, "role": None}
    return [
        {**evidence, "claim": "AAV-CYP46A1 reduced amyloid pathology in APP23 mice.", "citation": "@hudry2010",
         "status": "resolved", "detail": None, "entry_key": "hudry2010", "support": "supports",
         "quote": "CYP46A1 gene transfer reduced amyloid deposits"},
        {**evidence, "claim": f"CYP46A1 lowers tau {SCRIPT}", "citation": "PMID:12345", "status": "resolved",
         "detail": None, "entry_key": "smith2020", "support": "contradicts",
         "quote": f"tau rose in treated mice {IMG}"},
        {**evidence, "claim": f"{LINK} improves memory", "citation": "10.1000/xyz123", "status": "miscited",
         "detail": f"year 2007 stated, the entry says 2006 {TEMPLATE}", "entry_key": "doe2006", "support": None,
         "quote": None},
        {"source": "turn", "debate_id": debate_id, "turn_seq": critique, "role": "critic",
         "claim": f"as @ghost2099 showed {TEMPLATE}", "citation": "@ghost2099", "status": "fabricated",
         "detail": "no such entry in any bibliography", "entry_key": None, "support": None, "quote": None},
        {"source": "turn", "debate_id": debate_id, "turn_seq": rebuttal, "role": "proposer",
         "claim": "the rebuttal cites a broken PMID", "citation": IMG, "status": "malformed",
         "detail": f"{SCRIPT} is not a PMID", "entry_key": None, "support": None, "quote": None},
        {**evidence, "claim": "A trial is recruiting.", "citation": "NCT01234567", "status": "unresolved",
         "detail": None, "entry_key": None, "support": None, "quote": None},
    ]  # fmt: skip


async def build_audit_db(folder: Path) -> AuditDb:
    path = folder / "two.yaml"
    path.write_text(TWO, encoding="utf-8")
    hypotheses = load_hypotheses([path])
    url = f"sqlite:///{folder / 'audit.db'}"
    batch = runner(ScriptedServer(default=FakeDebater()), url, rounds=1, judges=2, early_stop=False)
    try:
        result = await batch.run(hypotheses, source="two.yaml")
    finally:
        await batch.client.aclose()
    assert [o.status for o in result.outcomes] == ["completed", "completed"], result.outcomes
    other = next(h.hypothesis_id for h in hypotheses if h.hypothesis_id != AUDITED)
    sessions = open_store(url)
    try:
        with sessions() as s:
            debate_id = s.scalars(select(DebateRow.id).where(DebateRow.hypothesis_id == AUDITED)).one()
            turns = select(TurnRow.step, TurnRow.seq).where(TurnRow.debate_id == debate_id)
            seq = {step: n for step, n in s.execute(turns)}
            content_hash = s.get_one(HypothesisRow, AUDITED).content_hash
            for position, row in enumerate(_rows(debate_id, seq["critique"], seq["rebuttal"])):
                s.add(CitationAuditRow(hypothesis_id=AUDITED, content_hash=content_hash, position=position, **row))
            # a row of an earlier version of the other hypothesis: it was never audited as it is now
            stale = {**_rows(debate_id, 0, 0)[0], "hypothesis_id": other, "content_hash": "0" * 64, "position": 0}
            s.add(CitationAuditRow(**stale))
            s.commit()
    finally:
        sessions.close()
    return AuditDb(url, result.batch_id, other, debate_id, seq["critique"], seq["rebuttal"])


@pytest.fixture(scope="module")
def audit_db(tmp_path_factory: pytest.TempPathFactory) -> AuditDb:
    """Two debated hypotheses with the audit rows of `_rows` stored (`build_audit_db`), shared by the module."""
    return asyncio.run(build_audit_db(tmp_path_factory.mktemp("audit")))


@pytest.fixture(scope="module")
def report(audit_db: AuditDb) -> ReportData:
    return report_data(audit_db.url, batch_id=audit_db.batch_id)


@pytest.fixture(scope="module")
def served_url(audit_db: AuditDb) -> str:
    """The database the web app `client` serves."""
    return audit_db.url


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def _html_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="audit-row.*?</tr>', html, re.DOTALL)


# -- the data the report is rendered from ---------------------------------------------------------------------------


def test_the_report_data_carries_each_hypothesis_audit(audit_db: AuditDb, report: ReportData):
    views = {h.id: h for h in report.hypotheses}
    audit = views[AUDITED].audit
    assert audit is not None and views[audit_db.other].audit is None  # its only row is of an older version
    assert audit.summary == COUNTS
    assert [c.status for c in audit.citations] == [
        "resolved", "resolved", "miscited", "fabricated", "malformed", "unresolved",
    ]  # fmt: skip
    assert [c.flags for c in audit.citations] == [(), ("contradicted",), (), ("fabricated",), (), ()]
    assert [c.place for c in audit.citations] == [
        "evidence", "evidence", "evidence", "critic, critique round 1", "proposer, rebuttal round 1", "evidence",
    ]  # fmt: skip
    assert audit.citations[1].quote == f"tau rose in treated mice {IMG}"  # stored as written; escaped when shown


# -- the HTML report ------------------------------------------------------------------------------------------------


def test_html_report_shows_the_counts_and_marks_exactly_the_flagged_rows(audit_db: AuditDb, report: ReportData):
    html = render_html(report)
    section = _between(html, f'<section class="hypothesis" id="{AUDITED}">', "</section>")
    audit = section.split("<h3>Evidence audit</h3>", 1)[1]
    assert f'<p class="audit-counts">{COUNTS}</p>' in audit
    rows = _html_rows(audit)
    assert len(rows) == 6
    fabricated = [r for r in rows if "⚠ fabricated" in r]
    contradicted = [r for r in rows if "⚠ contradicted" in r]
    assert len(fabricated) == 1 and "@ghost2099" in fabricated[0]
    assert 'class="audit-row flagged fabricated"' in fabricated[0]
    assert "critic, critique round 1" in fabricated[0] and f'href="#{audit_db.debate_id}"' in fabricated[0]
    assert len(contradicted) == 1 and "PMID:12345" in contradicted[0] and "flagged contradicted" in contradicted[0]
    assert "<q>tau rose in treated mice &#34;&gt;&lt;img src=x onerror=alert(1)&gt;</q>" in contradicted[0]
    assert sum("flagged" in r for r in rows) == 2
    assert "year 2007 stated, the entry says 2006 {{7*7}}" in audit  # shown as written, never evaluated
    other = _between(html, f'<section class="hypothesis" id="{audit_db.other}">', "</section>")
    assert "Evidence not audited yet: run <code>hypodebate evidence</code>." in other
    assert "audit-row" not in other


def test_html_report_shows_hostile_audit_text_as_text(report: ReportData):
    html = render_html(report)
    assert_inert(html, own_scripts=1, svg_classes=frozenset({"histogram", "dotplot"}))
    assert SCRIPT not in html and "<img" not in html
    assert "CYP46A1 lowers tau &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[x](javascript:alert(1)) improves memory" in html  # text in HTML: no link
    assert 'href="javascript' not in html


# -- the Markdown report --------------------------------------------------------------------------------------------


def test_markdown_report_shows_the_counts_and_marks_exactly_the_flagged_rows(audit_db: AuditDb, report: ReportData):
    md = render_markdown(report)
    section = _between(md, f"({AUDITED})\n", "\n## ")
    audit = section.split("### Evidence audit\n", 1)[1]
    lines = audit.strip().splitlines()
    assert lines[0] == COUNTS
    assert lines[2] == "| claim | citation | status | support | quoted span | cited in |"
    rows = lines[4:]
    assert len(rows) == 6
    assert [r for r in rows if "⚠" in r] == [rows[1], rows[3]]
    assert "**⚠ contradicted**" in rows[1] and "PMID:12345" in rows[1]
    assert rows[3] == (
        r"| as @ghost2099 showed \{\{7\*7\}\} | @ghost2099 | **⚠ fabricated** (no such entry in any bibliography) "
        f"| not checked | — | critic, critique round 1 · {audit_db.debate_id} turn {audit_db.critique_seq} |"
    )
    assert rows[0] == (
        "| AAV-CYP46A1 reduced amyloid pathology in APP23 mice. | @hudry2010 → hudry2010 | resolved | supports "
        "| CYP46A1 gene transfer reduced amyloid deposits | evidence |"
    )
    other = md.split(f"({audit_db.other})\n", 2)[-1]
    assert f"{NOT_AUDITED} `hypodebate evidence`." in other.split("### Evidence audit\n", 1)[1]


def test_markdown_report_audit_is_inert_and_keeps_its_table(report: ReportData):
    md = render_markdown(report)
    assert SCRIPT not in md and "<img" not in md and "](javascript" not in md
    rendered = MarkdownIt("commonmark").enable("table").render(md)  # raw HTML on: the strictest reader
    assert_inert(rendered)
    assert "<strong>⚠ fabricated</strong>" in rendered and "<strong>⚠ contradicted</strong>" in rendered
    table = _between(rendered, "<th>quoted span</th>", "</table>")
    assert table.count("<tr>") == 6  # no cell text broke the table
    assert "CYP46A1 lowers tau &lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "[x](javascript:alert(1)) improves memory" in table and "{{7*7}}" in table


# -- the web app ----------------------------------------------------------------------------------------------------


def test_hypothesis_page_shows_the_audit(audit_db: AuditDb, client: TestClient):
    response = client.get(f"/hypothesis/{AUDITED}")
    assert response.status_code == 200
    html = response.text
    assert f'<p id="audit-counts">{COUNTS}</p>' in html
    rows = _html_rows(_between(html, '<table id="audit">', "</table>"))
    assert len(rows) == 6
    assert [i for i, r in enumerate(rows) if "⚠" in r] == [1, 3]
    assert "⚠ contradicted" in rows[1] and "flagged contradicted" in rows[1]
    assert "⚠ fabricated" in rows[3] and "flagged fabricated" in rows[3] and "@ghost2099" in rows[3]
    assert (
        f'<a class="id" href="/debates/{audit_db.debate_id}">{audit_db.debate_id}</a> turn {audit_db.critique_seq}'
        in rows[3]
    )
    assert "proposer, rebuttal round 1" in rows[4]
    assert_inert(html)
    assert "CYP46A1 lowers tau &lt;script&gt;alert(1)&lt;/script&gt;" in html and "{{7*7}}" in html
    other = client.get(f"/hypothesis/{audit_db.other}").text
    assert f"{NOT_AUDITED} <code>hypodebate evidence</code>." in other and 'id="audit"' not in other


def test_json_api_carries_the_audit(audit_db: AuditDb, client: TestClient):
    audit = client.get(f"/api/hypotheses/{AUDITED}").json()["evidence_audit"]
    assert set(audit) == {"counts", "contradicted", "items"}
    assert audit["counts"] == {"resolved": 2, "miscited": 1, "unresolved": 1, "malformed": 1, "fabricated": 1}
    assert audit["contradicted"] == 1 and len(audit["items"]) == 6
    assert all(set(item) == ITEM_KEYS for item in audit["items"])
    assert audit["items"][3] == {
        "source": "turn",
        "claim": f"as @ghost2099 showed {TEMPLATE}",
        "citation": "@ghost2099",
        "status": "fabricated",
        "detail": "no such entry in any bibliography",
        "entry_key": None,
        "support": None,
        "quote": None,
        "debate_id": audit_db.debate_id,
        "turn_seq": audit_db.critique_seq,
        "role": "critic",
    }
    assert audit["items"][1]["support"] == "contradicts" and audit["items"][1]["quote"].endswith(IMG)  # JSON is data
    assert client.get(f"/api/hypotheses/{audit_db.other}").json()["evidence_audit"] is None
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "evidence_audit" in schema["HypothesisResponse"]["properties"]
    assert set(schema["AuditItem"]["properties"]) == ITEM_KEYS
    assert set(schema["EvidenceAudit"]["properties"]) == {"counts", "contradicted", "items"}
