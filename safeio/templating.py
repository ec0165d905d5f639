"""The one way our HTML and Markdown pages build a Jinja environment.

Every template is untrusted-text-safe by construction: an HTML environment autoescapes every value; a Markdown
environment escapes every value through the `finalize` it is given (autoescape is for HTML only). A missing
variable raises (`StrictUndefined`), and block tags leave no blank lines (`trim_blocks`, `lstrip_blocks`).
The prompts' environment (agents/prompts.py) renders plain text for a model and is built there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import jinja2

Escaping = Literal["html"] | Callable[[Any], Any]


def environment(
    folder: Path,
    *,
    escaping: Escaping = "html",
    filters: Mapping[str, Callable[..., Any]] | None = None,
    globals: Mapping[str, Any] | None = None,
) -> jinja2.Environment:
    """An environment over the templates in `folder`, with `filters` and `globals` added.

    `escaping` is "html" (autoescape on) or, for Markdown, the `finalize` function that escapes each value
    (autoescape off)."""
    finalize = None if isinstance(escaping, str) else escaping
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=finalize is None,  # noqa: S701 - off only for Markdown, whose `finalize` escapes every value
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )
    env.filters.update(filters or {})
    env.globals.update(globals or {})
    return env
