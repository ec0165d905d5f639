"""Is a turn worth keeping? Empty, template echoes and off-topic answers are rejected (then re-asked)."""

from __future__ import annotations

import re

from safeio.errors import HypodebateError

# The opening tag of a data block. `[^<>]*` stops at the next `<`, so every character is scanned by at most one
# candidate: linear. (The former `<(hypothesis|turn)\b[^>]*>.*?</\1>` rescanned to the end of the text from every
# unclosed opening tag: quadratic, seconds on crafted evidence, on the event loop.)
_OPENING = re.compile(r"<(hypothesis|turn|claim|source)\b[^<>]*>")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{4,}")
_STOP = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "among",
        "another",
        "because",
        "before",
        "being",
        "below",
        "between",
        "could",
        "during",
        "either",
        "every",
        "first",
        "further",
        "having",
        "other",
        "their",
        "there",
        "these",
        "those",
        "through",
        "under",
        "until",
        "which",
        "while",
        "would",
        "should",
        "might",
        "hypothesis",
        "evidence",
        "mechanism",
        # the labels of rendered turns (agents/turns.py), which say nothing about the topic
        "falsifiable",
        "prediction",
        "counter-evidence",
        "alternative",
        "explanation",
        "resolved",
        "revised",
        "concedes",
        "critic",
        "substantive",
        "weakness",
        "remains",
        "major",
        "minor",
        "fatal",
        "verdict",
    ]
)


class TurnRejected(HypodebateError, ValueError):
    """The answer parsed, but is not a usable turn; the message says why."""


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def outside_data(prompt: str) -> str:
    """The prompt without its data blocks (`<hypothesis>`, `<turn …>`, the verifier's `<claim>` and `<source>`), in
    linear time.

    An opening tag without its closing tag is left as text; once a tag's closer is missing, no later opening
    of that tag is searched for one (so crafted input with thousands of unclosed tags costs one pass)."""
    parts: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    search_from = 0
    while (opening := _OPENING.search(prompt, search_from)) is not None:
        tag = opening.group(1)
        if tag in unclosed:
            search_from = opening.end()
            continue
        close = prompt.find(f"</{tag}>", opening.end())
        if close < 0:
            unclosed.add(tag)
            search_from = opening.end()
            continue
        parts.append(prompt[pos : opening.start()])
        parts.append(" ")
        pos = search_from = close + len(tag) + 3
    parts.append(prompt[pos:])
    return "".join(parts)


def instruction_lines(prompt: str) -> list[str]:
    """The prompt's own instruction sentences (not the data blocks), long enough to recognise if echoed."""
    outside = outside_data(prompt)
    sentences = re.split(r"(?<=[.:!?])\s+|(?<=[.:!?][\"'])\s+|\n", outside)
    return [_normal(s) for s in sentences if len(s.strip()) >= 40]


def placeholders(prompt: str) -> list[str]:
    """`<fill this in>` spans the prompt offers as a shape; a turn that copies one is an echo."""
    outside = outside_data(prompt)
    return [_normal(m) for m in re.findall(r"<([^<>\n]{12,})>", outside)]


def topic_terms(*texts: str) -> set[str]:
    terms: set[str] = set()
    for text in texts:
        terms.update(w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP)
    return terms


def check_turn(text: str, *, prompt: str, terms: set[str], symbols: list[str], on_topic: bool = True) -> None:
    """Raise TurnRejected when `text` is empty, repeats the instructions, or never touches the hypothesis."""
    body = _normal(text)
    if len(body) < 20:
        raise TurnRejected("the answer is empty or too short to be a debate turn")
    for line in instruction_lines(prompt) + placeholders(prompt):
        if line in body:
            raise TurnRejected("the answer repeats the instructions instead of answering them")
    if not on_topic:
        return
    if any(re.search(rf"(?<![A-Za-z0-9]){re.escape(s.lower())}(?![A-Za-z0-9])", body) for s in symbols):
        return
    if topic_terms(body) & terms:
        return
    raise TurnRejected("the answer is off-topic: it names neither the target nor anything in the hypothesis")
