"""The web app in a real browser: uvicorn in a thread, Debian's chromium driven by Playwright."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.engine import open_store
from tests.browser import requires_chromium, serving
from tests.wiki_db import SEED_SLUG, build_wiki_db
from wiki.app import create_app
from wiki.settings import WikiSettings
from wiki.sync import attach_pages, import_pages

pytestmark = requires_chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_wiki_db(tmp_path_factory.mktemp("site"))
    sessions = open_store(db.url)
    try:
        import_pages(sessions, [db.seed, db.page], root=db.root)
        attach_pages(sessions, [], WikiSettings(), root=db.root)
    finally:
        sessions.close()
    with serving(create_app(db.url)) as url:
        yield url


def test_page_related_block_hypothesis_transcript_and_embed(site: str, browser: object, tmp_path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 1200})  # type: ignore[attr-defined]
    console: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

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
    assert dialogs == [] and errors == []
    # the 404 above is the only console message a page may leave
    assert [c for c in console if "404" not in c] == []
