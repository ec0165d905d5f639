"""The XSS corpus in hypothesis fields and model turns: the HTML and Markdown reports, the related block and
every web page show it as text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from report.render import render_html, render_markdown
from tests.helpers import report_data
from tests.xss import PAYLOADS, XssDb, assert_inert
from wiki.block import END, START, render_block

REPORT_SVG = frozenset({"histogram", "dotplot"})


def test_the_corpus_is_large_enough():
    assert len(PAYLOADS) >= 25 and len(set(PAYLOADS)) == len(PAYLOADS)


def test_html_report_renders_every_payload_as_text(xss: XssDb):
    html = render_html(report_data(xss.url, batch_id=xss.batch_id))
    assert_inert(html, own_scripts=1, svg_classes=REPORT_SVG)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;svg onload=alert(1)&gt;" in html
    assert "{{7*7}}" in html and "49" not in html.split("{{7*7}}")[0][-5:]  # no template evaluated the data


def test_markdown_report_is_inert_even_where_markdown_allows_html(xss: XssDb):
    md = render_markdown(report_data(xss.url, batch_id=xss.batch_id))
    for payload in PAYLOADS:
        if "<" in payload:
            assert payload not in md
    rendered = MarkdownIt("commonmark").enable("table").render(md)  # raw HTML on: the strictest reader
    assert_inert(rendered)


@dataclass(frozen=True)
class Line:
    id: str
    title: str
    target_label: str
    score: float
    lo: float | None = None
    hi: float | None = None
    interval: str = "none"
    debates: int = 1


@pytest.mark.parametrize("style", ["dump", "markdown"])
def test_related_block_is_inert_for_every_payload(style):
    lines = [Line(f"h-{i:08x}", f"Title {p}", p, 0.5) for i, p in enumerate(PAYLOADS)]
    block = render_block(lines, style=style)  # type: ignore[arg-type]
    assert block.startswith(START) and block.endswith(END)
    assert block.count("](/hypothesis/h-") == len(PAYLOADS)
    rendered = MarkdownIt("commonmark").render(block)
    assert_inert(rendered.replace(START, "").replace(END, ""))
    assert rendered.count('<a href="/hypothesis/h-') == len(PAYLOADS)
    assert rendered.count("<a href=") == len(PAYLOADS) + 1  # and the subheading's /exchange, nothing else


def test_the_attached_page_block_is_inert(xss: XssDb):
    text = xss.page.read_text(encoding="utf-8")
    assert START in text and text.count("](/hypothesis/h-") == 3
    assert_inert(MarkdownIt("commonmark").render(text))


@pytest.fixture(scope="module")
def served_url(xss: XssDb) -> str:
    """The database the web app `client` serves."""
    return xss.url


def test_every_web_page_renders_every_payload_as_text(xss: XssDb, client: TestClient):
    paths = ["/exchange", "/wiki/xss-page", "/wiki/xss-page?embed=1"]
    paths += [f"/hypothesis/{h}" for h in xss.hypothesis_ids] + [f"/hypothesis/{xss.hypothesis_ids[0]}?embed=1"]
    paths += [f"/debates/{d}" for d in xss.debate_ids]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src" not in response.headers["content-security-policy"]
        assert_inert(response.text)
    page = client.get(f"/hypothesis/{xss.hypothesis_ids[0]}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;details open ontoggle=alert(1)&gt;" in page
