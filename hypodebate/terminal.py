"""Data on the terminal: every value printed through rich markup goes through `shown`.

Titles, model text, ids and error messages are data, never markup: `[/x]` prints as `[/x]` (not a
MarkupError), `[bold]` prints as `[bold]`, and control characters (ESC, BEL, C1) are stripped so no escape
sequence reaches the terminal.
"""

from __future__ import annotations

from rich.markup import escape

from safeio.text import hide_passwords, safe_text


def shown(value: object) -> str:
    """`value` as literal text inside a rich markup string: controls stripped, brackets escaped."""
    return escape(safe_text(value))


def shown_error(message: object) -> str:
    """An error message as literal markup text, with any URL password hidden."""
    return shown(hide_passwords(str(message)))
