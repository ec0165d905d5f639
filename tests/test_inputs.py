"""Bad hypothesis files: one clear line naming the file, the place, the field and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from debates.inputs import InputError, load_hypotheses
from debates.runner import hypothesis_record
from hypodebate.cli import app
from store.engine import open_store
from store.repository import upsert_hypotheses
from tests.helpers import EXAMPLE

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
}


def test_every_bad_input_has_an_expectation():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_gives_one_clear_error(name):
    with pytest.raises(InputError, match=EXPECTED[name]) as caught:
        load_hypotheses([BAD / name])
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(BAD / name))


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


def _dump(db: str) -> list:
    with create_engine(db).connect() as c:
        return [c.execute(text(f"select * from {t}")).all() for t in ("hypotheses", "evidence", "batches", "debates")]
