"""The strict JSON loader (safeio.json) that every JSON input goes through: hypothesis JSON Lines, eval rows,
CSL-JSON bibliographies. NaN, infinities and a key written twice are refused in one line naming the file, the
line and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.bibliography import BibliographyError, parse_csl_json
from hypodebate.cli import app
from safeio.json import JsonError, load_json
from store.engine import open_store
from tests.helpers import query_rows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": NaN}', r"x.json:1: a: NaN is not a finite number \(expected a number, or null\)"),
        ('{"a": [1, Infinity]}', r"x.json:1: a.1: Infinity is not a finite number \(expected a number, or null\)"),
        ('{"a": {"b": -Infinity}}', r"x.json:1: a.b: -Infinity is not a finite number"),
        ('[\n  {"a": 1},\n  {"b": 1e400}\n]', r"x.json:3: 1.b: 1e400 is not a finite number"),
        ('{"a": -1.5E+999}', r"x.json:1: a: -1.5E\+999 is not a finite number"),
        ("NaN", r"x.json:1: \(record\): NaN is not a finite number"),
        ('{"a": 1,\n "a": 2}', r"x.json:2: a: duplicate key \(each key may appear once\)"),
        ('{"x": [{"a": 1}, {"b": 1, "b": 2}]}', r"x.json:1: x.1.b: duplicate key \(each key may appear once\)"),
        ('{"ab": 1, "a\\u0062": 2}', r"x.json:1: ab: duplicate key"),  # the same key, escaped
        ('{"a": "x\\"y", "b": {"a": 1}, "a": NaN}', r"x.json:1: a: duplicate key"),  # the first fault in the text
        ('{"a": ' + "1" * 4001 + "}", r"x.json:1: a: a number with more than 4000 digits$"),
        ('{"a": 1,}', r"x.json:1: invalid JSON: Expecting property name enclosed in double quotes at column 9$"),
        ("[" * 100_000 + "]" * 100_000, r"x.json:1: invalid JSON: nested too deeply$"),
    ],
)
def test_the_strict_loader_refuses_what_json_does_not_allow_in_one_line(text: str, expected: str):
    with pytest.raises(JsonError) as caught:
        load_json(text, source="x.json")
    assert re.match(expected, str(caught.value)), str(caught.value)


def test_the_strict_loader_reads_ordinary_json_and_shifts_lines():
    text = '{"a": [1.5, -2e10, 1e308, "NaN", "Infinity"], "NaN": null, "b": {"a": 1}, "c": ' + "9" * 4000 + "}"
    data = load_json(text, source="x.json")
    assert data["a"] == [1.5, -2e10, 1e308, "NaN", "Infinity"] and data["NaN"] is None and data["b"] == {"a": 1}
    with pytest.raises(JsonError) as caught:
        load_json('{"a": NaN}', source="rows.jsonl", line_offset=6)
    assert (caught.value.source, caught.value.line, str(caught.value)) == (
        "rows.jsonl",
        7,
        "rows.jsonl:7: a: NaN is not a finite number (expected a number, or null)",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[{"id": "a", "title": "T",\n  "issued": {"date-parts": [[NaN]]}}]',
            r"x.csl.json:2: 0.issued.date-parts.0.0: NaN is not a finite number \(expected a number, or null\)",
        ),
        ('{"items": [{"id": "a", "volume": Infinity}]}', r"x.csl.json:1: items.0.volume: Infinity is not a finite"),
        (
            '[{"id": "a", "title": "T"},\n {"id": "b", "title": "One", "title": "Two"}]',
            r"x.csl.json:2: 1.title: duplicate key \(each key may appear once\)",
        ),
        ('[{"id": "a", "DOI": "10.1/x", "DOI": "10.1/y"}]', r"x.csl.json:1: 0.DOI: duplicate key"),
    ],
)
def test_csl_json_refuses_nan_infinity_and_duplicate_keys_naming_line_and_field(text: str, expected: str):
    with pytest.raises(BibliographyError) as caught:
        parse_csl_json(text, "x.csl.json")
    assert re.match(expected, str(caught.value)), str(caught.value)


def test_bib_import_refuses_a_csl_file_with_nan_and_stores_nothing(tmp_path: Path):
    good, bad = tmp_path / "good.csl.json", tmp_path / "bad.csl.json"
    good.write_text('[{"id": "a", "title": "A paper", "DOI": "10.1000/a"}]', encoding="utf-8")
    bad.write_text('[{"id": "b", "title": "B paper",\n  "issued": {"date-parts": [[2001, NaN]]}}]', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'b.db'}"
    (tmp_path / "config.yaml").write_text("{}\n", encoding="utf-8")
    args = ["bib", "import", str(good), str(bad), "--db", db, "--config", str(tmp_path / "config.yaml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert (
        result.stderr
        == f"error: {bad}:2: 0.issued.date-parts.0.1: NaN is not a finite number (expected a number, or null)\n"
    )
    open_store(db).close()  # migrated, so that the table exists to be counted
    assert [tuple(r) for r in query_rows(db, "select count(*) from bib_entries")] == [(0,)]
