"""Read hypotheses from YAML or JSONL files; every problem is reported as file:line with the field at fault."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from debates.hypotheses import Hypothesis
from safeio.errors import InputError, Loc, validation_line
from safeio.json import JsonError, load_json
from safeio.text import NotUtf8Error, utf8_text
from safeio.yaml import MAX_DIGITS, YamlError, parse_yaml
from store.models import HypothesisVersionRow

MAX_FILE_BYTES = 50 * 1024 * 1024
_FIELDS = "id, title, targets, target_label, mechanism, diseases, evidence, pages"
_EVIDENCE_FIELDS = "claim, citation, stance"
_KINDS = {dict: "mapping", list: "list", str: "string", int: "integer", float: "number", bool: "boolean"}


def load_hypotheses(paths: Iterable[str | Path]) -> list[Hypothesis]:
    """All hypotheses of all files, validated, or an InputError for the first bad record (nothing half-read)."""
    hypotheses: list[Hypothesis] = []
    seen: dict[str, str] = {}
    contents: dict[str, tuple[str, str]] = {}
    for path in map(Path, paths):
        for where, record in _records(path):
            hypothesis = _validate(record, where)
            key = hypothesis.hypothesis_id
            if key in seen:
                raise InputError(f"{where}: duplicate hypothesis id {key} (first at {seen[key]})")
            if hypothesis.content_hash in contents:
                other, first = contents[hypothesis.content_hash]
                raise InputError(
                    f"{where}: {key} has the same title, targets, mechanism, diseases and evidence as {other} "
                    f"(at {first}); a debate is identified by its content, so keep one of them or make them differ"
                )
            seen[key] = where
            contents[hypothesis.content_hash] = (key, where)
            hypotheses.append(hypothesis)
    if not hypotheses:
        raise InputError(f"{', '.join(map(str, paths))}: no hypotheses found")
    return hypotheses


def read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: file is larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        text = utf8_text(path.read_bytes(), path, binary_expected="YAML or JSON Lines text")
    except NotUtf8Error as exc:
        raise InputError(str(exc)) from None
    if not text.strip():
        raise InputError(f"{path}: empty file, expected hypotheses")
    return text


def _records(path: Path) -> list[tuple[str, Any]]:
    text = read_text(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return jsonl_records(path, text)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise InputError(f"{path}: unknown file type {path.suffix!r}, expected .yaml, .yml, .json or .jsonl")
    return _yaml(path, text)


def jsonl_records(path: Path, text: str) -> list[tuple[str, Any]]:
    """Each non-blank line's JSON value, with its `file:line`; strict JSON (safeio.json): NaN, infinities and a key
    written twice are refused with the line and the field."""
    out = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON strings may hold U+2028, U+0085
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", load_json(line, source=str(path), line_offset=number - 1)))
        except JsonError as exc:
            raise InputError(str(exc)) from None
    return out


def _yaml(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        document = parse_yaml(text, source=str(path), max_bytes=MAX_FILE_BYTES, max_digits=MAX_DIGITS)
    except YamlError as exc:
        raise InputError(str(exc)) from None
    data, items = document.data, ("hypotheses",)
    if isinstance(data, dict):
        if set(data) != {"hypotheses"}:
            extra = sorted(map(str, set(data) - {"hypotheses"}))
            what = f"unknown top-level key(s) {extra}" if extra else "missing the top-level key 'hypotheses'"
            raise InputError(f"{path}:1: {what}; expected 'hypotheses:' followed by a list")
        data = data["hypotheses"]
    else:
        items = ()
    if not isinstance(data, list):
        raise InputError(f"{path}:1: expected a list of hypotheses, got {_kind(data)}")
    return [
        (f"{path}:{document.line_at((*items, index)) or 1} (hypothesis {index + 1})", record)
        for index, record in enumerate(data)
    ]


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(type(value), type(value).__name__)


def _validate(record: Any, where: str) -> Hypothesis:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a mapping with title, targets, mechanism, ..., got {_kind(record)}")
    try:
        return Hypothesis.model_validate(record)
    except ValidationError as exc:
        title = record.get("title")
        named = f" {title!r}" if isinstance(title, str) and exc.errors()[0]["loc"][:1] != ("title",) else ""
        raise InputError(validation_line(exc, where=f"{where}{named}", unknown=_unknown)) from None


def _unknown(loc: Loc) -> str:
    expected = _EVIDENCE_FIELDS if loc[0] == "evidence" and len(loc) > 2 else _FIELDS
    return f"unknown field (expected {expected})"


def stored_versions(session: Session, version_ids: Sequence[str]) -> list[Hypothesis]:
    """Stored hypothesis versions (h-2600483e.v2) as hypotheses to debate, e.g. revisions from rebuttals."""
    hypotheses = []
    for version_id in version_ids:
        row = session.get(HypothesisVersionRow, version_id)
        if row is None:
            raise InputError(f"--version {version_id}: no such hypothesis version (expected e.g. h-2600483e.v2)")
        if row.content is None:
            raise InputError(f"--version {version_id}: its content predates versioning and was not kept")
        hypothesis = _validate({"id": row.hypothesis_id, **row.content}, f"--version {version_id}")
        if hypothesis.content_hash != row.content_hash:
            raise InputError(f"--version {version_id}: stored content does not match its hash")
        hypotheses.append(hypothesis)
    return hypotheses
