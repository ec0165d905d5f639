"""The import table of shared/DESIGN.md ("Parts and who may import whom"), checked on the source: no part
imports a part above it. Imports under `if TYPE_CHECKING:` count too: a type is a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = frozenset({"agents", "debates", "evidence", "hypodebate", "report", "safeio", "scoring", "store", "wiki"})

# part -> the parts it may import (besides itself); hypodebate, the front door, may import everything, and
# safeio (helpers for untrusted input and output, importing nothing of ours) may be imported by anyone
ALLOWED: dict[str, frozenset[str]] = {
    "safeio": frozenset(),
    "scoring": frozenset({"safeio"}),
    "store": frozenset({"safeio"}),
    "agents": frozenset({"scoring", "safeio"}),
    "wiki": frozenset({"store", "scoring", "safeio"}),
    "debates": frozenset({"agents", "scoring", "store", "safeio"}),
    "evidence": frozenset({"agents", "scoring", "store", "safeio"}),
    "report": frozenset({"store", "scoring", "safeio", "debates"}),  # debates: its read-only helpers only
    "hypodebate": OURS,
}
# Migrations are history: 0004 computes the scores it backfills with the scoring code of its day.
EXCEPTIONS = {("store/migrations/versions/0004_scoreboards_and_versions.py", "scoring")}


def imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & OURS


def violations(part: str) -> list[str]:
    found = []
    for path in sorted((REPO / part).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        for other in sorted(imported_parts(path) - {part} - ALLOWED[part]):
            if (relative, other) not in EXCEPTIONS:
                found.append(f"{relative} imports {other}")
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_no_part_imports_a_part_above_it(part):
    if not (REPO / part).is_dir():
        pytest.skip(f"{part}/ does not exist yet")
    assert violations(part) == []


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "roles.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from debates.hypotheses import X\n")
    assert imported_parts(module) == {"debates"}


def test_every_part_of_the_repository_is_in_the_table():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "bench", "prompts"}
    assert packages <= set(ALLOWED), f"add {sorted(packages - set(ALLOWED))} to DESIGN.md's table and to ALLOWED"
