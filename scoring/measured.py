"""A score as every medium shows it, and the one wording of its interval.

A `Measured` is a hypothesis version's score on one scoreboard: its value, its 95% interval, the kind of that
interval (what it measures), and what it rests on (debates, verdicts). Its interval reads the same on the
terminal, in the report (HTML and Markdown), on the web pages, in a wiki page's block:

    [0.61, 0.90] between 3 debates         (kind between-debates: the variation between replicate debates)
    [0.55, 0.80] judges only: one debate   (kind panel: one debate, the spread of its judges only)
    no interval: one verdict               (kind none)

Each kind's words are one row of `WORDS`: a new kind of interval is a new `IntervalKind` and a new row. The
renderers, one per medium: `interval_text` and `score_text` (terminal and any plain text), `interval_markdown`
(Markdown: the report and the page block), `FILTERS` (the Jinja filters `score` and `interval`: HTML escapes
them, the Markdown report's `finalize` escapes them as `interval_markdown` does), `as_json` (the JSON API).

Pure: no store, no scipy (the CLI's `show` imports it and starts at once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from safeio.markdown import escape_inline

IntervalKind = Literal["between-debates", "panel", "none"]


class Interval(Protocol):
    """What the wording of an interval reads: a `Measured`, or any score row with these fields."""

    @property
    def lo(self) -> float | None: ...
    @property
    def hi(self) -> float | None: ...
    @property
    def interval(self) -> str:
        """Its kind (an `IntervalKind`; stored as text)."""

    @property
    def debates(self) -> int: ...


class Counted(Interval, Protocol):
    """A score row that also counts its verdicts (what `Measured.of` copies)."""

    @property
    def verdicts(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Measured:
    """A hypothesis version's score on one scoreboard with its 95% interval (lo, hi: None when kind is none)."""

    score: float  # mean over debates of each debate's panel mean, in [0, 1]
    lo: float | None
    hi: float | None
    interval: IntervalKind
    debates: int
    verdicts: int
    scoreboard_id: str | None = None

    @classmethod
    def of(cls, row: Counted, score: float, scoreboard_id: str | None = None) -> Measured:
        """The score `score` with the interval, kind and counts of `row` (a stored or computed score row)."""
        kind = cast(IntervalKind, row.interval)  # stored as text: a kind this version does not know shows as OTHER
        return cls(score, row.lo, row.hi, kind, row.debates, row.verdicts, scoreboard_id)


WORDS: Mapping[str, Callable[[Interval], str]] = {
    "between-debates": lambda m: f"between {m.debates} debates",
    "panel": lambda _m: "judges only: one debate",
    "none": lambda _m: "no interval: one verdict",
}
OTHER = "interval of an unknown kind"  # a kind stored by a newer version


def interval_text(m: Interval) -> str:
    """The interval in words: `[0.61, 0.90] between 3 debates`, `[0.55, 0.80] judges only: one debate`,
    `no interval: one verdict`."""
    words = WORDS.get(m.interval, lambda _m: OTHER)(m)
    if m.lo is None or m.hi is None:
        return words
    return f"[{m.lo:.2f}, {m.hi:.2f}] {words}"


def score_text(value: float | None) -> str:
    """A score with two decimals (`0.72`), or `—` when there is none."""
    return "—" if value is None else f"{value:.2f}"


def measured_text(m: Measured) -> str:
    """The score and its interval on one line: `0.72 [0.61, 0.90] between 3 debates`."""
    return f"{score_text(m.score)} {interval_text(m)}"


def interval_markdown(m: Interval) -> str:
    """`interval_text` as inert inline Markdown (the brackets escaped: never a link)."""
    return escape_inline(interval_text(m))


def as_json(m: Measured) -> dict[str, object]:
    """The interval's fields of a JSON answer: lo, hi, interval (the kind), debates, verdicts."""
    return {"lo": m.lo, "hi": m.hi, "interval": m.interval, "debates": m.debates, "verdicts": m.verdicts}


FILTERS: Mapping[str, Callable[..., str]] = {"score": score_text, "interval": interval_text}
