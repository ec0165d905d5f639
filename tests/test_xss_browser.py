"""The XSS corpus in a real browser: the report file and every web page load without a dialog, a console
error or a request that leaves the page's origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hypodebate.commands.report import report_command
from tests.browser import Watch, requires_chromium, serving
from tests.xss import XssDb
from wiki.app import create_app

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(xss: XssDb) -> Iterator[str]:
    with serving(create_app(xss.url)) as url:
        yield url


def _settle(page: Any) -> None:
    page.wait_for_load_state("load")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # ontoggle, if any
    page.mouse.move(200, 200)
    page.keyboard.press("Tab")
    page.wait_for_timeout(150)


def test_report_with_the_whole_corpus_runs_nothing_and_fetches_nothing(xss: XssDb, browser: Any, tmp_path: Path):
    path = tmp_path / "report.html"
    assert report_command(xss.url, batch=xss.batch_id, hypothesis=None, output=path, fmt="html") == 0
    page = browser.new_page()
    watch = Watch(page)
    page.goto(path.as_uri())
    _settle(page)
    assert "<script>alert(1)</script>" in page.locator("body").inner_text()
    assert page.locator("script").count() == 1
    assert page.locator("img, iframe, object, embed, base, video, math").count() == 0
    assert page.locator("[onerror], [onload], [ontoggle], [onfocus]").count() == 0
    assert page.evaluate('document.querySelectorAll(\'a[href^="javascript" i], a[href^="data" i]\').length') == 0
    page.close()
    assert watch.dialogs == [] and watch.errors == [] and watch.console == []
    assert [u for u in watch.requests if not u.startswith(("file:", "data:"))] == []


def test_web_pages_with_the_whole_corpus_run_nothing_and_stay_on_their_origin(xss: XssDb, site: str, browser: Any):
    page = browser.new_page()
    watch = Watch(page)
    paths = ["/exchange", "/wiki/xss-page", "/wiki/xss-page?embed=1"]
    paths += [f"/hypothesis/{h}" for h in xss.hypothesis_ids] + [f"/debates/{d}" for d in xss.debate_ids]
    for path in paths:
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        _settle(page)
        assert page.locator("script, img, iframe, object, embed, base, video, math").count() == 0, path
        assert page.locator("[onerror], [onload], [ontoggle], [onfocus]").count() == 0, path
    assert "<img src=x onerror=alert(1)>" in page.locator("body").inner_text()
    page.close()
    assert watch.dialogs == [] and watch.errors == [] and watch.console == []
    assert [u for u in watch.requests if not u.startswith(site + "/")] == []
