"""A pydantic ValidationError as one line: `where: field: message (got value) (+N more)`.

Input files, config and wiki front matter all report a bad value this way, so a user sees one form of error.
Values of secret fields (API keys, database URLs) are never echoed.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError


class HypodebateError(Exception):
    """The root of every error hypodebate raises on purpose: `except HypodebateError` catches "hypodebate refused
    this". str() is one line that says what, where (file, line, field) and what was expected. The families below
    (and `agents.errors.LLMError`, `store.engine.StoreError`, `agents.roles.TurnFailed`) derive from it."""


class InputError(HypodebateError):
    """Bad input (a file, a line, a field, a command's argument); nothing from it was stored."""


class NotFound(InputError):
    """Asked for something the database does not hold (a hypothesis, a scoreboard, a batch, a page)."""


class ConfigError(HypodebateError):
    """config.yaml, an environment variable or a prompt template holds a bad value; the message names the field."""


class QueueError(HypodebateError):
    """A job of the shared queue cannot run here (bad arguments, another protocol, a debate held elsewhere)."""


Loc = tuple[int | str, ...]

MAX_DIGITS = 4000  # integers in input files: below Python's own limit (sys.get_int_max_str_digits, 4300)
NOT_FINITE = "is not a finite number (expected a number, or null)"

_short = reprlib.Repr()  # a bad value is shown briefly, even when it is an alias bomb or refers to itself
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring, _short.maxother = 3, 5, 5, 200, 200
MAX_SHOWN = 80


def field_name(loc: Loc) -> str:
    """('evidence', 0, 'citation') -> 'evidence.0.citation'; the record itself is '(record)'."""
    return ".".join(str(part) for part in loc) or "(record)"


def short_repr(value: Any) -> str:
    """repr() cut to a readable length, safe on self-referring or huge values."""
    shown = _short.repr(value)
    return f"{shown[:MAX_SHOWN]}..." if len(shown) > MAX_SHOWN else shown


def validation_line(
    exc: ValidationError,
    *,
    where: str | Callable[[Loc], str],
    unknown: str | Callable[[Loc], str] = "unknown field",
    secret: Callable[[Loc], bool] = lambda loc: False,
) -> str:
    """The first error of `exc` as `where: field: message (got value)`, plus how many more there are.

    `where` is `file:line` or a function of the field's location (to look its line up); `unknown` is the
    message for a field the model does not have (e.g. "unknown field (expected id, title, ...)");
    `secret(loc)` true hides the value that was given (the message still names the field).
    """
    err = exc.errors()[0]
    loc: Loc = tuple(err["loc"])
    place = where(loc) if callable(where) else where
    if err["type"] == "extra_forbidden":
        message = unknown(loc) if callable(unknown) else unknown
    elif err["type"] == "missing":
        message = "required field is missing"
    elif secret(loc):
        message = f"{err['msg']} (value not shown: it may be a secret)"
    else:
        message = f"{err['msg']} (got {short_repr(err.get('input'))})"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{place}: {field_name(loc)}: {message}{more}"


class SourceError(InputError, ValueError):
    """Text of an input file that cannot be used (YAML, JSON); `source` and `line` (1-based, None when unknown)
    say where."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        super().__init__(f"{source}:{line}: {message}" if line is not None else f"{source}: {message}")
        self.message = message
        self.source = source
        self.line = line
