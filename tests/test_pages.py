"""`hypodebate pages import|attach`: parsing, entities, the related query and the block written into files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from hypodebate.cli import app
from store.engine import open_store
from store.models import HypothesisRow, HypothesisScoreRow, LinkRow, PageRow, ScoreboardRow
from store.related import Related, related_for_entities
from tests.wiki_db import HOSTILE_TITLE, SEED, SEED_SLUG, WikiDb
from wiki.block import END, START, escape_inline, render_block, splice
from wiki.entities import canonical, disease_id, diseases_in, genes_in
from wiki.errors import MarkerError, PageError
from wiki.pages import read_page

runner = CliRunner()
LINE = re.compile(
    r'^- \[[^\n]+\]\(/hypothesis/h-[0-9a-f]{8}\) — <span style="color:#(81c784|ffd54f|e57373);font-weight:600">'
    r"(\d\.\d\d)</span> · Target: .+ · (\\\[\d\.\d\d, \d\.\d\d\\\] [^\n]+|no interval: [^\n]+)$"
)


@pytest.fixture
def wiki_copy(wiki_db: WikiDb, tmp_path: Path) -> WikiDb:
    """A private copy of the module's wiki database and pages, so each test may write."""
    shutil.copyfile(wiki_db.url.removeprefix("sqlite:///"), tmp_path / "wiki.db")
    shutil.copyfile(wiki_db.seed, tmp_path / "seed.txt")
    shutil.copyfile(wiki_db.page, tmp_path / "trem2.md")
    return WikiDb(f"sqlite:///{tmp_path / 'wiki.db'}", tmp_path / "seed.txt", tmp_path / "trem2.md")


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


def import_both(wiki: WikiDb) -> Any:
    """`hypodebate pages import` of both pages of `wiki` into its database."""
    return invoke("pages", "import", str(wiki.seed), str(wiki.page), "--root", str(wiki.root), "--db", wiki.url)


# -- parsing ---------------------------------------------------------------------------------------


def test_the_seed_page_is_read_as_it_is():
    page = read_page(SEED)
    assert page.format == "dump"
    assert page.slug == SEED_SLUG
    assert page.title == "Mesenchymal Stem Cell Therapy for Neurodegeneration"
    assert page.entity_type == "therapeutic"
    assert page.infobox == {"name": "Mesenchymal Stem Cell Therapy for Neurodegeneration", "type": "Therapeutic"}
    assert {"Molecular Mechanisms", "Clinical Applications", "Stroke", "See Also"} <= set(page.sections)
    assert page.citations[:3] == ["pittenger1999", "shi2010", "aggarwal2005"]
    assert ("neurons", "/entities/neurons") in page.links
    assert "<table" not in page.markdown and "| slug |" not in page.markdown
    assert "h-2600483e" not in page.markdown  # the page's own Related Hypotheses block is not content


def test_front_matter_pages_have_canonical_entities(wiki_db: WikiDb):
    page = read_page(wiki_db.page)
    assert (page.format, page.slug, page.title, page.entity_type) == (
        "markdown",
        "hostile-page",
        "TREM2 <b>page</b>",
        "gene",
    )
    assert page.entities == ["DISEASE:alzheimers", "GENE:TREM2"]
    assert page.markdown.startswith("# TREM2")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("---\ntitle: x\n---\nbody\n", "page.md: slug: required field is missing"),
        ("---\nslug: Bad Slug\ntitle: x\n---\n", "page.md:2: slug: String should match pattern"),
        (
            "---\nslug: ok\ntitle: x\nentities: [CYP46A1]\n---\n",
            "page.md:4: entities: Value error, 'CYP46A1' is not an entity id",
        ),
        ("---\nslug: ok\ntitle: [unclosed\n---\n", "page.md:4: invalid YAML front matter"),
        ("---\nslug: ok\ntitle: x\n", "page.md: front matter opened with '---' is never closed"),
        ("---\n- a list\n---\n", "page.md: front matter must be a mapping"),
        ("just text\n", "page.md: not a wiki page"),
        ("📗 Cite This Artifact\nTitle\n| entity_type | gene |\n", "page.md: slug: the metadata table has no"),
    ],
)
def test_bad_pages_name_the_file_and_the_field(tmp_path: Path, text: str, error: str):
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PageError) as caught:
        read_page(path)
    assert str(caught.value).startswith(str(tmp_path)) and error in str(caught.value)
    result = invoke("pages", "import", str(path), "--root", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 2 and error in result.stderr


def test_not_utf8_and_missing_files(tmp_path: Path):
    (tmp_path / "bin.md").write_bytes(b"---\xff\xfe")
    with pytest.raises(PageError, match=r"bin\.md: not UTF-8 text"):
        read_page(tmp_path / "bin.md")
    with pytest.raises(PageError, match=r"nope\.md: no such file"):
        read_page(tmp_path / "nope.md")


def test_entities_from_text_use_the_alias_table_and_known_targets():
    assert disease_id("Alzheimer's disease") == disease_id("AD") == disease_id("alzheimers") == "DISEASE:alzheimers"
    assert disease_id("amyotrophic lateral sclerosis") == "DISEASE:als"
    assert disease_id("Multiple Sclerosis") == disease_id("MS") == "DISEASE:multiple_sclerosis"
    assert disease_id("Huntington's disease") == "DISEASE:huntingtons"
    assert disease_id("Glaucoma") == "DISEASE:glaucoma"
    assert canonical("gene:cyp46a1") == "GENE:CYP46A1"
    text = "MSC therapy in Alzheimer’s disease, Parkinson's Disease, ALS, MS and stroke; DNA, CNS and BDNF."
    assert diseases_in(text) == {
        "DISEASE:alzheimers",
        "DISEASE:parkinsons",
        "DISEASE:als",
        "DISEASE:multiple_sclerosis",
        "DISEASE:stroke",
    }
    assert genes_in(text, {"BDNF", "SIRT1"}) == {"GENE:BDNF"}  # DNA and CNS are no targets


# -- import and links ------------------------------------------------------------------------------


def test_import_links_every_hypothesis_and_reimport_updates(wiki_copy: WikiDb):
    result = import_both(wiki_copy)
    assert result.exit_code == 0, result.output
    assert f"imported {SEED_SLUG}" in result.stdout and "imported hostile-page" in result.stdout
    sessions = open_store(wiki_copy.url)
    try:
        with sessions() as s:
            page = s.get_one(PageRow, SEED_SLUG)
            assert {"DISEASE:alzheimers", "DISEASE:parkinsons", "DISEASE:als", "GENE:BDNF"} <= set(page.entities)
            links = {(e, h) for e, h in s.execute(select(LinkRow.entity, LinkRow.hypothesis_id))}
            assert ("GENE:CYP46A1", "h-2600483e") in links
            assert ("DISEASE:alzheimers", "h-2600483e") in links
            assert (f"PAGE:{SEED_SLUG}", "h-2600483e") in links
            assert ("DISEASE:ftd", "h-0badc0de") in links
            count = s.scalar(select(func.count()).select_from(LinkRow))
        wiki_copy.page.write_text(
            wiki_copy.page.read_text().replace('title: "TREM2 <b>page</b>"', "title: TREM2 renamed")
        )
        again = invoke("pages", "import", str(wiki_copy.page), "--root", str(wiki_copy.root), "--db", wiki_copy.url)
        assert again.exit_code == 0 and "updated hostile-page" in again.stdout
        with sessions() as s:
            assert s.get_one(PageRow, "hostile-page").title == "TREM2 renamed"
            assert s.scalar(select(func.count()).select_from(LinkRow)) == count  # idempotent
    finally:
        sessions.close()


GOOD_PAGE = (
    "---\nslug: good-page\ntitle: Good page\n---\nMSCs are multipotent [@first2000].\n\n## References\n"
    "- [@first2000] Pittenger MF. Multilineage potential of adult stem cells. Science. 2000. doi:10.1000/first\n"
)
BROKEN_MARKDOWN = (
    "---\nslug: broken-page\ntitle: Broken page\n---\nIntro [@ok2002] [@bad2001].\n\n## References\n"
    "- [@ok2002] Smith J. A title. Nature. 2002. doi:10.1000/ok\n"
    "- [@bad2001] Smith J. Another title. Science. 2001. doi:10.12/x\n"
)
BROKEN_DUMP = (
    "📗 Cite This Artifact\nBroken page\nIntro about stem cells [@ok2002] [@bad2001].\nReferences\n"
    "- [@ok2002] Smith J. A title. Nature. 2002. doi:10.1000/ok\n"
    "- [@bad2001] Smith J. Another title. Science. 2001. doi:10.12/x\n"
    "| slug | broken-page |\n| entity_type | therapeutic |\n"
)


@pytest.mark.parametrize(("broken", "line"), [(BROKEN_MARKDOWN, 9), (BROKEN_DUMP, 6)], ids=["markdown", "dump"])
def test_a_bad_reference_fails_the_import_before_anything_is_stored(tmp_path: Path, broken: str, line: int):
    """A malformed DOI in the second page's References used to fail the command after the pages (and the first
    page's references) were committed; now every page is checked first, and a rerun after the fix stores each once."""
    from store.models import BibEntryRow

    root = tmp_path / "pages"
    root.mkdir()
    first, second = root / "first.md", root / "second.txt"
    first.write_text(GOOD_PAGE, encoding="utf-8")
    second.write_text(broken, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    args = ["pages", "import", str(first), str(second), "--root", str(root), "--db", db]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {second}: entry 'bad2001' (line {line}): doi: expected a DOI")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    sessions = open_store(db)
    try:
        with sessions() as s:
            assert s.scalars(select(PageRow.slug)).all() == []
            assert s.scalars(select(BibEntryRow.key)).all() == []
            assert s.scalars(select(LinkRow.entity)).all() == []
        second.write_text(broken.replace("doi:10.12/x", "doi:10.1000/bad"), encoding="utf-8")
        for verb in ("imported", "updated"):  # the fixed rerun stores both pages; a second rerun duplicates nothing
            again = invoke(*args)
            assert again.exit_code == 0, again.output
            assert f"{verb} good-page" in again.stdout and f"{verb} broken-page" in again.stdout
            with sessions() as s:
                assert sorted(s.scalars(select(PageRow.slug))) == ["broken-page", "good-page"]
                stored = sorted(
                    tuple(r) for r in s.execute(select(BibEntryRow.key, BibEntryRow.doi, BibEntryRow.source))
                )
                assert stored == [
                    ("bad2001", "10.1000/bad", "page:broken-page"),
                    ("first2000", "10.1000/first", "page:good-page"),
                    ("ok2002", "10.1000/ok", "page:broken-page"),
                ]
    finally:
        sessions.close()


# -- the related query -----------------------------------------------------------------------------


BOARD = "s-0000000a"


def _add(session: object, hid: str, score: float | None, debates: int, entity: str, board: str = BOARD) -> None:
    if session.get(ScoreboardRow, board) is None:  # type: ignore[attr-defined]
        session.add(  # type: ignore[attr-defined]
            ScoreboardRow(id=board, rubric_hash="r", protocol_hash="p", judge_models=["m"], protocol={})
        )
        session.flush()  # type: ignore[attr-defined]
    session.execute(  # type: ignore[attr-defined]
        insert(HypothesisRow),
        [
            {
                "id": hid,
                "content_hash": hid,
                "title": f"T {hid}",
                "targets": ["X"],
                "target_label": "X",
                "mechanism": "m",
                "diseases": [],
                "pages": [],
            }
        ],
    )
    if score is not None:
        session.add(  # type: ignore[attr-defined]
            HypothesisScoreRow(
                scoreboard_id=board,
                hypothesis_id=hid,
                content_hash=hid,
                mean=score,
                lo=None,
                hi=None,
                interval="too-few",
                debates=debates,
                verdicts=2 * debates,
            )
        )
    session.execute(insert(LinkRow), [{"entity": entity, "hypothesis_id": hid}])  # type: ignore[attr-defined]


def test_related_orders_by_score_then_debates_then_id_and_filters(tmp_path: Path):
    sessions = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with sessions() as s:
            _add(s, "h-00000003", 0.80, 1, "GENE:A")
            _add(s, "h-00000002", 0.80, 1, "DISEASE:als")
            _add(s, "h-00000001", 0.80, 3, "GENE:A")
            _add(s, "h-00000004", 0.90, 1, "GENE:B")  # not linked to the page
            _add(s, "h-00000005", None, 0, "GENE:A")  # never debated: never shown
            _add(s, "h-00000006", 0.40, 2, "GENE:A")
            _add(s, "h-00000007", 0.95, 0, "GENE:A")  # a score without a completed debate is not shown
            s.commit()
            found = related_for_entities(s, ["GENE:A", "DISEASE:als"], BOARD, top=8)
            assert [r.id for r in found] == ["h-00000001", "h-00000002", "h-00000003", "h-00000006"]
            assert [r.id for r in related_for_entities(s, ["GENE:A", "DISEASE:als"], BOARD, top=2)] == [
                "h-00000001",
                "h-00000002",
            ]
            assert [r.id for r in related_for_entities(s, ["GENE:A"], BOARD, top=8, min_score=0.5)] == [
                "h-00000001",
                "h-00000003",
            ]
            assert [r.id for r in related_for_entities(s, ["GENE:A"], BOARD, top=8, min_debates=2)] == [
                "h-00000001",
                "h-00000006",
            ]
            assert related_for_entities(s, [], BOARD, top=8) == []
    finally:
        sessions.close()


# -- the block -------------------------------------------------------------------------------------


def test_block_line_matches_the_seed_format():
    seed_line = next(line for line in SEED.read_text().splitlines() if "h-2600483e" in line)
    cyp = Related(
        "h-2600483e", "CYP46A1 Overexpression Gene Therapy", "CYP46A1", 0.79, 0.6, 0.9, "pooled", 2, 6, 0.07, 14
    )
    mine = render_block([cyp])
    (ours,) = [line for line in mine.splitlines() if "h-2600483e" in line]
    assert ours == seed_line + r" · \[0.60, 0.90\] 2 debates, pooled \(14 df\)"  # the seed's line, then its uncertainty
    lines = render_block(
        [
            Related("h-00000001", "a", "B", 0.55, None, None, "too-few", 1, 1, None, 0),
            Related("h-00000002", "a", "B", 0.2, None, None, "too-few", 1, 1, None, 0),
        ]
    ).splitlines()
    assert "#ffd54f" in lines[3] and "#e57373" in lines[4]
    assert lines[:3] == [
        START,
        "Related Hypotheses",
        "From the [SciDEX Exchange](/exchange) — scored by multi-agent debate",
    ]
    assert lines[3].endswith(" · no interval: too few verdicts on this scoreboard to pool")
    assert lines[-1] == END


def test_hostile_titles_are_inert_markdown_and_html():
    escaped = escape_inline(HOSTILE_TITLE)
    for raw in ("<script>", "<img", "[x]", "](javascript", "*b*", " _i_", " `c`"):
        assert raw not in escaped
    assert "&lt;script&gt;" in escaped and r"\[x\]\(javascript:alert\(1\)\)" in escaped
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": False}).render(
        render_block([Related("h-0badc0de", HOSTILE_TITLE, "T", 0.5, None, None, "too-few", 1, 1, None, 0)])
    )
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert html.count("<a ") == 2  # the exchange link and the hypothesis link only


def test_splice_keeps_every_other_byte_and_rejects_broken_markers():
    block = f"{START}\nx\n{END}"
    assert splice("a\r\nb", block) == f"a\r\nb\r\n{START}\r\nx\r\n{END}\r\n"
    middle = f"top\n{START}\nold\n{END}\nbottom\n"
    assert splice(middle, block) == f"top\n{block}\nbottom\n"
    assert splice(splice(middle, block), block) == splice(middle, block)
    with pytest.raises(MarkerError):
        splice(f"top\n{START}\n", block)


def test_attach_writes_the_block_idempotently_and_dry_run_writes_nothing(wiki_copy: WikiDb):
    original = wiki_copy.seed.read_bytes()
    assert import_both(wiki_copy).exit_code == 0

    dry = invoke("pages", "attach", "--dry-run", "--root", str(wiki_copy.root), "--db", wiki_copy.url)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith(f"--- {wiki_copy.page}") or f"--- {wiki_copy.seed}" in dry.stdout
    assert (
        f"+{START}" in dry.stdout and "+- [CYP46A1 Overexpression Gene Therapy](/hypothesis/h-2600483e)" in dry.stdout
    )
    assert wiki_copy.seed.read_bytes() == original

    first = invoke("pages", "attach", "--root", str(wiki_copy.root), "--db", wiki_copy.url)
    assert first.exit_code == 0, first.output
    after = wiki_copy.seed.read_bytes()
    assert after.startswith(original)  # every byte before the block is untouched
    added = after[len(original) :].decode()
    lines = added.strip("\n").split("\n")
    assert lines[0] == START and lines[-1] == END
    assert lines[1] == "Related Hypotheses"
    assert lines[2].startswith(
        "From the [SciDEX Exchange](/exchange) — scored by multi-agent debate · judge: gpt-4o-mini · scoreboard s-"
    )
    items = lines[3:-1]
    assert len(items) == 8 and all(LINE.match(line) for line in items)
    assert (
        "- [CYP46A1 Overexpression Gene Therapy](/hypothesis/h-2600483e) — "
        '<span style="color:#81c784;font-weight:600">0.72</span> · Target: CYP46A1'
        r" · \[0.72, 0.72\] 1 debate, no variation on this scoreboard"
    ) in items
    scores = [float(LINE.match(line).group(2)) for line in items]
    assert scores == sorted(scores, reverse=True)
    md = wiki_copy.page.read_text()
    assert md.startswith("---\nslug: hostile-page") and "## Related Hypotheses" in md
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md and "<script>alert(1)" not in md.split(START)[1]

    snapshot = (wiki_copy.seed.read_bytes(), wiki_copy.page.read_bytes())
    second = invoke("pages", "attach", "--root", str(wiki_copy.root), "--db", wiki_copy.url)
    assert second.exit_code == 0 and "0 changed" in second.stderr
    assert (wiki_copy.seed.read_bytes(), wiki_copy.page.read_bytes()) == snapshot
    assert invoke("pages", "attach", "--dry-run", "--root", str(wiki_copy.root), "--db", wiki_copy.url).stdout == ""

    top = invoke(
        "pages", "attach", str(wiki_copy.seed), "--top", "3", "--root", str(wiki_copy.root), "--db", wiki_copy.url
    )
    assert top.exit_code == 0
    assert wiki_copy.seed.read_bytes().startswith(original)
    assert wiki_copy.seed.read_text().count("/hypothesis/") == 8 + 3  # the seed's own eight, then ours


def test_attach_without_pages_is_a_clear_error(tmp_path: Path):
    result = invoke("pages", "attach", "--root", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 2 and "no pages imported yet" in result.stderr
