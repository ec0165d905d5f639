"""The "Related Hypotheses" block, in the seed page's line format, and how it is spliced into a page.

    - [CYP46A1 Overexpression Gene Therapy](/hypothesis/h-2600483e) — <span style="color:#81c784;…">0.79</span> · …

(one line each: `<span style="color:#81c784;font-weight:600">0.79</span> · Target: CYP46A1` after the dash, then
the score's interval in scoring.measured's words, its brackets escaped: `[0.61, 0.90] between 3 debates`).

Titles and target labels are untrusted: HTML-escaped, then every Markdown metacharacter is
backslash-escaped, so a hostile title renders as its own text and links nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from safeio.markdown import escape_inline
from scoring.measured import interval_markdown
from store.related import Related
from store.scoreboards import Board
from store.tournaments import Standing
from wiki.errors import MarkerError

START = "<!-- hypodebate:related:start -->"
END = "<!-- hypodebate:related:end -->"
HEADING = "Related Hypotheses"
SUBHEADING = "From the [SciDEX Exchange](/exchange) — scored by multi-agent debate"
EMPTY = "No hypothesis with a completed debate is linked to this page yet."
DEMO_MARK = "demo"
BANDS: tuple[tuple[float, str], ...] = ((0.7, "#81c784"), (0.5, "#ffd54f"), (0.0, "#e57373"))

BlockStyle = Literal["markdown", "dump"]


def colour(score: float) -> str:
    """The band colour of a score (as rounded for display): green from 0.70, amber from 0.50, else red."""
    value = round(score, 2)
    return next(c for floor, c in BANDS if value >= floor)


def line(h: Related, demo: bool = False) -> str:
    """The seed page's line, then how uncertain the score is (scoring.measured's one wording, as Markdown), and
    `demo` for the embedded model's scores."""
    return (
        f"- [{escape_inline(h.title)}](/hypothesis/{h.id}) — "
        f'<span style="color:{colour(h.score)};font-weight:600">{h.score:.2f}</span>'
        f" · Target: {escape_inline(h.target_label)} · {interval_markdown(h)}" + (f" · {DEMO_MARK}" if demo else "")
    )


def ordering(tournament: Standing) -> str:
    """How a block ordered by ratings says so: `ordered by the ratings of tournament t-…`."""
    demo = " (demo model: these ratings carry no information)" if tournament.board.demo else ""
    return f"ordered by the ratings of tournament {tournament.id}{demo}"


def subtitle(board: Board | None, ordered_by: Standing | None = None) -> str:
    """The block's subtitle: where the scores come from, naming the judge model(s) and the scoreboard, and the
    tournament whose ratings ordered the block (when not ordered by score)."""
    if board is None:
        return SUBHEADING
    judges = ", ".join(escape_inline(m) for m in board.judge_models) or "unknown"
    design = f", {board.design}" if board.design else ""
    text = (
        f"{SUBHEADING} · judge: {judges} · scoreboard {board.id}"
        f" (rubric {board.rubric_hash}, protocol {board.protocol_hash}{design})"
    )
    if board.demo:
        text += " · demo model: these scores carry no information"
    if ordered_by is not None:
        text += f" · {ordering(ordered_by)}"
    return text


def render_block(
    hypotheses: Sequence[Related],
    style: BlockStyle = "dump",
    board: Board | None = None,
    ordered_by: Standing | None = None,
) -> str:
    """The block between (and including) its markers, no trailing newline.

    `dump` is the seed page's bare-line format; `markdown` puts blank lines where Markdown needs them. The lines
    come in the order given (`ordered_by`: the tournament whose ratings decided it, named in the subtitle)."""
    demo = board is not None and board.demo
    items = [line(h, demo) for h in hypotheses] or [EMPTY]
    note = subtitle(board, ordered_by)
    if style == "dump":
        return "\n".join([START, HEADING, note, *items, END])
    return "\n".join([START, f"## {HEADING}", "", note, "", *items, "", END])


def splice(text: str, block: str) -> str:
    """`text` with `block` replacing the marked block, or appended at the end. Every other byte is kept."""
    start, end = text.find(START), text.find(END)
    if start == -1 and end == -1:
        newline = "\r\n" if "\r\n" in text else "\n"
        separator = "" if not text or text.endswith("\n") else newline
        return text + separator + block.replace("\n", newline) + newline
    if start == -1 or end == -1 or end < start:
        raise MarkerError(f"the page has {'an end' if start == -1 else 'a start'} marker without its pair")
    if text.find(START, start + 1) != -1:
        raise MarkerError("the page has more than one Related Hypotheses block")
    newline = "\r\n" if text[start:end].count("\r\n") else "\n"
    return text[:start] + block.replace("\n", newline) + text[end + len(END) :]
