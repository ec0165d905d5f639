"""Terminal-safe text: strip control characters, hide passwords in URLs.

Titles, model text, ids and error messages are untrusted: a stored title can carry an escape sequence
(OSC 52 writes the clipboard, OSC 8 makes a hidden hyperlink, CSI moves the cursor and repaints lines)
and a database URL can carry a password. Everything printed passes through `safe_text`, and every URL
through `display_url` (or, inside a longer message, `hide_passwords`).
"""

from __future__ import annotations

import codecs
import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F: CSI, OSC, ST, ... in 8-bit form).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INPUT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # CR too is allowed in input text
# `scheme://user:password@`: only where `://` occurs, and each class stops at a delimiter, so matching is linear.
_PASSWORD = re.compile(r"://(?P<user>[^:/@\s]*):(?P<password>[^\s/]*)@")
HIDDEN = "***"


def safe_text(text: object) -> str:
    """`text` with every C0/C1 control character removed except tab and newline; CRLF and CR become newlines.

    What remains cannot move the cursor, set the title, write the clipboard or open a hyperlink: ESC, BEL
    and the 8-bit CSI/OSC/ST introducers are gone, so no escape sequence survives.
    """
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", value)


def no_controls(value: str) -> str:
    """`value` unchanged, or ValueError naming its first C0/C1 control character (tab, newline, CR allowed).

    For input validation (a pydantic `AfterValidator`): titles and names that will be printed are refused
    at the door; `safe_text` still strips what reaches output by another way (a shared database, a model)."""
    found = _INPUT_CONTROLS.search(value)
    if found:
        raise ValueError(f"contains the control character U+{ord(found.group()):04X}; remove it")
    return value


def hide_passwords(text: str) -> str:
    """Every `scheme://user:password@` in `text` with the password replaced by `***` (for error messages)."""
    return _PASSWORD.sub(lambda m: f"://{m['user']}:{HIDDEN}@", text)


def display_url(url: str) -> str:
    """A database URL as it may be shown: password hidden, controls stripped; also when it cannot be parsed."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        shown = hide_passwords(url)
    return safe_text(shown)


class NotUtf8Error(ValueError):
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
