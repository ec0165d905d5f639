"""Strict JSON loading for untrusted text: hypothesis JSON Lines, labelled eval rows, CSL-JSON bibliographies.

    load_json(text, source="x.json") -> the data               (plain data: dict, list, str, int, float, ...)

Python's `json` reads more than JSON (RFC 8259) allows and crashes on some of what it refuses; this loader
refuses with a `JsonError` (never another exception):

- `NaN`, `Infinity` and `-Infinity`, and a number too large for a float (`1e400`, read as infinity): no JSON
  value is infinite, and PostgreSQL's JSON columns refuse them;
- a key written twice in one object (`json` keeps the last one silently), escaped spellings included;
- integers longer than `max_digits` digits (Python refuses to convert past 4300);
- nesting deeper than Python's recursion allows, and anything that is not JSON.

The first two are found by a second, linear scan of the text, run only when the fast parse met one of them; it
names the line and the field (`evidence.0.claim`, `strata.x`) of the first in the text.

`JsonError(message, source=..., line=...)` prints as `source:line: message` (or `source: message` when the line is
unknown; every error of a one-line text names its line). `line_offset` shifts reported lines, e.g. to the line of
a JSON Lines record.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from safeio.errors import MAX_DIGITS, MAX_SHOWN, NOT_FINITE, HypodebateError, SourceError, field_name

__all__ = ["MAX_DIGITS", "JsonError", "load_json"]

DUPLICATE = "duplicate key (each key may appear once)"

# One token of JSON after optional whitespace; a string is matched without backtracking (unrolled loop).
_TOKEN = re.compile(
    r'[ \t\r\n]*(?:(?P<string>"[^"\\]*(?:\\.[^"\\]*)*")|(?P<constant>-?Infinity|NaN)'
    r"|(?P<number>-?[0-9][0-9.eE+-]*)|(?P<punct>[{}\[\]:,])|(?P<literal>true|false|null))",
    re.S,
)


class JsonError(SourceError):
    """JSON text that cannot be used; `source` and `line` (1-based, None when unknown) say where."""


class _Refused(HypodebateError, ValueError):
    """Raised from the parser's hooks: the fault is then located by `_first_fault`."""


@dataclass
class _Container:
    """An object (its keys so far) or an array (`keys` None) open at the scan's position: the current key or
    index, and whether an object's next string is a key."""

    keys: set[str] | None
    at: str | int | None = None
    awaiting_key: bool = False


def load_json(text: str, *, source: str, max_digits: int = MAX_DIGITS, line_offset: int = 0) -> Any:
    """The data of one JSON text, or a JsonError naming `source`, the line and (where it helps) the field."""
    one_line = None if "\n" in text else 1 + line_offset

    def refuse_constant(token: str) -> Any:
        raise _Refused(token)

    def checked_float(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise _Refused(token)
        return value

    def checked_int(token: str) -> int:
        if len(token.lstrip("-")) > max_digits:
            raise _Refused(token)
        return int(token)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            raise _Refused("duplicate")
        return out

    try:
        return json.loads(
            text,
            parse_constant=refuse_constant,
            parse_float=checked_float,
            parse_int=checked_int,
            object_pairs_hook=unique,
        )
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} at column {exc.colno}"
        raise JsonError(message, source=source, line=exc.lineno + line_offset) from None
    except _Refused:
        fault = _first_fault(text, max_digits)
        if fault is None:  # not expected: the scan finds every fault the hooks refuse
            raise JsonError("invalid JSON: NaN, an infinity or a duplicate key", source=source, line=one_line) from None
        offset, path, problem = fault
        line = text.count("\n", 0, offset) + 1 + line_offset
        where = field_name(tuple(path))
        where = where if len(where) <= MAX_SHOWN else f"{where[:MAX_SHOWN]}..."  # keys may be long
        raise JsonError(f"{where}: {problem}", source=source, line=line) from None
    except RecursionError:
        raise JsonError("invalid JSON: nested too deeply", source=source, line=one_line) from None
    except ValueError:  # an integer past Python's own digit limit, when it is below max_digits
        raise JsonError(f"a number with more than {max_digits} digits", source=source, line=one_line) from None


def _first_fault(text: str, max_digits: int) -> tuple[int, list[str | int], str] | None:
    """Offset, field path and problem of the first non-finite number, over-long integer or duplicate key in
    `text`, whose JSON is valid up to there (the parser stopped at, or after, that fault). Linear in the text;
    an explicit stack, so depth costs no recursion."""
    stack: list[_Container] = []
    position = 0
    while (match := _TOKEN.match(text, position)) is not None:
        position = match.end()
        kind = match.lastgroup or ""
        token = match.group(kind)
        top = stack[-1] if stack else None
        if kind == "punct":
            _punctuation(token, stack)
        elif kind == "string" and top is not None and top.keys is not None and top.awaiting_key:
            key = json.loads(token)
            if key in top.keys:
                return match.start(kind), [*_path(stack[:-1]), key], DUPLICATE
            top.keys.add(key)
            top.at = key
        elif kind == "number" and token.lstrip("-").isdigit():
            if len(token.lstrip("-")) > max_digits:
                return match.start(kind), _path(stack), f"a number with more than {max_digits} digits"
        elif kind == "constant" or (kind == "number" and not _finite(token)):
            return match.start(kind), _path(stack), f"{token[:40]} {NOT_FINITE}"
    return None


def _punctuation(mark: str, stack: list[_Container]) -> None:
    """Open or close a container, or move to its next key or index."""
    if mark == "{":
        stack.append(_Container(keys=set(), awaiting_key=True))
    elif mark == "[":
        stack.append(_Container(keys=None, at=0))
    elif mark in "}]":
        if stack:
            stack.pop()
    elif stack and mark == ",":
        top = stack[-1]
        if top.keys is None and isinstance(top.at, int):
            top.at += 1
        else:
            top.awaiting_key = True
    elif stack:  # ":"
        stack[-1].awaiting_key = False


def _path(stack: list[_Container]) -> list[str | int]:
    """The keys and indexes down to the value at the scan's position."""
    return [c.at for c in stack if c.at is not None]


def _finite(token: str) -> bool:
    try:
        return math.isfinite(float(token))
    except ValueError:  # not a number JSON would have read: the parser refused the text before here
        return True
