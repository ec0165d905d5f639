"""A database of completed debates for the wiki tests: the README's example batch, plus one hostile
hypothesis, debated through the loopback fake with `hypodebate run`; and the seed page copied aside."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from hypodebate.cli import app
from store.engine import open_store
from tests.helpers import EXAMPLE, REPO, debater_server
from wiki.settings import WikiSettings
from wiki.sync import attach_pages, import_pages

SEED = REPO / "examples" / "pages" / "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration.txt"
SEED_SLUG = "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration"
HOSTILE_TITLE = "<script>alert(1)</script> [x](javascript:alert(1)) *b* _i_ `c` <img src=x onerror=alert(1)>"
HOSTILE_YAML = f"""\
hypotheses:
  - id: h-0badc0de
    title: {HOSTILE_TITLE!r}
    targets: TREM2
    mechanism: "<script>alert('mechanism')</script> TREM2 agonism [click](javascript:alert(2)) in microglia."
    diseases: [frontotemporal dementia]
    pages: [hostile-page]
"""
PAGE_MD = """\
---
slug: hostile-page
title: "TREM2 <b>page</b>"
entity_type: gene
entities: [GENE:TREM2, "DISEASE:Alzheimer's disease"]
---
# TREM2

TREM2 is a microglial receptor. <script>alert('page')</script>
[bad](javascript:alert(3)) and [good](/wiki/hostile-page).
"""


@dataclass(frozen=True)
class WikiDb:
    """A database of debated hypotheses (`url`), the seed page's copy and a hostile TREM2 page beside it."""

    url: str
    seed: Path
    page: Path

    @property
    def root(self) -> Path:
        """The pages root: the folder both page files are in."""
        return self.seed.parent


def build_wiki_db(folder: Path) -> WikiDb:
    """Debate the example batch and the hostile hypothesis into a new database in `folder` with `hypodebate run`
    (1 round, 2 judges scoring 7 and 8); copy the seed page and write the TREM2 page beside it."""
    server = debater_server()
    hostile = folder / "hostile.yaml"
    hostile.write_text(HOSTILE_YAML, encoding="utf-8")
    url = f"sqlite:///{folder / 'wiki.db'}"
    try:
        for source in (EXAMPLE, hostile):
            result = CliRunner().invoke(
                app,
                ["run", str(source), "--db", url, "--rounds", "1", "--judges", "2"],
                env={"OPENAI_BASE_URL": server.url},
            )
            assert result.exit_code == 0, result.output
    finally:
        server.stop()
    seed = folder / "seed.txt"
    shutil.copyfile(SEED, seed)
    page = folder / "trem2.md"
    page.write_text(PAGE_MD, encoding="utf-8")
    return WikiDb(url, seed, page)


def with_pages(db: WikiDb) -> WikiDb:
    """Import both pages of `db` and attach their related blocks (default wiki settings); returns `db`."""
    sessions = open_store(db.url)
    try:
        import_pages(sessions, [db.seed, db.page], root=db.root)
        attach_pages(sessions, [], WikiSettings(), root=db.root)
    finally:
        sessions.close()
    return db
