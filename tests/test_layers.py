"""The import table of shared/DESIGN.md ("Parts and who may import whom"), checked on the source: no part
imports a part above it. Imports under `if TYPE_CHECKING:` count too: a type is a dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = frozenset(
    {"agents", "debates", "evidence", "hypodebate", "proximity", "report", "safeio", "scoring", "store", "wiki"}
)

# part -> the parts it may import (besides itself); hypodebate, the front door, may import everything, and
# safeio (helpers for untrusted input and output, importing nothing of ours) may be imported by anyone
ALLOWED: dict[str, frozenset[str]] = {
    "safeio": frozenset(),
    "scoring": frozenset({"safeio"}),
    "store": frozenset({"scoring", "safeio"}),  # scoring: its types (the score a query stores), pure
    "agents": frozenset({"scoring", "safeio"}),
    "wiki": frozenset({"store", "scoring", "safeio"}),
    "proximity": frozenset({"safeio"}),
    "debates": frozenset({"agents", "scoring", "store", "safeio", "proximity"}),
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


def module_name(path: Path, repo: Path = REPO) -> str:
    """agents/roles.py -> agents.roles; wiki/routes/__init__.py -> wiki.routes."""
    parts = path.relative_to(repo).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runs_at_import(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a module body that run when it is imported: top-level ones and those inside top-level
    `if`/`try`/`with` blocks, not function or class bodies, and not `if TYPE_CHECKING:` blocks (never run)."""
    for node in body:
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                yield from _runs_at_import(node.body)
            yield from _runs_at_import(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _runs_at_import(block)
        elif isinstance(node, ast.With):
            yield from _runs_at_import(node.body)
        else:
            yield node


def _anywhere(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a module body, imports deferred into functions included (`if TYPE_CHECKING:` blocks left out)."""
    for node in body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from _anywhere(node.orelse)
        else:
            yield from ast.walk(node)


def module_imports(repo: Path = REPO, *, deferred: bool = False) -> dict[str, set[str]]:
    """Our modules -> the modules of ours each imports when it is imported, or with `deferred` at any time (imports
    inside functions too). `from x import y` counts x.y where y is a submodule, else x; relative imports are
    resolved."""
    paths = {module_name(p, repo): p for part in OURS if (repo / part).is_dir() for p in (repo / part).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for node in _anywhere(body) if deferred else _runs_at_import(body):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan): each is at least one import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.mark.parametrize("deferred", [False, True], ids=["module-level", "with-deferred-imports"])
def test_no_module_of_ours_imports_itself_round_a_cycle(deferred):
    assert import_cycles(module_imports(deferred=deferred)) == []


def test_the_cycle_checker_sees_a_cycle_through_a_submodule_import(tmp_path):
    (tmp_path / "hypodebate").mkdir()
    (tmp_path / "hypodebate" / "__init__.py").write_text("")
    (tmp_path / "hypodebate" / "api.py").write_text("from hypodebate import queue_api\n")
    (tmp_path / "hypodebate" / "queue_api.py").write_text(
        "from typing import TYPE_CHECKING\nfrom hypodebate.api import _overrides\n"
        "if TYPE_CHECKING:\n    from hypodebate import later\n"
    )
    (tmp_path / "hypodebate" / "later.py").write_text("def f():\n    from hypodebate import api\n")
    graph = module_imports(tmp_path)
    assert graph["hypodebate.later"] == set() and "hypodebate.later" not in graph["hypodebate.queue_api"]
    assert import_cycles(graph) == [["hypodebate.api", "hypodebate.queue_api"]]
    assert module_imports(tmp_path, deferred=True)["hypodebate.later"] == {"hypodebate.api"}
