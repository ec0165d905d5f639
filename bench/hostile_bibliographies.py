"""Hostile bibliographies: a BibTeX macro bomb, a RIS field continued over many lines, accent-heavy LaTeX.

    .venv/bin/python bench/hostile_bibliographies.py
    .venv/bin/python bench/hostile_bibliographies.py --lines 40000 120000 400000 --rispy-up-to 400000

- The bomb: `@string{s0 = "xxxxxxxxxxxxxxxx"}` and 39 lines `@string{sN = sN-1 # sN-1}` (1 KB; 2**39 * 16
  characters if expanded), read by `read_bibliography` in a subprocess under a 3 GB address-space limit: its time
  to the refusal and its peak resident memory, beside a subprocess that reads a one-entry file.
- RIS: one record whose abstract continues over N lines of 15 characters, read by `parse_ris` (refused: the
  abstract passes 20,000 characters, or the field passes 1,000,000). "rispy.loads" is what the reader did before
  issue 23, joining each line onto the text before it, timed up to `--rispy-up-to` lines.
- LaTeX: 40 entries with a 15,000-character abstract of accents, escapes, braces and dashes: `parse_bibtex` now,
  and pylatexenc alone on the same abstracts (every value with LaTeX went through it before issue 23).

Before issue 23, on the 2-core machine of the issue: the bomb took 5.3 s and 2,095 MB to a MemoryError (under a
3 GB limit; without one, until the kernel killed something); RIS took 1.0 s at 40k lines, 6.8 s at 120k and
184.8 s at 400k; the LaTeX file read at 46 KB/s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import rispy
from rich.console import Console
from rich.table import Table

from evidence.bibliography import BibliographyError, parse_bibtex, parse_ris
from evidence.bibliography.bibtex import _decode, _decoder
from evidence.bibliography.entry import MAX_ABSTRACT

REPO = Path(__file__).resolve().parents[1]
MEASURE = """
import resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from evidence.bibliography import BibliographyError, read_bibliography
start = time.perf_counter()
try:
    read_bibliography(Path(sys.argv[1]))
    outcome = "read"
except BibliographyError as exc:
    outcome = str(exc).split(": ", 1)[1]
except MemoryError:
    outcome = "MemoryError"
seconds = time.perf_counter() - start
print(f"{seconds}\\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}\\t{outcome}")
"""
ACCENTED = ['M{\\"u}ller', "r\\'esum\\'e", "Stra{\\ss}er", 'na\\"ive', "caf\\'e", '{\\AA}ngstr{\\"o}m', "50\\%", "1--2"]


def bomb(strings: int = 40) -> str:
    doubled = "".join(f"@string{{s{n} = s{n - 1} # s{n - 1}}}\n" for n in range(1, strings))
    return f'@string{{s0 = "xxxxxxxxxxxxxxxx"}}\n{doubled}@article{{a, title = {{Fine}}}}\n'


def in_subprocess(path: Path) -> tuple[float, float, str]:
    """Seconds, peak resident MB and outcome of `read_bibliography(path)` in a fresh interpreter."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=REPO, timeout=600, check=True
    )
    seconds, megabytes, outcome = run.stdout.strip().split("\t", 2)
    return float(seconds), float(megabytes), outcome


def ris(lines: int) -> str:
    return (
        "TY  - JOUR\nID  - long1\nTI  - A title\nAB  - Start of the abstract\n"
        + "continued text.\n" * lines
        + ("ER  - \n")
    )


def timed(action: Callable[[], object], runs: int = 1) -> tuple[float, str]:
    """The least seconds of `runs` runs, and what the action gave: "read", or its error after file and entry."""
    times, outcome = [], "read"
    for _ in range(runs):
        start = time.perf_counter()
        try:
            action()
        except BibliographyError as exc:
            outcome = str(exc).split(": ", 2)[2]
        times.append(time.perf_counter() - start)
    return min(times), outcome


def clipped(text: str, width: int = 70) -> str:
    return text if len(text) <= width else f"{text[:width]}..."


def table(title: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    out = Table(title=title, title_justify="left", min_width=100)
    for column in columns:
        out.add_column(column, justify="left" if column in left else "right")
    return out


def bomb_table() -> Table:
    with tempfile.TemporaryDirectory() as folder:
        small, big = Path(folder) / "one.bib", Path(folder) / "bomb.bib"
        small.write_text("@article{a, title = {Fine}}\n", encoding="utf-8")
        big.write_text(bomb(), encoding="utf-8")
        base, bombed, size = in_subprocess(small), in_subprocess(big), big.stat().st_size
    out = table(
        "BibTeX macro bomb, read in a subprocess", ("file", "seconds", "peak MB", "outcome"), ("file", "outcome")
    )
    out.add_row("one entry", f"{base[0]:.3f}", f"{base[1]:.0f}", base[2])
    out.add_row(f"bomb ({size:,} bytes)", f"{bombed[0]:.3f}", f"{bombed[1]:.0f}", clipped(bombed[2]))
    return out


def ris_table(sizes: list[int], rispy_up_to: int) -> Table:
    columns = ("lines", "MB", "parse_ris s", "µs per line", "rispy.loads s", "outcome")
    out = table("RIS: one abstract over N continuation lines of 15 characters", columns, ("outcome",))
    for lines in sizes:
        text = ris(lines)
        seconds, outcome = timed(lambda text=text: parse_ris(text, "long.ris"), runs=3)
        before = f"{timed(lambda text=text: rispy.loads(text))[0]:.2f}" if lines <= rispy_up_to else "-"
        per_line = f"{seconds / lines * 1e6:.1f}"
        out.add_row(f"{lines:,}", f"{len(text) / 1e6:.1f}", f"{seconds:.2f}", per_line, before, clipped(outcome))
    return out


def latex_table() -> Table:
    abstract = " ".join(ACCENTED[i % len(ACCENTED)] for i in range(1580))  # whole words: braces balance
    text = "".join(f"@article{{k{i}, title = {{T{i}}}, abstract = {{{abstract}}}}}\n" for i in range(40))
    title = f"LaTeX: 40 entries, each an abstract of {len(abstract):,} characters of accents ({len(text) / 1e3:.0f} KB)"
    out = table(title, ("what", "seconds", "KB/s"), ("what",))
    seconds, outcome = timed(lambda: parse_bibtex(text, "accents.bib"), runs=3)
    out.add_row(f"parse_bibtex, the whole file ({outcome})", f"{seconds:.2f}", f"{len(text) / seconds / 1e3:.0f}")
    rows = [
        ("_decode on the abstracts (now)", lambda: _decode(abstract, "x", MAX_ABSTRACT), 3),
        ("pylatexenc on the abstracts (before issue 23)", lambda: _decoder().latex_to_text(abstract), 1),
    ]
    for what, decode, runs in rows:
        seconds = timed(lambda decode=decode: [decode() for _ in range(40)], runs=runs)[0]
        out.add_row(what, f"{seconds:.2f}", f"{40 * len(abstract) / seconds / 1e3:.0f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[40_000, 120_000, 400_000])
    parser.add_argument("--rispy-up-to", type=int, default=120_000, help="time rispy.loads up to this many lines")
    args = parser.parse_args()
    console = Console(width=max(120, Console().width))
    for made in (bomb_table(), ris_table(args.lines, args.rispy_up_to), latex_table()):
        console.print(made)


if __name__ == "__main__":
    main()
