"""The transcript report: one self-contained HTML file (or Markdown) from a `ReportData`.

Every piece of hypothesis, evidence and model text is untrusted. HTML goes through a Jinja
environment with autoescape on (separate from the prompt templates); citations are marked on the
already-escaped text. Markdown goes through an environment whose `finalize` escapes every value
that is not explicitly `MdSafe` (safeio.markdown). The report's own script is inline and allowed by its hash in a
Content-Security-Policy that forbids every fetch.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from markupsafe import Markup, escape

from report.views import ReportData, ScoreView
from safeio.markdown import escape as md_escape
from safeio.templating import environment
from scoring.measured import FILTERS
from store.usage import Usage

TEMPLATES = Path(__file__).with_name("templates")
SCRIPT = (TEMPLATES / "report.js").read_text(encoding="utf-8")
DiffOp = Literal["same", "del", "ins"]

# PMID:123, DOIs (10.xxxx/...), @bibkeys and NCT ids, matched on text that is already HTML-escaped:
# the classes stop at '&' so an entity (&lt; &#39;) is never split.
_CITATION = re.compile(
    r"\bPMID:\s?\d{1,9}\b"
    r"|\b10\.\d{4,9}/[^\s&<>]*[^\s&<>.,;:)\]]"
    r"|(?<![\w.@&#])@[A-Za-z][\w:-]{0,63}"
    r"|\bNCT\d{8}\b",
    re.IGNORECASE,
)


# -- escaping -------------------------------------------------------------------------------------


def cite(text: object) -> Markup:
    """Escape `text`, then wrap the citations in it with <cite> (only ever in text content)."""
    escaped = str(escape("" if text is None else str(text)))
    return Markup(_CITATION.sub(lambda m: f"<cite>{m.group(0)}</cite>", escaped))  # noqa: S704 - escaped above


class MdSafe(str):
    """Markdown the report itself wrote (never untrusted text)."""

    __slots__ = ()


def _md_finalize(value: object) -> str:
    if isinstance(value, MdSafe):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return md_escape(str(value))


def oneline(text: object) -> str:
    return " ".join(str(text or "").split())


def usd(value: float | None) -> str:
    """A cost: `$0` (a free model), `<$0.0001`, `$1.2345`, or `—` when it is unknown (a model without a price)."""
    if value is None:
        return "—"
    if not value:
        return "$0"
    return "<$0.0001" if value < 0.0001 else f"${value:,.4f}"


def cached_share(usage: Usage) -> str:
    """The share of prompt tokens the provider served from its cache: "41%", or "—" without prompt tokens."""
    share = usage.cached_share
    return "—" if share is None else f"{100 * share:.0f}%"


def when(value: datetime | None) -> str:
    """Timestamps are stored in UTC (SQLite hands them back naive)."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


# -- revisions ------------------------------------------------------------------------------------


def word_diff(original: str, revised: str) -> list[tuple[DiffOp, str]]:
    """A word-level diff: runs of unchanged, deleted and inserted words."""
    a, b = original.split(), revised.split()
    out: list[tuple[DiffOp, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            out.append(("del", " ".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def md_diff(original: str, revised: str) -> MdSafe:
    parts = []
    for op, words in word_diff(original, revised):
        text = md_escape(words)
        parts.append({"same": text, "del": f"<del>{text}</del>", "ins": f"<ins>{text}</ins>"}[op])
    return MdSafe(" ".join(parts))


# -- charts (inline SVG geometry; the templates draw it) ------------------------------------------


@dataclass(frozen=True, slots=True)
class Bin:
    """A bin of scores [lo, hi) holding `count` of them, drawn from (x, y): a histogram's bar of `height`, or (with
    no height) a point."""

    lo: float
    hi: float
    count: int
    x: float
    y: float
    height: float = 0.0


@dataclass(frozen=True, slots=True)
class Histogram:
    """A scoreboard's scores in ten bins, drawn as bars `bar` wide above a baseline at `bottom`."""

    bins: tuple[Bin, ...]
    top: int
    width: int = 420
    height: int = 170
    left: int = 36
    bottom: int = 140
    bar: float = 36.0


def histogram(scores: list[float], bins: int = 10) -> Histogram:
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, max(0, int(s * bins)))] += 1
    top = max(counts, default=0) or 1
    base = Histogram((), top)
    out = []
    for i, count in enumerate(counts):
        h = (base.bottom - 20) * count / top
        out.append(Bin(i / bins, (i + 1) / bins, count, base.left + i * base.bar, base.bottom - h, h))
    return Histogram(tuple(out), top)


@dataclass(frozen=True, slots=True)
class Dot:
    """One debate's panel mean on a dot plot: where it is drawn, and what its tooltip says."""

    x: float
    label: str


@dataclass(frozen=True, slots=True)
class DotPlot:
    """A version's debates as dots on [0, 1], with their mean and range marked."""

    dots: tuple[Dot, ...]
    mean_x: float
    lo_x: float
    hi_x: float
    width: int = 320
    height: int = 44


def dot_plot(score: ScoreView) -> DotPlot | None:
    """Each debate's panel mean on [0, 1] for one hypothesis version on one scoreboard, where it has several."""
    done = [d for d in score.debate_views if d.mean is not None]
    if len(done) < 2:
        return None

    def x(v: float) -> float:
        return round(10 + 300 * min(1.0, max(0.0, v)), 1)

    means = [d.mean for d in done if d.mean is not None]
    dots = tuple(Dot(x(d.mean or 0.0), f"replicate {d.replicate} ({d.id}): {d.mean:.2f}") for d in done)
    return DotPlot(dots, x(sum(means) / len(means)), x(min(means)), x(max(means)))


# -- rendering ------------------------------------------------------------------------------------


_FILTERS = {**FILTERS, "oneline": oneline, "when": when, "usd": usd, "cached_share": cached_share}
HTML_ENV = environment(TEMPLATES, filters={**_FILTERS, "cite": cite}, globals={"word_diff": word_diff})
MD_ENV = environment(
    TEMPLATES,
    escaping=_md_finalize,
    filters=_FILTERS,
    globals={"md_diff": md_diff, "MdSafe": MdSafe, "md_escape": md_escape},
)


def _context(data: ReportData) -> dict[str, Any]:
    """Charts per scoreboard (a histogram of its ranked scores, a dot plot per hypothesis version with several
    debates): scores from different scoreboards never share a chart."""
    histograms = {r.board.id: histogram([row.score.mean for row in r.rows]) for r in data.rankings}
    plots = {r.board.id: [(row, p) for row in r.rows if (p := dot_plot(row.score)) is not None] for r in data.rankings}
    boards = {r.board.id: r.board for r in data.rankings}
    sizes = {r.board.id: len(r.rows) for r in data.rankings}
    targets = sorted({t for h in data.hypotheses for t in h.targets}, key=str.lower)
    rows = sum(len(r.rows) for r in data.rankings)
    return {
        "shown_ids": frozenset(h.id for h in data.hypotheses),  # hypotheses with a section: their ids link there
        "data": data,
        "histograms": histograms,
        "plots": plots,
        "boards": boards,
        "sizes": sizes,
        "targets": targets,
        "ranked_rows": rows,
    }


def render_html(data: ReportData) -> str:
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    template = HTML_ENV.get_template("report.html.j2")
    return template.render(**_context(data), script=Markup(SCRIPT), script_hash=f"sha256-{digest}")  # noqa: S704


def render_markdown(data: ReportData) -> str:
    return MD_ENV.get_template("report.md.j2").render(**_context(data))
