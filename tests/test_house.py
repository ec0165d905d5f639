"""House rules checked on the source (shared/DESIGN.md, "One error tree"; STYLE.md): every exception class of ours
derives from `HypodebateError`, and no function outside the migrations runs past 80 lines."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from safeio.errors import HypodebateError

REPO = Path(__file__).resolve().parents[1]
OURS = ("agents", "debates", "evidence", "hypodebate", "report", "safeio", "scoring", "store", "wiki")
MAX_FUNCTION_LINES = 80


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py") if "migrations" not in p.parts)


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def exception_classes() -> list[tuple[str, type]]:
    """Every class defined in our packages that is an exception, imported from its module."""
    found = []
    for path in sources(*OURS):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
        if not names:
            continue
        module = importlib.import_module(module_of(path))
        for name in names:
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.append((f"{module.__name__}.{name}", cls))
    return found


def test_every_exception_of_ours_derives_from_the_one_root():
    classes = exception_classes()
    assert len(classes) > 20  # the walk found them
    assert [name for name, cls in classes if not issubclass(cls, HypodebateError)] == []


def long_functions(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    where = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
                    found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


@pytest.mark.parametrize("folder", [*OURS, "tests", "bench"])
def test_no_function_runs_past_80_lines(folder):
    assert long_functions(sources(folder)) == []


def test_the_length_check_sees_a_long_function(tmp_path):
    module = tmp_path / "long.py"
    module.write_text("def short():\n    pass\n\n\nasync def long():\n" + "    x = 1\n" * 80, encoding="utf-8")
    assert long_functions([module]) == ["long.py:5 long (81 lines)"]
