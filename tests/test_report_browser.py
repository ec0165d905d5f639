"""The HTML report in a real browser: Debian's chromium driven by Playwright (which never downloads one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hypodebate.commands.report import report_command
from tests.browser import ARTIFACTS, Watch, requires_chromium, run_aside
from tests.test_report import ReportDb, TwoBoards, build_report_db, build_two_boards

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportDb]:
    """The HTML report of a fresh `build_report_db` batch, written to a file: (its path, the database)."""
    folder = tmp_path_factory.mktemp("browser")
    db = run_aside(build_report_db(folder))
    path = folder / "report.html"
    assert report_command(db.url, batch=db.batch_id, hypothesis=None, output=path, fmt="html") == 0
    return path, db


def _open_watched(browser: Any, path: Path) -> tuple[Any, Watch]:
    """The report file `path` loaded in a new page of `browser`, and what the page did while it loaded and after."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    watch = Watch(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, watch


def test_report_sorts_filters_and_executes_nothing_hostile(report_file, browser):
    path, db = report_file
    page, watch = _open_watched(browser, path)

    rows = page.locator("table.ranking tbody tr")
    visible = page.locator("table.ranking tbody tr:visible")
    ids = db.hypothesis_ids

    def order() -> list[str]:
        return rows.evaluate_all("rows => rows.map(r => r.querySelector('a').getAttribute('href').slice(1))")

    assert page.locator("table.ranking").count() == 1  # one scoreboard
    ranked = [ids["CYP46A1"], ids["NLRP3"], ids["TREM2"]]  # APOE has no completed debate: listed as not scored
    assert order() == ranked
    assert page.locator("#filter-count").inner_text() == "3 of 3 rows shown"
    assert page.locator("ul.unscored li").count() == 1 and ids["APOE"] in page.locator("ul.unscored").inner_text()

    # sorting: by score ascending, then descending, then by title both ways
    page.click("table.ranking th button[data-key='score']")
    assert order() == ranked[::-1]
    assert page.get_attribute("table.ranking th:has(button[data-key='score'])", "aria-sort") == "ascending"
    page.click("table.ranking th button[data-key='score']")
    assert order() == ranked  # descending: the ranking again
    page.click("table.ranking th button[data-key='title']")
    assert order() == [ids["CYP46A1"], ids["NLRP3"], ids["TREM2"]]
    page.click("table.ranking th button[data-key='title']")
    assert order() == [ids["TREM2"], ids["NLRP3"], ids["CYP46A1"]]
    page.click("table.ranking th button[data-key='verdicts']")
    assert order() == ranked  # all tie at 4 verdicts: the rank decides

    # filtering by text, by target and by score range hides rows without touching the others
    page.fill("#filter-text", "cyp46a1")
    assert visible.count() == 1 and "CYP46A1" in visible.first.inner_text()
    assert page.locator("#filter-count").inner_text() == "1 of 3 rows shown"
    page.click("#filter-reset")
    assert visible.count() == 3
    page.select_option("#filter-target", "PYCARD")
    assert visible.count() == 1 and ids["NLRP3"] in visible.first.inner_html()
    page.click("#filter-reset")
    page.fill("#filter-min", "0.3")
    page.fill("#filter-max", "0.5")
    assert visible.count() == 1 and ids["NLRP3"] in visible.first.inner_html()
    page.fill("#filter-max", "")
    assert visible.count() == 2  # 0.78 and 0.44
    page.click("#filter-reset")
    assert visible.count() == 3
    assert "2 debates, no variation on this scoreboard" in visible.first.inner_text()

    # the hostile text is there, as text, and nothing in it ran or was fetched
    heading = page.locator(f"section#{ids['TREM2']} h2").inner_text()
    assert "<script>alert(1)</script>" in heading and "<img src=x onerror=alert(1)>" in heading
    assert "[x](javascript:alert(1))" in heading
    assert page.locator("script").count() == 1
    assert page.locator("img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator(f"section#{ids['TREM2']} .turn-critique td", has_text="<script>alert(1)</script>").count() >= 2
    assert page.locator(f"section#{ids['TREM2']} .turn-closing td", has_text="<script>alert(1)</script>").count() >= 2
    assert page.locator(f"section#{ids['TREM2']} .reasoning", has_text="<script>alert(1)</script>").count() >= 2
    assert watch.dialogs == []
    assert watch.errors == [] and watch.console == []
    assert [u for u in watch.requests if not u.startswith(("file:", "data:"))] == []

    # printed: no controls, every debate expanded
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert not page.is_visible(".controls")
    assert page.locator("details:not([open])").count() == 0
    page.emulate_media(media="screen")

    page.click("table.ranking th button[data-key='rank']")
    assert order() == ranked
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report.png"))
    page.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def two_boards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TwoBoards]:
    """The HTML report of `build_two_boards`' database, written to a file: (its path, the database)."""
    folder = tmp_path_factory.mktemp("browser-boards")
    boards = run_aside(build_two_boards(folder))
    path = folder / "boards.html"
    assert report_command(boards.url, batch=None, hypothesis=None, output=path, fmt="html") == 0
    return path, boards


def test_each_scoreboard_sorts_on_its_own_and_rows_never_change_tables(two_boards, browser):
    path, boards = two_boards
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    tables = page.locator("table.ranking")
    assert tables.count() == 2
    boards_of_rows = "rows => rows.map(r => r.getAttribute('data-board') + ' ' + r.closest('table').dataset.board)"

    def placed() -> list[str]:
        return page.locator("table.ranking tbody tr").evaluate_all(boards_of_rows)

    before = placed()
    assert len(before) == 4 and all(a == b for a, b in (p.split() for p in before))
    first = tables.nth(0)
    second_rows = tables.nth(1).locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.hypothesis)")
    first.locator("th button[data-key='score']").click()  # ascending, in the first table only
    scores = first.locator("tbody tr").evaluate_all("rows => rows.map(r => parseFloat(r.dataset.score))")
    assert scores == sorted(scores)
    assert tables.nth(1).locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.hypothesis)") == second_rows
    assert sorted(placed()) == sorted(before) and all(a == b for a, b in (p.split() for p in placed()))
    assert page.locator("#filter-count").inner_text() == "4 of 4 rows shown"
    page.fill("#filter-text", "cyp46a1")
    assert page.locator("#filter-count").inner_text() == "2 of 4 rows shown"  # one row per scoreboard
    shown = page.locator("table.ranking tbody tr:visible").evaluate_all("rows => rows.map(r => r.dataset.hypothesis)")
    assert shown == [boards.hypothesis_ids["CYP46A1"]] * 2
    page.close()
    assert errors == []
