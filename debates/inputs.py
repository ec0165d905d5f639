"""Read hypotheses from YAML or JSONL files; every problem is reported as file:line with the field at fault."""

from __future__ import annotations

import codecs
import json
import reprlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from debates.hypotheses import Hypothesis
from store.models import HypothesisVersionRow

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DIGITS = 4000  # Python refuses to convert longer integers (sys.get_int_max_str_digits)
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FIELDS = "id, title, targets, target_label, mechanism, diseases, evidence, pages"
_EVIDENCE_FIELDS = "claim, citation, stance"
_KINDS = {dict: "mapping", list: "list", str: "string", int: "integer", float: "number", bool: "boolean"}

_short = reprlib.Repr()  # a bad value is shown briefly, even when it is an alias bomb or refers to itself
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring, _short.maxother = 3, 5, 5, 200, 200


class InputError(Exception):
    """A hypothesis file cannot be used; nothing from it was imported."""


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


def _text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: file is larger than {MAX_FILE_BYTES // 2**20} MB")
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path}: UTF-16 or UTF-32 text, expected UTF-8 (save the file as UTF-8)")
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
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON strings may hold U+2028, U+0085
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", json.loads(line, object_pairs_hook=_unique_keys)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: invalid JSON: {exc.msg} at column {exc.colno}") from None
        except _DuplicateKey as exc:
            raise InputError(f"{path}:{number}: duplicate key {exc.key!r} (each key may appear once)") from None
        except RecursionError:
            raise InputError(f"{path}:{number}: invalid JSON: nested too deeply") from None
        except ValueError:  # an integer literal past Python's digit limit
            raise InputError(f"{path}:{number}: invalid JSON: a number with more than {MAX_DIGITS} digits") from None
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _yaml(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        node = yaml.compose(text)
        _check_nodes(path, node)
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InputError(f"{path}:{line}: invalid YAML: character #x{char:04x} is not allowed ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        problem = " ".join(f"{problem} ({context})".split() if context else problem.split())
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{path}: invalid YAML: nested too deeply") from None
    items_node = node
    if isinstance(data, dict):
        if set(data) != {"hypotheses"}:
            extra = sorted(set(data) - {"hypotheses"})
            what = f"unknown top-level key(s) {extra}" if extra else "missing the top-level key 'hypotheses'"
            raise InputError(f"{path}:1: {what}; expected 'hypotheses:' followed by a list")
        data = data["hypotheses"]
        items_node = next(v for k, v in node.value if k.value == "hypotheses")  # type: ignore[union-attr]
    if not isinstance(data, list):
        raise InputError(f"{path}:1: expected a list of hypotheses, got {_kind(data)}")
    lines = [item.start_mark.line + 1 for item in items_node.value] if isinstance(items_node, yaml.SequenceNode) else []
    out = []
    for index, record in enumerate(data):
        line = lines[index] if index < len(lines) else 1
        out.append((f"{path}:{line} (hypothesis {index + 1})", record))
    return out


def _check_nodes(path: Path, root: yaml.Node | None) -> None:
    """Refuse what PyYAML lets through silently or crashes on: a key twice in one mapping (the last
    one would win), and integers too long for Python to convert. Iterative, and each node once (aliases)."""
    stack, seen = [root] if root is not None else [], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > MAX_DIGITS:
            raise InputError(f"{path}:{line}: invalid YAML: a number with more than {MAX_DIGITS} digits")
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                    if key.value in keys:
                        where = key.start_mark.line + 1
                        raise InputError(f"{path}:{where}: duplicate key {key.value!r} (each key may appear once)")
                    keys.add(key.value)
                stack += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(type(value), type(value).__name__)


def _validate(record: Any, where: str) -> Hypothesis:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a mapping with title, targets, mechanism, ..., got {_kind(record)}")
    try:
        return Hypothesis.model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(record)"
        if err["type"] == "extra_forbidden":
            expected = _EVIDENCE_FIELDS if err["loc"][0] == "evidence" and len(err["loc"]) > 2 else _FIELDS
            message = f"unknown field (expected {expected})"
        elif err["type"] == "missing":
            message = "required field is missing"
        else:
            shown = _short.repr(err.get("input"))
            message = f"{err['msg']} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        title = record.get("title")
        named = f" {title!r}" if isinstance(title, str) and field != "title" else ""
        raise InputError(f"{where}{named}: {field}: {message}{more}") from None


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
