"""A score as every medium shows it, and the one wording of its interval.

A `Measured` is a hypothesis version's score on one scoreboard: its value, its 95% interval, the kind of that
interval (what it measures), and what it rests on (debates, verdicts). Its interval reads the same on the
terminal, in the report (HTML and Markdown), on the web pages, in a wiki page's block:

    [0.61, 0.90] 3 debates, pooled (14 df)                      (pooled: debates and judges, over the scoreboard)
    [0.41, 0.93] bound: debates not repeated, all spread counted as noise (15 df)     (bound)
    [0.79, 0.79] 2 debates, no variation on this scoreboard     (no-variation)
    no interval: too few verdicts on this scoreboard to pool    (too-few)

(scoring.aggregate says how each is computed.)

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

IntervalKind = Literal["pooled", "bound", "no-variation", "too-few"]


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
    @property
    def df(self) -> float | None:
        """Degrees of freedom of the scoreboard's variance model (None: not known)."""


class Counted(Interval, Protocol):
    """A score row that also counts its verdicts and keeps its standard error (what `Measured.of` copies)."""

    @property
    def verdicts(self) -> int: ...
    @property
    def se(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Measured:
    """A hypothesis version's score on one scoreboard with its 95% interval (lo, hi: None when its kind shows none)."""

    score: float  # mean over debates of each debate's panel mean, in [0, 1]
    lo: float | None
    hi: float | None
    interval: IntervalKind
    debates: int
    verdicts: int
    scoreboard_id: str | None = None
    se: float | None = None  # standard error under the scoreboard's model
    df: float | None = None  # its degrees of freedom

    @classmethod
    def of(cls, row: Counted, score: float, scoreboard_id: str | None = None) -> Measured:
        """The score `score` with the interval, kind and counts of `row` (a stored or computed score row)."""
        kind = cast(IntervalKind, row.interval)  # stored as text: a kind this version does not know shows as OTHER
        return cls(score, row.lo, row.hi, kind, row.debates, row.verdicts, scoreboard_id, row.se, row.df)


def _df(m: Interval) -> str:
    return "" if m.df is None else f" ({m.df:.0f} df)"


def _debates(n: int) -> str:
    return "1 debate" if n == 1 else f"{n} debates"


WORDS: Mapping[str, Callable[[Interval], str]] = {
    "pooled": lambda m: f"{_debates(m.debates)}, pooled{_df(m)}",
    "bound": lambda m: f"bound: debates not repeated, all spread counted as noise{_df(m)}",
    "no-variation": lambda m: f"{_debates(m.debates)}, no variation on this scoreboard",
    "too-few": lambda _m: "no interval: too few verdicts on this scoreboard to pool",
}
OTHER = "interval of an unknown kind"  # a kind stored by a newer version


def interval_text(m: Interval) -> str:
    """The interval in words: `[0.61, 0.90] 3 debates, pooled (14 df)`, `no interval: too few verdicts on this
    scoreboard to pool`, ... (one row of WORDS per kind)."""
    words = WORDS.get(m.interval, lambda _m: OTHER)(m)
    if m.lo is None or m.hi is None:
        return words
    return f"[{m.lo:.2f}, {m.hi:.2f}] {words}"


def score_text(value: float | None) -> str:
    """A score with two decimals (`0.72`), or `—` when there is none."""
    return "—" if value is None else f"{value:.2f}"


def measured_text(m: Measured) -> str:
    """The score and its interval on one line: `0.72 [0.61, 0.90] 3 debates, pooled (14 df)`."""
    return f"{score_text(m.score)} {interval_text(m)}"


def interval_markdown(m: Interval) -> str:
    """`interval_text` as inert inline Markdown (the brackets escaped: never a link)."""
    return escape_inline(interval_text(m))


def as_json(m: Measured) -> dict[str, object]:
    """The interval's fields of a JSON answer: lo, hi, interval (the kind), se, df, debates, verdicts."""
    return {
        "lo": m.lo,
        "hi": m.hi,
        "interval": m.interval,
        "se": m.se,
        "df": m.df,
        "debates": m.debates,
        "verdicts": m.verdicts,
    }


FILTERS: Mapping[str, Callable[..., str]] = {"score": score_text, "interval": interval_text}
