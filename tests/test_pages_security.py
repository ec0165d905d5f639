"""Hostile page files and a hostile shared database: `pages import|attach` read and write only regular files
under the pages root, follow no symbolic link, replace a file only if it is still the one read, keep a slug
with its file, and parse crafted pages in linear time."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from hypodebate.cli import app
from safeio.files import FileChangedError, UnsafePathError, read_regular, write_atomic
from store.engine import open_store
from store.models import PageRow
from wiki.entities import diseases_in
from wiki.errors import PageError, WikiError
from wiki.pages import MAX_PAGE_BYTES, plain_text, read_page
from wiki.settings import WikiSettings
from wiki.sync import attach_pages, import_pages

runner = CliRunner()


def page_text(slug: str, title: str) -> str:
    return f"---\nslug: {slug}\ntitle: {title}\n---\n# {title}\n\nMicroglia in Alzheimer's disease.\n"


@dataclass(frozen=True)
class Site:
    root: Path  # the pages root
    victim: Path  # a page-shaped file outside the root that nothing may write
    url: str

    def run(self, *args: str) -> object:
        return runner.invoke(app, [*args, "--root", str(self.root), "--db", self.url])

    def set_source(self, slug: str, source: str) -> None:
        """What anyone who can write a shared database can do."""
        sessions = open_store(self.url)
        try:
            with sessions() as session:
                session.execute(update(PageRow).where(PageRow.slug == slug).values(source_path=source))
                session.commit()
        finally:
            sessions.close()

    def source_of(self, slug: str) -> tuple[str, str]:
        sessions = open_store(self.url)
        try:
            with sessions() as session:
                row = session.get_one(PageRow, slug)
                return row.source_path, row.title
        finally:
            sessions.close()


@pytest.fixture
def pages_site(tmp_path: Path) -> Site:
    """An empty pages root, a victim page outside it, and a database URL, all in `tmp_path`."""
    root = tmp_path / "pages"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.md"
    victim.write_text(page_text("victim", "Victim"), encoding="utf-8")
    return Site(root, victim, f"sqlite:///{tmp_path / 'wiki.db'}")


# -- the root, symbolic links, regular files, size -----------------------------------------------------


def test_a_symlink_in_the_pages_dir_is_refused_and_its_target_never_written(pages_site: Site):
    link = pages_site.root / "link.md"
    link.symlink_to(pages_site.victim)
    before = pages_site.victim.read_bytes()
    imported = pages_site.run("pages", "import", str(link))
    assert imported.exit_code == 2
    assert f"{link}: 'link.md' is a symbolic link; links are not followed" in imported.stderr
    attached = pages_site.run("pages", "attach", str(link))
    assert attached.exit_code == 2 and "is a symbolic link" in attached.stderr
    assert pages_site.victim.read_bytes() == before


def test_a_page_swapped_for_a_symlink_after_import_is_not_written_through(pages_site: Site):
    page = pages_site.root / "page.md"
    page.write_text(page_text("page", "Page"), encoding="utf-8")
    assert pages_site.run("pages", "import", str(page)).exit_code == 0
    page.unlink()
    page.symlink_to(pages_site.victim)
    before = pages_site.victim.read_bytes()
    result = pages_site.run("pages", "attach")
    assert result.exit_code == 2 and "'page.md' is a symbolic link" in result.stderr
    assert pages_site.victim.read_bytes() == before and page.is_symlink()


def test_a_symlinked_folder_under_the_root_is_refused(pages_site: Site):
    folder = pages_site.root / "sub"
    folder.symlink_to(pages_site.victim.parent, target_is_directory=True)
    result = pages_site.run("pages", "import", str(folder / "victim.md"))
    assert result.exit_code == 2 and "outside the pages root" in result.stderr
    page = pages_site.root / "page.md"
    page.write_text(page_text("page", "Page"), encoding="utf-8")
    assert pages_site.run("pages", "import", str(page)).exit_code == 0
    pages_site.set_source("page", "sub/victim.md")  # a relative path that only leaves the root through the link
    before = pages_site.victim.read_bytes()
    attached = pages_site.run("pages", "attach")
    assert attached.exit_code == 2 and "'sub' is a symbolic link" in attached.stderr
    assert pages_site.victim.read_bytes() == before


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_files_outside_the_root_are_refused(pages_site: Site, how: str):
    path = pages_site.victim if how == "absolute" else pages_site.root / ".." / "outside" / "victim.md"
    result = pages_site.run("pages", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: outside the pages root {pages_site.root}" in result.stderr


@pytest.mark.parametrize("stored", ["absolute", "../outside/victim.md", "sub/../../outside/victim.md"])
def test_attach_refuses_a_stored_path_that_leaves_the_root(pages_site: Site, stored: str):
    page = pages_site.root / "page.md"
    page.write_text(page_text("page", "Page"), encoding="utf-8")
    assert pages_site.run("pages", "import", str(page)).exit_code == 0
    source = str(pages_site.victim) if stored == "absolute" else stored
    pages_site.set_source("page", source)
    before = pages_site.victim.read_bytes()
    result = pages_site.run("pages", "attach")
    assert result.exit_code == 2
    assert f"page page: stored path {source!r} is outside the pages root" in result.stderr
    assert pages_site.victim.read_bytes() == before


def test_import_stores_paths_relative_to_the_root_and_attach_follows_the_root(pages_site: Site, tmp_path: Path):
    (pages_site.root / "genes").mkdir()
    page = pages_site.root / "genes" / "trem2.md"
    page.write_text(page_text("genes-trem2", "TREM2"), encoding="utf-8")
    assert pages_site.run("pages", "import", str(page)).exit_code == 0
    assert pages_site.source_of("genes-trem2") == ("genes/trem2.md", "TREM2")
    moved = tmp_path / "moved"
    pages_site.root.rename(moved)  # the whole wiki moves; the database still finds its pages under the new root
    result = runner.invoke(app, ["pages", "attach", "--root", str(moved), "--db", pages_site.url])
    assert result.exit_code == 0, result.output
    assert "hypodebate:related:start" in (moved / "genes" / "trem2.md").read_text()


def test_non_regular_files_are_refused(pages_site: Site):
    fifo = pages_site.root / "fifo.md"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    (pages_site.root / "folder.md").mkdir()
    for path in (fifo, pages_site.root / "folder.md"):
        result = pages_site.run("pages", "import", str(path))
        assert result.exit_code == 2 and f"{path}: not a regular file" in result.stderr


def test_a_page_over_the_size_cap_is_refused_naming_the_file(pages_site: Site):
    big = pages_site.root / "big.md"
    big.write_text(page_text("big", "Big") + "x" * MAX_PAGE_BYTES, encoding="utf-8")
    result = pages_site.run("pages", "import", str(big))
    assert result.exit_code == 2
    assert f"{big}: {big.stat().st_size} bytes, more than the limit of {MAX_PAGE_BYTES} bytes" in result.stderr
    with pytest.raises(PageError, match="more than the limit"):
        read_page(big)


def test_the_pages_root_must_exist(pages_site: Site, tmp_path: Path):
    result = runner.invoke(app, ["pages", "attach", "--root", str(tmp_path / "nowhere"), "--db", pages_site.url])
    assert result.exit_code == 2 and "the pages root is not a folder" in result.stderr


# -- slugs -------------------------------------------------------------------------------------------


def test_a_slug_is_not_taken_over_by_another_file_without_replace(pages_site: Site):
    first, second = pages_site.root / "a.md", pages_site.root / "b.md"
    first.write_text(page_text("shared", "From A"), encoding="utf-8")
    second.write_text(page_text("shared", "From B"), encoding="utf-8")
    assert pages_site.run("pages", "import", str(first)).exit_code == 0
    assert pages_site.run("pages", "import", str(first)).exit_code == 0  # the same file again only updates

    taken = pages_site.run("pages", "import", str(second))
    assert taken.exit_code == 2
    assert f"{second}: slug: 'shared' was imported from {first}" in taken.stderr and "--replace" in taken.stderr
    assert pages_site.source_of("shared") == ("a.md", "From A")

    replaced = pages_site.run("pages", "import", str(second), "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert pages_site.source_of("shared") == ("b.md", "From B")


# -- atomic replace ----------------------------------------------------------------------------------


def test_attach_keeps_the_permissions_but_never_a_setuid_bit(pages_site: Site):
    page = pages_site.root / "page.md"
    page.write_text(page_text("page", "Page"), encoding="utf-8")
    page.chmod(0o4754)
    assert pages_site.run("pages", "import", str(page)).exit_code == 0
    assert pages_site.run("pages", "attach").exit_code == 0
    assert "hypodebate:related:start" in page.read_text()
    assert stat.S_IMODE(page.stat().st_mode) == 0o754


def test_write_atomic_sets_the_mode_without_special_bits(tmp_path: Path):
    path = tmp_path / "report.html"
    write_atomic(path, "new", mode=0o6755)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755 and path.read_text() == "new"
    path.chmod(0o2640)
    write_atomic(path, "again")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temporary file left


@pytest.mark.parametrize("how", ["modified", "replaced", "removed"])
def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path, how: str):
    path = tmp_path / "page.md"
    path.write_text("as read\n", encoding="utf-8")
    _, stamp = read_regular(path, limit=1000)
    if how == "modified":
        with path.open("a", encoding="utf-8") as handle:
            handle.write("someone else's edit\n")
    elif how == "replaced":
        (tmp_path / "other").write_text("as read\n", encoding="utf-8")
        os.replace(tmp_path / "other", path)
    else:
        path.unlink()
    with pytest.raises(FileChangedError, match=f"{how} .*since it was read"):
        write_atomic(path, "mine\n", expect=stamp)
    if how == "modified":
        assert path.read_text() == "as read\nsomeone else's edit\n"
    assert [p.name for p in tmp_path.iterdir()] == ([] if how == "removed" else ["page.md"])


def test_attach_does_not_overwrite_an_edit_made_while_it_ran(pages_site: Site, monkeypatch: pytest.MonkeyPatch):
    import wiki.sync

    page = pages_site.root / "page.md"
    page.write_text(page_text("page", "Page"), encoding="utf-8")
    edit = "\nA paragraph the author saved while attach was ranking.\n"
    ranking = wiki.sync.related_for_page

    def rank_while_the_author_edits(*args: object, **kwargs: object) -> object:
        with page.open("a", encoding="utf-8") as handle:
            handle.write(edit)
        return ranking(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(wiki.sync, "related_for_page", rank_while_the_author_edits)
    sessions = open_store(pages_site.url)
    try:
        with pytest.raises(WikiError, match=r"page\.md: modified on disk since it was read; not overwritten"):
            attach_pages(sessions, [page], WikiSettings(), root=pages_site.root)
    finally:
        sessions.close()
    assert page.read_text() == page_text("page", "Page") + edit


def test_write_atomic_never_writes_through_a_symlink(tmp_path: Path):
    outside = tmp_path / "outside.md"
    outside.write_text("keep\n", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(outside)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        write_atomic(link, "mine\n")
    assert outside.read_text() == "keep\n" and link.is_symlink()


def test_the_library_refuses_paths_outside_the_root(pages_site: Site):
    sessions = open_store(pages_site.url)
    try:
        with pytest.raises(PageError, match="outside the pages root"):
            import_pages(sessions, [pages_site.victim], root=pages_site.root)
    finally:
        sessions.close()


# -- crafted pages: linear patterns --------------------------------------------------------------------

N = 100_000


@pytest.mark.parametrize(
    ("body", "links"),
    [
        ("[" * N + "\n[ok](/wiki/ok)\n", [("ok", "/wiki/ok")]),  # every `[` used to rescan the rest of the line
        ("[x](/" * (N // 5) + "\n[ok](/wiki/ok)\n", [("ok", "/wiki/ok")]),  # every target used to run to the end
        ("[a" * (N // 2) + "](/wiki/a)\n", [("a", "/wiki/a")]),
    ],
)
def test_crafted_links_parse_in_one_pass(tmp_path: Path, body: str, links: list[tuple[str, str]]):
    path = tmp_path / "crafted.md"
    path.write_text(page_text("crafted", "Crafted") + body, encoding="utf-8")
    assert read_page(path).links == links


def test_crafted_html_cells_are_stripped_in_one_pass(tmp_path: Path):
    assert plain_text("<b>" + "<" * N + " x &amp; y") == "<" * N + " x & y"  # every `<` used to rescan the rest
    dump = f'📗 Cite This Artifact\nCrafted\n<td class="label">Name</td>\n<td>{"<" * N}x</td>\n| slug | crafted |\n'
    path = tmp_path / "crafted.txt"
    path.write_text(dump, encoding="utf-8")
    page = read_page(path)
    assert (page.slug, page.title, page.infobox["name"]) == ("crafted", "Crafted", "<" * N + "x")


@pytest.mark.parametrize(
    ("front", "error"),
    [
        ("slug: big\ntitle: " + "9" * 5000, "crafted.md:3: invalid YAML front matter: a number with more than"),
        ("slug: deep\ntitle: x\nentities: " + "[" * 200 + "]" * 200, "crafted.md:4: invalid YAML front matter: nested"),
    ],
)
def test_hostile_front_matter_is_one_clear_error(pages_site: Site, front: str, error: str):
    path = pages_site.root / "crafted.md"
    path.write_text(f"---\n{front}\n---\n# x\n", encoding="utf-8")
    with pytest.raises(PageError, match=error):
        read_page(path)
    result = pages_site.run("pages", "import", str(path))
    assert result.exit_code == 2 and error in result.stderr


def test_crafted_disease_text_is_read_in_one_pass():
    # two space runs around an optional `'s` used to split N spaces every way: quadratic
    assert diseases_in("alzheimer" + " " * N + "x, and ALS") == {"DISEASE:als"}
    assert diseases_in("Alzheimer s  disease and Parkinson’s - disease") == {"DISEASE:alzheimers", "DISEASE:parkinsons"}
