"""Bad hypothesis files: one clear line naming the file, the place, the field and the expectation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

import safeio.yaml
from debates.inputs import InputError, load_hypotheses
from debates.rows import hypothesis_record
from hypodebate.cli import app
from safeio.yaml import YamlError, load_yaml
from store.engine import open_store
from store.repository import upsert_hypotheses
from tests.helpers import EXAMPLE, TWO, debater_server

BAD = Path(__file__).with_name("bad_inputs")

EXPECTED = {
    "broken_yaml.yaml": r"broken_yaml.yaml:\d+: invalid YAML",
    "broken_json.jsonl": r"broken_json.jsonl:2: invalid JSON",
    "missing_field.yaml": r"missing_field.yaml:2 \(hypothesis 1\) 'Missing mechanism': mechanism: required field",
    "wrong_type.yaml": r"wrong_type.yaml:2 \(hypothesis 1\) 'Wrong type': evidence: Input should be a valid list",
    "unknown_key.yaml": r"unknown_key.yaml:2 \(hypothesis 1\) 'Unknown key': score: unknown field \(expected id, title",
    "bad_citation.yaml": r"evidence.0.citation: Value error, expected a PMID \(PMID:12345\), a DOI",
    "duplicate_id.yaml": r"duplicate_id.yaml:6 \(hypothesis 2\): duplicate hypothesis id h-2600483e \(first at .*:2",
    "empty.yaml": r"empty.yaml: empty file, expected hypotheses",
    "binary.yaml": r"binary.yaml(:\d+)?: (binary file|not UTF-8)",
    "latin1.yaml": r"latin1.yaml:2: not UTF-8 text \(byte 0xe9\)",
    "bad_id.yaml": r"id: Value error, expected 'h-' followed by 8 lowercase hex digits",
    "bad_target.yaml": r"targets: Value error, 'SIRT 1 \(sirtuin\)' is not a gene or protein symbol",
    "wrong_top_key.yaml": r"wrong_top_key.yaml:1: unknown top-level key\(s\) \['items'\]",
    "not_mapping.yaml": r"not_mapping.yaml:1 \(hypothesis 1\): expected a mapping",
    "no_list.txt": r"no_list.txt: unknown file type '.txt'",
    "huge_field.yaml": r"mechanism: String should have at most 4000 characters",
    "second_record_bad.yaml": r"second_record_bad.yaml:5 \(hypothesis 2\): title: String should have at least 3",
    "bad_stance.yaml": r"evidence.0.stance: Input should be 'for' or 'against' \(got 'maybe'\)",
    "wrong_type_targets.jsonl": r"wrong_type_targets.jsonl:1 'Wrong targets': targets: Input should be a valid list",
    "array_line.jsonl": r"array_line.jsonl:1: expected a mapping",
    "utf16_bom.yaml": r"utf16_bom.yaml: UTF-16 or UTF-32 text, expected UTF-8",
    "anchor_bomb.yaml": r"anchor_bomb.yaml:2 \(hypothesis 1\) 'Anchor bomb': mechanism: Input should be a valid str",
    "recursive_anchor.yaml": r"recursive_anchor.yaml:5: invalid YAML: nested too deeply \(more than 64 levels",
    "deep_nesting.yaml": r"deep_nesting.yaml:1: invalid YAML: nested too deeply \(at most 64 levels\)",
    "deep_nesting.jsonl": r"deep_nesting.jsonl:1: invalid JSON: nested too deeply",
    "huge_number.yaml": r"huge_number.yaml:5: invalid YAML: a number with more than 4000 digits",
    "huge_number.jsonl": r"huge_number.jsonl:1: diseases: a number with more than 4000 digits$",
    "tabs.yaml": r"tabs.yaml:2: invalid YAML: found character '\\t' that cannot start any token",
    "control_char.yaml": r"control_char.yaml:2: invalid YAML: character #x0007 is not allowed",
    "multiple_documents.yaml": r"multiple_documents.yaml:2: invalid YAML: but found another document \(expected",
    "trailing_garbage.jsonl": r"trailing_garbage.jsonl:2: invalid JSON: Extra data at column 89",
    "duplicate_key.yaml": r"duplicate_key.yaml:5: hypotheses.0.title: duplicate key \(each key may appear once\)",
    "duplicate_key.jsonl": r"duplicate_key.jsonl:1: title: duplicate key \(each key may appear once\)$",
    "nested_duplicate_key.jsonl": r"nested_duplicate_key.jsonl:1: evidence.0.claim: duplicate key \(each key",
    "nan_value.jsonl": r"nan_value.jsonl:2: mechanism: NaN is not a finite number \(expected a number, or null\)$",
    "infinity_evidence.jsonl": r"infinity_evidence.jsonl:1: evidence.0.claim: -Infinity is not a finite number",
    "overflow_number.jsonl": r"overflow_number.jsonl:1: diseases.0: 1e999 is not a finite number \(expected",
    "nan_value.yaml": r"nan_value.yaml:4: hypotheses.0.mechanism: .nan is not a finite number \(expected a number, or",
    "infinity_value.yaml": r"infinity_value.yaml:5: hypotheses.0.diseases.1: -.Inf is not a finite number",
    "overflow_float.yaml": r"overflow_float.yaml:5: hypotheses.0.diseases.0: 1.0e\+999 is not a finite number",
    "null_title.yaml": r"null_title.yaml:2 \(hypothesis 1\): title: Input should be a valid string \(got None\)",
    "numeric_title.yaml": r"numeric_title.yaml:2 \(hypothesis 1\): title: Input should be a valid string \(got 12345\)",
    "long_title.yaml": r"long_title.yaml:2 \(hypothesis 1\): title: String should have at most 300 characters",
    "evidence_not_mapping.yaml": r"'Evidence as strings': evidence.0: Input should be a valid dictionary",
    "unknown_evidence_key.yaml": r"evidence.0.url: unknown field \(expected claim, citation, stance\)",
    "duplicate_target.yaml": r"'Twice the target': targets: Value error, a target is listed twice",
    "bad_page_slug.yaml": r"pages: Value error, 'My Wiki Page' is not a page slug",
    "list_of_scalars.json": r"list_of_scalars.json:1 \(hypothesis 1\): expected a mapping .*, got integer",
    "null_hypotheses.yaml": r"null_hypotheses.yaml:1: expected a list of hypotheses, got null",
    "hypotheses_mapping.yaml": r"hypotheses_mapping.yaml:1: expected a list of hypotheses, got mapping",
    "comments_only.yaml": r"comments_only.yaml:1: expected a list of hypotheses, got null",
    "empty_list.yaml": r"empty_list.yaml: no hypotheses found",
    "too_many_evidence.yaml": r"evidence: List should have at most 50 items",
    "boolean_target.jsonl": r"boolean_target.jsonl:1 'Boolean target': targets.0: Input should be a valid string",
    "jsonl_string_line.jsonl": r"jsonl_string_line.jsonl:1: expected a mapping .*, got string",
}


def test_every_bad_input_has_an_expectation():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_gives_one_clear_error(name):
    with pytest.raises(InputError, match=EXPECTED[name]) as caught:
        load_hypotheses([BAD / name])
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(BAD / name))


def test_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: 60 MB on paper, nothing on disk
        handle.truncate(60 * 2**20)
    with pytest.raises(InputError, match=r"huge.yaml: file is larger than 50 MB") as caught:
        load_hypotheses([path])
    assert str(caught.value).startswith(str(path))


def test_missing_file():
    with pytest.raises(InputError, match=r"nope.yaml: file not found"):
        load_hypotheses([BAD / "nope.yaml"])


def test_example_batch_is_valid_and_holds_the_seed_hypotheses():
    hypotheses = load_hypotheses([EXAMPLE])
    assert len(hypotheses) >= 12
    by_id = {h.hypothesis_id: h for h in hypotheses}
    assert by_id["h-2600483e"].title == "CYP46A1 Overexpression Gene Therapy"
    assert by_id["h-e7e1f943"].label == "NLRP3, CASP1, IL1B, PYCARD"
    assert by_id["h-e7e1f943"].targets == ["NLRP3", "CASP1", "IL1B", "PYCARD"]
    assert by_id["h-0758b337"].targets == ["P2RY1", "P2RX7"]
    assert by_id["h-9e9fee95"].label == "HCRTR1/HCRTR2"
    citations = {e.citation for h in hypotheses for e in h.evidence}
    assert {"@shi2010", "@aggarwal2005", "@crigler2007", "@sadan2012"} <= citations


def test_ids_derive_from_content(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(
        '{"title": "SIRT1 activation", "targets": "SIRT1", "mechanism": "SIRT1 deacetylates PGC-1alpha."}\n'
    )
    first = load_hypotheses([path])[0].hypothesis_id
    path.write_text('{"title": "SIRT1 activation", "targets": "SIRT1", "mechanism": "SIRT1 deacetylates p53."}\n')
    assert first.startswith("h-") and len(first) == 10
    assert load_hypotheses([path])[0].hypothesis_id != first


def test_cli_rejects_bad_input_with_exit_2_and_leaves_the_database_as_it_was(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    sessions = open_store(db)
    with sessions() as session:
        upsert_hypotheses(session, [hypothesis_record(h) for h in load_hypotheses([EXAMPLE])[:3]])
        session.commit()
    before = _dump(db)
    result = CliRunner().invoke(app, ["run", str(BAD / "second_record_bad.yaml"), "--db", db])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ") and "second_record_bad.yaml:5 (hypothesis 2)" in result.stderr
    assert _dump(db) == before


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list]:
    """A database that already holds hypotheses (and an empty config, so only the input can be at fault)."""
    folder = tmp_path_factory.mktemp("filled")
    db = f"sqlite:///{folder / 'x.db'}"
    sessions = open_store(db)
    try:
        with sessions() as session:
            upsert_hypotheses(session, [hypothesis_record(h) for h in load_hypotheses([EXAMPLE])[:3]])
            session.commit()
    finally:
        sessions.close()
    config = folder / "config.yaml"
    config.write_text("{}\n")
    return db, config, _dump(db)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_rejects_every_bad_input_in_one_line_and_writes_nothing(name, filled):
    db, config, before = filled
    result = CliRunner().invoke(app, ["run", str(BAD / name), "--db", db, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {BAD / name}"), result.stderr
    assert re.search(EXPECTED[name], lines[0])
    assert result.stdout == ""
    assert _dump(db) == before


def _dump(db: str) -> list:
    with create_engine(db).connect() as c:
        return [c.execute(text(f"select * from {t}")).all() for t in ("hypotheses", "evidence", "batches", "debates")]


@pytest.mark.parametrize("char", ["\u0085", "\u009b", "\u001b", "\u202e", "\u2066"])  # BiDi overrides too
def test_control_characters_in_text_are_refused_with_the_field(tmp_path: Path, char: str):
    path = tmp_path / "c.jsonl"
    record = {"title": f"SIRT1{char}]52;c;payload", "targets": "SIRT1", "mechanism": "SIRT1 deacetylates PGC-1alpha."}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"c.jsonl:1: title: .*control character U\+{ord(char):04X}"):
        load_hypotheses([path])


# --- the guarded YAML loader (safeio.yaml), shared by hypothesis files, front matter and config ---


def _merge_levels(levels: int) -> str:
    """Each level merges the previous one twice: PyYAML 6.0.3 copied 2**levels keys, 6.0.4 copies each once."""
    lines = ["a0: &a0 {k0: 0}"]
    lines += [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], k{i}: {i}}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_nested_merge_keys_copy_each_merged_key_once(monkeypatch: pytest.MonkeyPatch):
    sizes: list[int] = []
    flatten = yaml.constructor.SafeConstructor.flatten_mapping

    def counting(self, node):  # type: ignore[no-untyped-def]
        flatten(self, node)
        sizes.append(len(node.value))

    monkeypatch.setattr(yaml.constructor.SafeConstructor, "flatten_mapping", counting)
    data = load_yaml(_merge_levels(16), source="merge.yaml")
    assert data["a15"] == {f"k{i}": i for i in range(16)}
    assert max(sizes) <= 16  # 6.0.3: 32,767 pairs in the last mapping (exponential in the levels)


def test_twenty_five_levels_of_merge_keys_load():
    data = load_yaml(_merge_levels(25), source="merge.yaml")
    assert len(data["a24"]) == 25 and data["a24"]["k0"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x: " + "1" * 5000 + "\n", r"^m.yaml:1: invalid YAML: a number with more than 4000 digits$"),
        ("".join(" " * i + f"k{i}:\n" for i in range(2_000)), r"^m.yaml:\d+: invalid YAML: nested too deeply"),
        ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", r"^m.yaml:1: invalid YAML: nested too deeply"),
        ("a: &a [*a]\n", r"^m.yaml:1: invalid YAML: nested too deeply \(more than 64 levels, counting aliases\)$"),
        ("when: 2001-13-45\n", r"^m.yaml: invalid YAML: month must be in 1..12$"),
        ("x: !!python/object:os.system {}\n", r"^m.yaml:1: invalid YAML: could not determine a constructor"),
        ("a: 1\nb:\n  c: 2\n  c: 3\n", r"^m.yaml:4: b.c: duplicate key \(each key may appear once\)$"),
        ("a: 1\nb: [1.5, .NaN]\n", r"^m.yaml:2: b.1: .NaN is not a finite number \(expected a number, or null\)$"),
        ("a: !!float inf\n", r"^m.yaml:1: a: inf is not a finite number \(expected a number, or null\)$"),
        ("a: -.inf\n", r"^m.yaml:1: a: -.inf is not a finite number"),
        (".inf\n", r"^m.yaml:1: \(document\): .inf is not a finite number"),
        ("a: 1_0.0e+999\n", r"^m.yaml:1: a: 1_0.0e\+999 is not a finite number"),
        ("a: 1\n---\nb: 2\n", r"^m.yaml:2: invalid YAML: but found another document"),
        ("a:\n\tb: 1\n", r"^m.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
        ("a: \x07\n", r"^m.yaml:1: invalid YAML: character #x0007 is not allowed"),
    ],
)
def test_guarded_loader_gives_one_line_with_the_place_never_a_traceback(text: str, expected: str):
    with pytest.raises(YamlError) as caught:
        load_yaml(text, source="m.yaml")
    assert re.search(expected, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_guarded_loader_caps_size_and_shifts_lines_for_front_matter():
    with pytest.raises(YamlError, match=r"^page.md: larger than 1,000 bytes$"):
        load_yaml("x: " + "y" * 1000, source="page.md", max_bytes=1000)
    with pytest.raises(YamlError, match=r"^page.md: larger than 1,000 bytes$"):  # bytes, not characters
        load_yaml("x: " + "é" * 600, source="page.md", max_bytes=1000)
    with pytest.raises(YamlError) as caught:  # front matter starts on line 2, after its '---'
        load_yaml("slug: a\nslug: b\n", source="page.md", line_offset=1)
    assert (caught.value.source, caught.value.line, str(caught.value)) == (
        "page.md",
        3,
        "page.md:3: slug: duplicate key (each key may appear once)",
    )
    with pytest.raises(YamlError, match=r"^page.md:3: x: duplicate key"):
        load_yaml("a: 1\nx: 1\nx: 2\n", source="page.md", max_depth=2)
    with pytest.raises(YamlError, match=r"^page.md:1: invalid YAML: nested too deeply \(more than 2 levels"):
        load_yaml("a: {b: 1}\n", source="page.md", max_depth=2)


def test_guarded_loader_uses_libyaml_where_pyyaml_has_it():
    assert yaml.__with_libyaml__ == safeio.yaml.WITH_LIBYAML


class _CountingLoader(safeio.yaml._Loader):  # type: ignore[misc,name-defined]
    texts: ClassVar[list[str]] = []  # every text parsed

    def __init__(self, stream: str) -> None:
        type(self).texts.append(stream)
        super().__init__(stream)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingLoader]:
    monkeypatch.setattr(_CountingLoader, "texts", [])
    monkeypatch.setattr(safeio.yaml, "_Loader", _CountingLoader)
    return _CountingLoader


def test_a_hypothesis_file_is_parsed_once_and_errors_still_name_the_line(counted, tmp_path: Path):
    assert len(load_hypotheses([EXAMPLE])) >= 12
    assert counted.texts == [EXAMPLE.read_text(encoding="utf-8")]
    with pytest.raises(InputError, match=r"second_record_bad.yaml:5 \(hypothesis 2\): title"):
        load_hypotheses([BAD / "second_record_bad.yaml"])
    assert len(counted.texts) == 2


def test_run_reads_its_input_once(counted, tmp_path: Path):
    server = debater_server()
    path = tmp_path / "two.yaml"
    path.write_text(TWO, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-x"}
    args = ["run", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}", "--config", str(config)]
    try:
        result = CliRunner().invoke(app, [*args, "--rounds", "1", "--judges", "2"], env=env)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "2 debated, 0 failed" in result.stderr
    assert counted.texts.count(TWO) == 1  # before: twice (once to check the input, once to run it)


def test_an_id_with_a_trailing_newline_is_refused(tmp_path: Path):
    path = tmp_path / "newline.jsonl"
    record = {"id": "h-2600483e\n", "title": "SIRT1 activation", "targets": "SIRT1", "mechanism": "SIRT1 acts."}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"newline.jsonl:1 'SIRT1 activation': id: Value error, expected 'h-'"):
        load_hypotheses([path])
    yaml_path = tmp_path / "newline.yaml"
    yaml_path.write_text('hypotheses:\n  - id: "h-2600483e\\n"\n    title: SIRT1 activation\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"newline.yaml:2 \(hypothesis 1\) 'SIRT1 activation': id: Value error"):
        load_hypotheses([yaml_path])


def test_show_refuses_an_id_with_a_trailing_newline(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'x.db'}"
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    result = CliRunner().invoke(app, ["show", "h-2600483e\n", "--db", db, "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: 'h-2600483e\\n': not a hypothesis id ('h-' and 8 lowercase hex digits), a gap id ('g-' and 8) or a "
        "page slug (lower-case letters, digits, '-' and '_')\n"
    )


def test_without_libyaml_the_same_documents_give_one_line_errors(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(safeio.yaml, "_Loader", yaml.SafeLoader)  # PyYAML built without libyaml
    for document, expected in [
        ("a: \x07\n", r"^m.yaml:1: invalid YAML: character #x0007 is not allowed"),
        ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", r"^m.yaml: invalid YAML: nested too deeply"),
        ("x: " + "1" * 5000 + "\n", r"^m.yaml:1: invalid YAML: a number with more than 4000 digits$"),
        ("a:\n\tb: 1\n", r"^m.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
    ]:
        with pytest.raises(YamlError, match=expected):
            load_yaml(document, source="m.yaml")
    assert load_yaml("hypotheses: [{title: x}]\n", source="m.yaml") == {"hypotheses": [{"title": "x"}]}
