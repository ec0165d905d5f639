"""Hostile bibliographies: a macro bomb, a record continued over many lines, huge keys and names. Each is refused
as one short line, in bounded memory and time, and nothing of the file is returned; normal files read as before.
Speed is measured in `bench/hostile_bibliographies.py`, not here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence.bibliography import BibliographyError, Entry, parse_bibtex, parse_ris
from evidence.bibliography.bibtex import _decode, _decoder
from hypodebate.cli import app
from tests.test_bibliography import error_of, write

REPO = Path(__file__).resolve().parents[1]
LIMIT = "expanding macros passes the limit of 41943040 characters (a file's @string and field values together)"


def bomb(strings: int, entry: str = "@article{a, title = {Fine}}") -> str:
    """`strings` @string macros, each twice the one before: s0 is 16 characters, sN 16 * 2**N."""
    doubled = "".join(f"@string{{s{n} = s{n - 1} # s{n - 1}}}\n" for n in range(1, strings))
    return f'@string{{s0 = "xxxxxxxxxxxxxxxx"}}\n{doubled}{entry}\n'


# --- BibTeX macros: expanded only when used, and never past one budget per file ----------------------------------

# in its own process with 2 GB of address space: a regression ends in a MemoryError, not the kernel killing something
BOMB_UNDER_A_MEMORY_LIMIT = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from evidence.bibliography import BibliographyError, read_bibliography
try:
    read_bibliography(Path(sys.argv[1]))
except BibliographyError as exc:
    print(exc)
"""


def test_a_one_kilobyte_macro_bomb_is_refused_at_the_macro_that_passes_the_limit(tmp_path):
    path = write(tmp_path, "bomb.bib", bomb(40))
    assert path.stat().st_size < 1100  # 2**39 * 16 characters if expanded
    run = subprocess.run(
        [sys.executable, "-c", BOMB_UNDER_A_MEMORY_LIMIT, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == f"{path}: @string 's21' (line 22): {LIMIT}\n"


def test_a_field_that_expands_past_the_limit_is_refused_naming_entry_and_field(tmp_path):
    path = write(tmp_path, "field.bib", bomb(21, "@article{a,\n  doi = s20 # s20 # s20\n}"))
    assert error_of(path) == f"{path}: entry 'a' (line 22): doi: {LIMIT}"


def test_macros_below_the_limit_read_as_before_whether_used_or_not():
    used = "@article{a, title = s0 # { and more}, journal = s4, abstract = c2999}"
    chain = "".join(f'@string{{c{n} = c{n - 1} # "x"}}\n' for n in range(1, 3000))  # each one longer
    (entry,) = parse_bibtex('@string{c0 = "x"}\n' + chain + bomb(20, used), "fine.bib")
    assert entry.title == "xxxxxxxxxxxxxxxx and more"
    assert entry.abstract == "x" * 3000
    with pytest.raises(BibliographyError, match=r"^fine.bib: entry 'a' \(line 3021\): journal: longer than 500 "):
        parse_bibtex('@string{c0 = "x"}\n' + chain + bomb(20, used.replace("s4", "s8")), "fine.bib")


# --- RIS: continuation lines joined in linear time, and a field of absurd length refused ---------------------------


def test_a_ris_field_longer_than_the_limit_is_one_line_naming_entry_tag_and_line(tmp_path):
    text = "TY  - JOUR\nTI  - A title\nAB  - Start\n" + "continued text.\n" * 70_000 + "ID  - long1\nER  - \n"
    path = write(tmp_path, "long.ris", text)
    assert error_of(path) == (
        f"{path}: entry 'long1' (line 1): AB (line 3): longer than 1000000 characters with its continuation lines"
    )


def test_ris_continuation_lines_join_as_rispy_joined_them():
    text = (
        "TY  - JOUR\nID  - v1\nTI  - First\nTI  - Second\nmore of the title\nAU  - Doe, J\nRoe, R\n"
        "AB  - one\n  two  \n\nthree\nUR  - ftp://x; https://example.org/a\nPY  - 2001\nER  - \n"
    )
    (entry,) = parse_ris(text, "v.ris")
    assert entry == Entry(
        key="v1",
        title="First more of the title",  # a repeated tag's continuation extends the first value
        authors=("Doe, J", "Roe, R"),  # AU is a list: a continuation line is the next name
        year=2001,
        url="https://example.org/a",
        abstract="one two three",
        source="v.ris",
    )
    (many,) = parse_ris("TY  - JOUR\nAB  - a\n" + "b\n" * 5000 + "ER  - \n", "many.ris")
    assert many.abstract == "a" + " b" * 5000


def test_a_line_right_after_ty_is_left_out_rather_than_crashing():
    text = "TY  - JOUR\nID  - a\nAB  - x\nER  - \nTY  - JOUR\nstray line\nID  - b\nER  - \n"
    assert [(e.key, e.abstract) for e in parse_ris(text, "w.ris")] == [("a", "x"), ("b", None)]


# --- every echoed value is clipped -------------------------------------------------------------------------------

HUGE = "K" * 100_000


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("key.bib", f"@article{{{HUGE}, title = {{T}}}}\n", "key.bib: entry 'KKKK"),
        (
            "macro.bib",
            f"@article{{a, journal = {HUGE}}}\n",
            "macro.bib: entry 'a' (line 1): journal: undefined @string",
        ),
        ("field.bib", f"@article{{a, {HUGE} = {{x}}, {HUGE} = {{y}}}}\n", "field.bib: entry 'a' (line 1): field KKK"),
        ("case.bib", f"@article{{a, {HUGE} = {{x}}, {HUGE.lower()} = {{y}}}}\n", "case.bib: entry 'a' (line 1): field"),
        ("dangling.bib", f"@article{{a, title = {{T}}, {HUGE}}}\n", "dangling.bib: entry 'a' (line 1): not valid"),
        ("string.bib", f"@string{{{HUGE} = {{x}}}}\n@string{{{HUGE} = {{y}}}}\n", "string.bib: @string 'KKK"),
        ("name.bib", f"@article{{a, author = {{{HUGE}, a, b, c}}}}\n", "name.bib: entry 'a' (line 1): author.1: "),
        ("id.ris", f"TY  - JOUR\nID  - {HUGE}\nDO  - nonsense\nER  - \n", "id.ris: entry 'KKK"),
        ("id.json", f'[{{"id": "{HUGE}", "DOI": "nonsense"}}]', "id.json: entry 'KKK"),
    ],
    ids=["key", "macro", "field-twice", "field-case", "parser-reason", "string-twice", "name", "ris-id", "csl-id"],
)
def test_every_echoed_value_is_clipped(tmp_path, name, text, expected):
    message = error_of(write(tmp_path, name, text))
    assert message.startswith(f"{tmp_path / expected}")
    assert "..." in message
    assert len(message) < len(str(tmp_path)) + 400


# --- LaTeX: values with only accents, escapes, braces, dashes and quotes skip pylatexenc, to the same text -------
# (before: pylatexenc for any value with a LaTeX character, the value itself otherwise)

PIECES = [
    *("a", "u", "I", "x", "é", "ü", "1", ",", " ", "  ", "\n", "\t", "'", "-", "!", "?", "#", "_", "^"),
    *("\\", "{", "}", "`", '"', "~", "=", ".", "&", "$", "%", "c", "v", "ss", "AA", "\\i", "\\ss", "\\v", "\\c"),
    *('{\\"u}', '\\"{o}', "\\'{\\i}", "\\'e", "\\v{c}", "\\c{c}", "\\H{o}", "\\d{x}", "\\u{Z}", "\\r{a}", "\\k{e}"),
    *("\\b{b}", "\\=a", "\\.z", "\\~n", "\\^e", "\\`a", "{\\o}", "{\\ss}", "{\\AA}", "\\&", "\\%", "\\$", "\\#"),
    *("\\_", "\\{", "\\}", "---", "--", "''", "``", "~"),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=16))
def test_latex_decoding_gives_what_it_gave_before(pieces):
    value = "".join(pieces)
    before = _decoder().latex_to_text(value) if re.search(r"[\\{}$~%]|--|``|''", value) else value
    assert _decode(value, "x.bib: entry 'a' (line 1): title", 1000) == before


# --- a large import says what it is reading before it reads it -----------------------------------------------------


def test_bib_import_announces_a_large_file_before_reading_it(tmp_path):
    entry = "@article{{k{n}, title = {{Caf{{\\'e}} and na{{\\\"i}}ve T cells}}, year = 2001, abstract = {{{text}}}}}\n"
    bib = tmp_path / "large.bib"
    bib.write_text("".join(entry.format(n=n, text="x" * 1500) for n in range(700)), encoding="utf-8")
    small = tmp_path / "small.bib"
    small.write_text(entry.format(n=1, text="short"), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    args = ["bib", "import", str(bib), str(small), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"reading {bib} (1.1 MB) ..." in result.stderr
    assert "small.bib" not in result.stderr.split("imported")[0]  # a small file is read without a word
    assert "700 entries (700 added" in result.stdout
