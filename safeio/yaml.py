"""Guarded YAML loading for untrusted text: hypothesis files, wiki front matter, config.

    load_yaml(text, source="x.yaml") -> the data               (plain data: dict, list, str, int, ...)
    parse_yaml(text, source="x.yaml") -> YamlDocument          (.data, and .line_at(keys) for error messages)

Both parse once, with libyaml's CSafeLoader where PyYAML has it (about 8 times faster than the pure-Python
SafeLoader, which is the fallback), and refuse with a `YamlError` (never another exception) what PyYAML lets
through or crashes on:

- text over `max_bytes` (UTF-8);
- nesting deeper than `max_depth` levels, counting what aliases repeat (a structure that refers to itself
  is infinitely deep);
- integers longer than `max_digits` characters (Python refuses to convert past 4300 digits);
- `.nan`, `.inf`, `-.inf` and a float too large to be finite (`1.0e+999`): no input holds an infinite value,
  and PostgreSQL's JSON columns refuse them;
- a key written twice in one mapping (PyYAML keeps the last one silently);
- more than one document, and anything that is not YAML.

Merge keys (`<<`) are expanded by PyYAML; from 6.0.4 on that takes linear time (6.0.3 copied merged keys
exponentially often, so the project requires pyyaml>=6.0.4).

`YamlError(message, source=..., line=...)` prints as `source:line: message` (or `source: message` when the
line is unknown); `line_offset` shifts reported lines, e.g. by 1 for front matter after a `---` line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from safeio.errors import MAX_DIGITS, NOT_FINITE, SourceError

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS", "YamlDocument", "YamlError", "load_yaml", "parse_yaml"]

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
WITH_LIBYAML = _Loader.__name__ == "CSafeLoader"

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(SourceError):
    """YAML text that cannot be used; `source` and `line` (1-based, None when unknown) say where."""


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML: the data, and the node tree it was built from (for line numbers in later errors)."""

    data: Any
    node: yaml.Node | None
    line_offset: int = 0

    def line_at(self, keys: Sequence[int | str]) -> int | None:
        """1-based line of the deepest of `keys` (mapping keys and list indexes, as in a pydantic error's
        `loc`) that exists in the document; None when not even the first does."""
        node, line = self.node, None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                found = next((pair for pair in node.value if str(pair[0].value) == str(key)), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line
            else:
                break
        return None if line is None else line + 1 + self.line_offset


def load_yaml(text: str, *, source: str, **limits: int) -> Any:
    """The data of one YAML document (None for an empty one), or a YamlError naming `source` and the line.
    `limits`: `max_bytes`, `max_depth`, `max_digits`, `line_offset`, as for `parse_yaml`."""
    return parse_yaml(text, source=source, **limits).data


def parse_yaml(
    text: str,
    *,
    source: str,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_digits: int = MAX_DIGITS,
    line_offset: int = 0,
) -> YamlDocument:
    """Like `load_yaml`, keeping the node tree so callers can name the line of a field they reject later."""
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes):
        raise YamlError(f"larger than {_size(max_bytes)}", source=source)
    loader = None
    try:
        loader = _Loader(text)  # the pure-Python reader checks the characters here
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, None, line_offset)
        limits = {"max_depth": max_depth, "max_digits": max_digits, "line_offset": line_offset}
        _check(node, source=source, to_float=loader.construct_yaml_float, **limits)
        return YamlDocument(loader.construct_document(node), node, line_offset)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source, line_offset) from None
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text, source, line_offset, max_depth) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {' '.join(str(exc).split())}", source=source) from None
    except YamlError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor's own check, e.g. a date 2001-13-45
        raise YamlError(f"invalid YAML: {' '.join(str(exc).split())[:200]}", source=source) from None
    except RecursionError:  # the pure-Python composer recurses once per level
        raise YamlError(f"invalid YAML: nested too deeply (at most {max_depth} levels)", source=source) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check(
    node: yaml.Node,
    *,
    source: str,
    max_depth: int,
    max_digits: int,
    line_offset: int,
    to_float: Callable[[yaml.ScalarNode], float],
) -> None:
    """Depth, integer length, finite floats (`to_float` reads one as the loader will) and duplicate keys,
    iteratively. A node reached again through an alias is walked again only when it is reached deeper than
    before, so the walk is at most `max_depth` times the node count."""
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    deepest: dict[int, int] = {}
    while stack:
        current, depth = stack.pop()
        line = current.start_mark.line + 1 + line_offset
        if depth > max_depth:
            raise YamlError(
                f"invalid YAML: nested too deeply (more than {max_depth} levels, counting aliases)",
                source=source,
                line=line,
            )
        first = id(current) not in deepest
        if not first and deepest[id(current)] >= depth:
            continue
        deepest[id(current)] = depth
        if isinstance(current, yaml.ScalarNode):
            if first and current.tag == _INT_TAG and len(current.value) > max_digits:
                raise YamlError(f"invalid YAML: a number with more than {max_digits} digits", source=source, line=line)
            if first and current.tag == _FLOAT_TAG and not math.isfinite(to_float(current)):
                where = ".".join(_path_to(node, current)) or "(document)"
                raise YamlError(f"{where}: {current.value[:40]} {NOT_FINITE}", source=source, line=line)
        elif isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in current.value:
                if first and isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                    if key.value in keys:
                        where = ".".join([*_path_to(node, current), key.value])
                        raise YamlError(
                            f"{where}: duplicate key (each key may appear once)",
                            source=source,
                            line=key.start_mark.line + 1 + line_offset,
                        )
                    keys.add(key.value)
                stack += [(key, depth + 1), (value, depth + 1)]
        elif isinstance(current, yaml.SequenceNode):
            stack += [(item, depth + 1) for item in current.value]


def _path_to(root: yaml.Node, target: yaml.Node) -> list[str]:
    """Keys and indexes from `root` down to `target` (only on the error path: a second walk is fine there)."""
    stack: list[tuple[yaml.Node, list[str]]] = [(root, [])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack += [(value, [*path, str(key.value)]) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, [*path, str(index)]) for index, item in enumerate(node.value)]
    return []


def _reader_error(exc: yaml.reader.ReaderError, text: str, source: str, line_offset: int) -> YamlError:
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    position = text.find(chr(char)) if char < 0x110000 else -1
    line = text.count("\n", 0, position) + 1 + line_offset if position >= 0 else None
    return YamlError(f"invalid YAML: character #x{char:04x} is not allowed (remove it)", source=source, line=line)


def _marked_error(exc: yaml.MarkedYAMLError, text: str, source: str, line_offset: int, max_depth: int) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 + line_offset if mark is not None else None
    problem = exc.problem or str(exc)
    if "maximum nesting depth" in problem:  # libyaml's own limit (1000 levels)
        return YamlError(f"invalid YAML: nested too deeply (at most {max_depth} levels)", source=source, line=line)
    if problem == "found character that cannot start any token" and mark is not None:
        # libyaml does not say which character; the pure-Python scanner does, and users need it (a tab).
        row = text.split("\n", mark.line + 1)[mark.line] if mark.line < text.count("\n") + 1 else ""
        if 0 <= mark.column < len(row):
            problem = f"found character {row[mark.column]!r} that cannot start any token"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    return YamlError(f"invalid YAML: {' '.join(problem.split())}", source=source, line=line)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 and limit % 2**20 == 0 else f"{limit:,} bytes"
