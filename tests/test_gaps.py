"""A page's gaps: the "Related Analyses" items `pages import` stores (ids that survive a re-import), `show` and the
web page list with the ids `generate --gap` takes, and hostile items refused with the line at fault."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hypodebate.cli import app
from store.engine import open_store
from store.lineage import gap_id, gaps_of
from tests.wiki_db import SEED, SEED_SLUG
from tests.xss import PAYLOADS, assert_inert
from wiki.app import create_app
from wiki.errors import PageError
from wiki.pages import MAX_GAPS, parse_page, read_page
from wiki.settings import WikiSettings

runner = CliRunner()
SEED_GAPS = [
    ("Selective vulnerability of entorhinal cortex layer II neurons in AD", "/analysis/SDA-2026-04-01-gap-004"),
    ("4R-tau strain-specific spreading patterns in PSP vs CBD", "/analysis/SDA-2026-04-01-gap-005"),
    ("TDP-43 phase separation therapeutics for ALS-FTD", "/analysis/SDA-2026-04-01-gap-006"),
    ("Astrocyte reactivity subtypes in neurodegeneration", "/analysis/SDA-2026-04-01-gap-007"),
    ("Blood-brain barrier transport mechanisms for antibody therapeutics", "/analysis/SDA-2026-04-01-gap-008"),
]
MARKDOWN = """\
---
slug: gap-page
title: A page with gaps
---
# Gaps

Some text.

## Related Analyses

- [TDP-43 phase separation therapeutics](/analysis/gap-1) 🔄
* [Microglial TREM2 signalling](/analysis/gap-2)
- A gap without a link

## See Also

- [Not a gap](/wiki/other)
"""


def _import(folder: Path, db: str, *pages: Path) -> str:
    result = runner.invoke(app, ["pages", "import", *map(str, pages), "--root", str(folder), "--db", db])
    assert result.exit_code == 0, result.output
    return result.output


def _stored(db: str, slug: str) -> list[tuple[str, str, str | None]]:
    sessions = open_store(db)
    try:
        with sessions() as s:
            return [(g.id, g.title, g.link) for g in gaps_of(s, slug)]
    finally:
        sessions.close()


# -- parsing ---------------------------------------------------------------------------------------


def test_the_seed_page_has_its_five_gaps():
    page = read_page(SEED)
    assert page.gaps == SEED_GAPS
    assert "Related Analyses:" in page.markdown  # the body is kept as the page wrote it


def test_a_markdown_page_lists_its_gaps_under_the_heading(tmp_path: Path):
    page = parse_page(tmp_path / "p.md", MARKDOWN.encode())
    assert page.gaps == [
        ("TDP-43 phase separation therapeutics", "/analysis/gap-1"),
        ("Microglial TREM2 signalling", "/analysis/gap-2"),
        ("A gap without a link", None),
    ]


def test_a_page_without_related_analyses_has_no_gaps(tmp_path: Path):
    text = MARKDOWN.split("## Related Analyses")[0]
    assert parse_page(tmp_path / "p.md", text.encode()).gaps == []


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (
            "- [" + "x" * 501 + "](/analysis/a)",
            r"p\.md:13: Related Analyses: a gap's title is 501 characters, more than 500",
        ),
        ("- [t](/" + "a" * 500 + ")", r"p\.md:13: Related Analyses: a gap's link is 501 characters, more than 500"),
        (
            "- [bad \x1b[31m title](/a)",
            r"p\.md:13: Related Analyses: a gap's title contains the control character U\+001B",
        ),
        ("- [t](/a\x07b)", r"p\.md:13: Related Analyses: a gap's link contains the control character U\+0007"),
        ("- plain \u202e title", r"p\.md:13: Related Analyses: a gap's title contains the control character U\+202E"),
    ],
)
def test_a_hostile_gap_is_refused_with_its_line(tmp_path: Path, item: str, error: str):
    text = MARKDOWN.replace("- A gap without a link", item)
    with pytest.raises(PageError, match=error):
        parse_page(tmp_path / "p.md", text.encode())


def test_more_gaps_than_the_limit_are_refused(tmp_path: Path):
    items = "\n".join(f"- [Gap {i}](/analysis/{i})" for i in range(MAX_GAPS + 1))
    text = MARKDOWN.replace("- A gap without a link", items)
    with pytest.raises(PageError, match=rf"Related Analyses: more than {MAX_GAPS} gaps on one page"):
        parse_page(tmp_path / "p.md", text.encode())
    exactly = "\n".join(f"- [Gap {i}](/analysis/{i})" for i in range(MAX_GAPS - 2))
    assert (
        len(parse_page(tmp_path / "p.md", MARKDOWN.replace("- A gap without a link", exactly).encode()).gaps)
        == MAX_GAPS
    )


@pytest.mark.parametrize(
    "line",
    [
        "- " + "[" * 400_000,
        "- [" + "x" * 400_000,
        "- [x](/" + "(" * 400_000,
        "- " + "[x](/" * 100_000,
        "-" + " " * 400_000,
    ],
)
def test_a_huge_hostile_item_is_read_in_linear_time(tmp_path: Path, line: str):
    text = MARKDOWN.replace("- A gap without a link", line)
    started = time.perf_counter()
    try:
        parse_page(tmp_path / "p.md", text.encode())
    except PageError as exc:
        assert "Related Analyses" in str(exc) and len(str(exc)) < 300
    assert time.perf_counter() - started < 2.0


# -- import, show, web -----------------------------------------------------------------------------


def test_import_stores_the_gaps_and_a_reimport_keeps_their_ids(tmp_path: Path, db: str):
    seed = tmp_path / "seed.txt"
    shutil.copyfile(SEED, seed)
    output = _import(tmp_path, db, seed)
    assert "(6 entities, 5 gaps)" in output or re.search(r"\(\d+ entities, 5 gaps\)", output)
    first = _stored(db, SEED_SLUG)
    assert [(t, link) for _, t, link in first] == SEED_GAPS
    assert [g for g, _, _ in first] == [gap_id(SEED_SLUG, t, link) for t, link in SEED_GAPS]
    assert all(re.fullmatch(r"g-[0-9a-f]{8}", g) for g, _, _ in first)

    _import(tmp_path, db, seed)  # the same page again: the same ids
    assert _stored(db, SEED_SLUG) == first

    text = seed.read_text(encoding="utf-8")
    removed = "- [4R-tau strain-specific spreading patterns in PSP vs CBD](/analysis/SDA-2026-04-01-gap-005) 🔄\n"
    assert removed in text
    seed.write_text(text.replace(removed, ""), encoding="utf-8")
    assert "4 gaps" in _import(tmp_path, db, seed)
    assert _stored(db, SEED_SLUG) == [first[0], *first[2:]]  # the others keep their ids and order


def test_show_lists_a_pages_gaps_with_their_ids(tmp_path: Path, db: str):
    seed = tmp_path / "seed.txt"
    shutil.copyfile(SEED, seed)
    _import(tmp_path, db, seed)
    result = runner.invoke(app, ["show", SEED_SLUG, "--db", db])
    assert result.exit_code == 0, result.output
    assert "Gaps (Related Analyses: 5" in result.output and "generate --gap" in result.output
    for gid, title, link in _stored(db, SEED_SLUG):
        line = next(line for line in result.output.splitlines() if gid in line)
        assert title in line and str(link) in line
    gid, title, _ = _stored(db, SEED_SLUG)[2]
    result = runner.invoke(app, ["show", gid, "--db", db])
    assert result.exit_code == 0 and title in result.output and f"generate --gap {gid}" in result.output
    for name, error in (("no-such-page", "no-such-page: no such page"), ("g-00000000", "g-00000000: no such gap")):
        result = runner.invoke(app, ["show", name, "--db", db])
        assert result.exit_code == 2 and error in result.output
    result = runner.invoke(app, ["show", "Not A Slug!", "--db", db])
    assert result.exit_code == 2 and "not a hypothesis id" in result.output and "page slug" in result.output


def test_the_web_page_lists_its_gaps(tmp_path: Path, db: str):
    seed = tmp_path / "seed.txt"
    shutil.copyfile(SEED, seed)
    hostile = tmp_path / "hostile.md"
    items = "\n".join(f"- [{p}](/analysis/{i})" for i, p in enumerate(PAYLOADS) if "[" not in p and "]" not in p)
    hostile.write_text(MARKDOWN.replace("gap-page", "hostile-gaps").replace("- A gap without a link", items))
    _import(tmp_path, db, seed, hostile)
    with TestClient(create_app(db, WikiSettings()), base_url="http://localhost") as client:
        page = client.get(f"/wiki/{SEED_SLUG}").text
        for gid, title, _ in _stored(db, SEED_SLUG):
            assert f'data-gap="{gid}"' in page and title in page
        api = client.get(f"/api/pages/{SEED_SLUG}/related").json()
        assert [(g["title"], g["link"]) for g in api["gaps"]] == SEED_GAPS
        page = client.get("/wiki/hostile-gaps").text
        assert page.count("data-gap=") > 20
        assert_inert(page)
