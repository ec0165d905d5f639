"""Read hypotheses from YAML or JSONL files; every problem is reported as file:line with the field at fault."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from debates.hypotheses import Hypothesis

MAX_FILE_BYTES = 50 * 1024 * 1024


class InputError(Exception):
    """A hypothesis file cannot be used; nothing from it was imported."""


def load_hypotheses(paths: Iterable[str | Path]) -> list[Hypothesis]:
    """All hypotheses of all files, validated, or an InputError for the first bad record (nothing half-read)."""
    hypotheses: list[Hypothesis] = []
    seen: dict[str, str] = {}
    for path in map(Path, paths):
        for where, record in _records(path):
            hypothesis = _validate(record, where)
            key = hypothesis.hypothesis_id
            if key in seen:
                raise InputError(f"{where}: duplicate hypothesis id {key} (first at {seen[key]})")
            seen[key] = where
            hypotheses.append(hypothesis)
    if not hypotheses:
        raise InputError(f"{', '.join(map(str, paths))}: no hypotheses found")
    return hypotheses


def _text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: file is larger than {MAX_FILE_BYTES // 2**20} MB")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: binary file, expected YAML or JSON Lines text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None
    if not text.strip():
        raise InputError(f"{path}: empty file, expected hypotheses")
    return text


def _records(path: Path) -> list[tuple[str, Any]]:
    text = _text(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _jsonl(path, text)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise InputError(f"{path}: unknown file type {path.suffix!r}, expected .yaml, .yml, .json or .jsonl")
    return _yaml(path, text)


def _jsonl(path: Path, text: str) -> list[tuple[str, Any]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    return out


def _yaml(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    items_node = node
    if isinstance(data, dict):
        if set(data) != {"hypotheses"}:
            extra = sorted(set(data) - {"hypotheses"})
            what = f"unknown top-level key(s) {extra}" if extra else "missing the top-level key 'hypotheses'"
            raise InputError(f"{path}:1: {what}; expected 'hypotheses:' followed by a list")
        data = data["hypotheses"]
        items_node = next(v for k, v in node.value if k.value == "hypotheses")  # type: ignore[union-attr]
    if not isinstance(data, list):
        raise InputError(f"{path}:1: expected a list of hypotheses, got {type(data).__name__}")
    lines = [item.start_mark.line + 1 for item in items_node.value] if isinstance(items_node, yaml.SequenceNode) else []
    out = []
    for index, record in enumerate(data):
        line = lines[index] if index < len(lines) else 1
        out.append((f"{path}:{line} (hypothesis {index + 1})", record))
    return out


def _validate(record: Any, where: str) -> Hypothesis:
    if not isinstance(record, dict):
        raise InputError(
            f"{where}: expected a mapping with title, targets, mechanism, ..., got {type(record).__name__}"
        )
    try:
        return Hypothesis.model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(record)"
        if err["type"] == "extra_forbidden":
            message = "unknown field (expected id, title, targets, target_label, mechanism, diseases, evidence, pages)"
        elif err["type"] == "missing":
            message = "required field is missing"
        else:
            shown = repr(err.get("input"))
            message = f"{err['msg']} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        title = record.get("title")
        named = f" {title!r}" if isinstance(title, str) and field != "title" else ""
        raise InputError(f"{where}{named}: {field}: {message}{more}") from None
