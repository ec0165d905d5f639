"""Markdown escaping for untrusted text: what a hypothesis, a page or a model wrote renders as its own words.

`escape` keeps line breaks (a paragraph of model text); `escape_inline` folds the text onto one line first
(a table cell, a list item, a link text). Both turn `& < >` into HTML entities (no raw HTML, no autolinks)
and backslash-escape every Markdown metacharacter, so nothing becomes a link, an image, emphasis, code, a
table cell border or (at the start of a line) a heading, list, quote or setext underline. A backslash before
ASCII punctuation is valid CommonMark: the text renders exactly as written.
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\`*_\[\](){}#+!|~])")
# At the start of a line: a bullet (`-` then a space), a setext underline or thematic break (a line of `-`/`=`),
# an ordered list item (`1.` or `1)` then a space). Elsewhere these characters are plain text: `-1`, `0.78`.
_BULLET = re.compile(r"^([ \t]*)(-)(?=[ \t]|$)", re.MULTILINE)
_RULE = re.compile(r"^([ \t]*)([\-=])(?=[\-= \t]*$)", re.MULTILINE)
_ORDERED = re.compile(r"^([ \t]*\d{1,9})([.)])(?=[ \t]|$)", re.MULTILINE)


def escape(text: str) -> str:
    """Inert Markdown with the line breaks kept: entities for `& < >`, metacharacters backslash-escaped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")  # CommonMark reads a lone CR as a line break too
    out = _SPECIAL.sub(r"\\\1", html.escape(lines, quote=False))
    for pattern in (_BULLET, _RULE, _ORDERED):
        out = pattern.sub(r"\1\\\2", out)
    return out


def escape_inline(text: str) -> str:
    """Inert Markdown on one line: whitespace runs (line breaks included) become one space, then `escape`."""
    return escape(" ".join(text.split()))
