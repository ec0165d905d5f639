"""The wiki part's errors.

WikiError                 anything `pages import|attach` and the web app refuse, with the file and field at fault
├── PageError             a page file that cannot be read: not UTF-8, bad front matter, a missing slug
└── MarkerError           a page whose Related Hypotheses markers are unbalanced
"""

from __future__ import annotations

from safeio.errors import InputError


class WikiError(InputError):
    """A wiki page or command cannot be handled; the message names the file and the field."""


class PageError(WikiError):
    """A page file is malformed."""


class MarkerError(WikiError):
    """A page has a start marker without an end marker, or the other way round."""
