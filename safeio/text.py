"""Terminal-safe text: strip control characters, hide passwords in URLs.

Titles, model text, ids and error messages are untrusted: a stored title can carry an escape sequence
(OSC 52 writes the clipboard, OSC 8 makes a hidden hyperlink, CSI moves the cursor and repaints lines), a
BiDi override that shows text in another order than it is stored, and a database URL can carry a password.
This module is the one filter for everything that reaches a terminal or a log: text printed passes through
`safe_text`, JSON printed through `json_line`, log records through `SafeLogFormatter`, and every URL through
`display_url` (or, inside a longer message, `hide_passwords`).
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from safeio.errors import InputError

# The BiDi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they reorder what is shown
# ("Trojan Source"). Right-to-left text needs none of them; the invisible marks LRM, RLM and ALM are left alone.
_BIDI = "\u202a-\u202e\u2066-\u2069"
# C0 controls except tab and newline, DEL, the C1 controls (U+0080-U+009F: CSI, OSC, ST, ... in 8-bit form), BiDi.
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_INPUT_CONTROLS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")  # CR too is allowed in input text
# What JSON printed on a terminal escapes (as \uXXXX, so nothing is lost): every control above, and the line and
# paragraph separators that some readers take for a line break.
_JSON_ESCAPED = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")
# `scheme://user:password@`: only where `://` occurs, and each class stops at a delimiter, so matching is linear.
_PASSWORD = re.compile(r"://(?P<user>[^:/@\s]*):(?P<password>[^\s/]*)@")
HIDDEN = "***"


def safe_text(text: object) -> str:
    """`text` with every C0/C1 control character and BiDi override removed except tab and newline; CRLF and CR
    become newlines.

    What remains cannot move the cursor, set the title, write the clipboard, open a hyperlink or reorder what
    is shown: ESC, BEL and the 8-bit CSI/OSC/ST introducers are gone, so no escape sequence survives.
    """
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", value)


def no_controls(value: str) -> str:
    """`value` unchanged, or ValueError naming its first C0/C1 control character or BiDi override (tab, newline,
    CR allowed).

    For input validation (a pydantic `AfterValidator`): titles and names that will be printed are refused
    at the door; `safe_text` still strips what reaches output by another way (a shared database, a model)."""
    found = _INPUT_CONTROLS.search(value)
    if found:
        raise ValueError(f"contains the control character U+{ord(found.group()):04X}; remove it")
    return value


def json_line(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """`value` as one line of JSON that is safe to print: non-ASCII text kept as written, but every control
    character (C0 and C1), BiDi override and line separator escaped as `\\uXXXX`, so the data is unchanged
    for a JSON reader and inert on a terminal."""
    line = json.dumps(value, ensure_ascii=False, default=default)  # escapes C0 controls already
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class SafeLogFormatter(logging.Formatter):
    """A log formatter whose every line passes through `safe_text` and `hide_passwords`: a message, its
    arguments or an exception's text (a job's arguments, a failure reason, a model's answer) cannot carry an
    escape sequence or a database password to stderr or a log file. `one_line_errors` shows an exception as its
    type and message rather than a traceback."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, *, one_line_errors: bool = False) -> None:
        super().__init__(fmt, datefmt)
        self.one_line_errors = one_line_errors

    def formatException(self, ei: Any) -> str:
        if self.one_line_errors and ei[0] is not None:
            return f"  {ei[0].__name__}: {ei[1]}"
        return super().formatException(ei)

    def format(self, record: logging.LogRecord) -> str:
        return hide_passwords(safe_text(super().format(record)))


class SafeStderrHandler(logging.Handler):
    """What logging prints when no handler takes a record (WARNING and above: `logging.lastResort`), filtered:
    written to the `sys.stderr` of the moment, as logging's own last resort is."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.setFormatter(SafeLogFormatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def hide_passwords(text: str) -> str:
    """Every `scheme://user:password@` in `text` with the password replaced by `***` (for error messages)."""
    return _PASSWORD.sub(lambda m: f"://{m['user']}:{HIDDEN}@", text)


def display_url(url: str) -> str:
    """A database URL as it may be shown: password hidden, controls stripped; also when it cannot be parsed."""
    from sqlalchemy.engine import make_url  # here: the CLI's `--help` does not pay for SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        shown = hide_passwords(url)
    return safe_text(shown)


class NotUtf8Error(InputError, ValueError):
    """A file's bytes are not UTF-8 text (or are binary); str() names the file, the line where known, and why."""


def utf8_text(data: bytes, where: object, *, binary_expected: str | None = None) -> str:
    """`data` (a file's bytes, a UTF-8 BOM allowed) as text, or NotUtf8Error naming `where`: UTF-16/32 text, a
    NUL byte in the first 8 KiB when `binary_expected` names what was expected instead, or an invalid byte."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotUtf8Error(f"{where}: UTF-16 or UTF-32 text, expected UTF-8 (save the file as UTF-8)")
    if binary_expected is not None and b"\x00" in data[:8192]:
        raise NotUtf8Error(f"{where}: binary file, expected {binary_expected}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NotUtf8Error(f"{where}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None
