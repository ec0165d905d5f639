"""The web app in a real browser: uvicorn in a thread, Debian's chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Watch, requires_chromium, serving
from tests.wiki_db import SEED_SLUG, WikiDb, with_pages
from wiki.app import create_app

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(wiki_db: WikiDb) -> Iterator[str]:
    """The module's wiki database with both pages imported and attached, served by uvicorn: its base URL."""
    with serving(create_app(with_pages(wiki_db).url)) as url:
        yield url


def test_page_related_block_hypothesis_transcript_and_embed(site: str, browser: object, tmp_path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 1200})  # type: ignore[attr-defined]
    watch = Watch(page)

    page.goto(f"{site}/wiki/{SEED_SLUG}")
    assert page.locator("h1").first.inner_text() == "Mesenchymal Stem Cell Therapy for Neurodegeneration"
    items = page.locator("#related li")
    assert items.count() == 8
    scores = [float(s) for s in page.locator("#related li .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert page.locator("#related li a", has_text="CYP46A1 Overexpression Gene Therapy").count() == 1

    page.click("#related li a:text('CYP46A1 Overexpression Gene Therapy')")
    page.wait_for_url(f"{site}/hypothesis/h-2600483e")
    assert page.locator("h1").inner_text() == "CYP46A1 Overexpression Gene Therapy"
    transcript = page.locator(".transcript").first
    assert transcript.locator(".turn-opening").count() == 1 and transcript.locator(".turn-critique").count() == 1
    assert "CYP46A1" in transcript.locator(".turn-opening pre").inner_text()
    assert page.locator("#dimensions tbody tr").count() >= 5

    page.click(".debate h3 a")
    assert page.locator("h1").inner_text().startswith("Debate d-")
    assert page.locator("#verdicts tbody tr").count() == 2

    page.goto(f"{site}/wiki/{SEED_SLUG}?embed=1")
    assert page.locator("nav.site").count() == 0 and page.locator("#related li").count() == 8

    page.goto(f"{site}/wiki/hostile-page")  # hostile page text and a hostile hypothesis title, as text
    assert "<script>alert('page')</script>" in page.locator("article").inner_text()
    assert page.locator("#related", has_text="<script>alert(1)</script>").count() == 1
    assert page.locator("a[href^='javascript']").count() == 0 and page.locator("img").count() == 0

    page.goto(f"{site}/hypothesis/h-00000000")
    assert page.locator("h1").inner_text() == "Not found"
    page.close()
    assert watch.dialogs == [] and watch.errors == []
    # the 404 above is the only console message a page may leave
    assert [c for c in watch.console if "404" not in c] == []
