"""Properties, checked on generated values: input parsing round-trips and never crashes; scoring stays in bounds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debates.hypotheses import SLUG, SYMBOL, Evidence, Hypothesis, split_targets
from debates.inputs import InputError, load_hypotheses
from scoring.composite import composite, panel
from scoring.rubric import Rubric

IO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=200, deadline=None)

# any character a UTF-8 file can hold (no lone surrogates), but control characters: input refuses those
CHARS = st.characters(blacklist_categories=("Cs", "Cc"))


def stripped(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(CHARS, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: min_size <= len(s) <= max_size)
    )


symbols = st.from_regex(SYMBOL, fullmatch=True)  # "X-and-Y" stays one symbol: only " and " separates
citations = st.sampled_from(["PMID:12345", "10.1038/nn.4125", "@shi2010", "NCT01234567", "https://example.org/a"])
evidence = st.builds(
    Evidence,
    claim=stripped(3, 200),
    citation=st.none() | citations,
    stance=st.sampled_from(["for", "against"]),
)
hypotheses = st.builds(
    Hypothesis,
    id=st.none() | st.from_regex(r"\Ah-[0-9a-f]{8}\Z"),
    title=stripped(3, 300),
    targets=st.lists(symbols, min_size=1, max_size=6, unique=True),
    target_label=st.none() | stripped(1, 40),
    mechanism=stripped(10, 400),
    diseases=st.lists(stripped(2, 40), max_size=3),
    evidence=st.lists(evidence, max_size=3),
    pages=st.lists(st.from_regex(SLUG, fullmatch=True).filter(lambda s: len(s) < 60), max_size=3),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _record(h: Hypothesis) -> dict[str, Any]:
    return h.model_dump(mode="json", exclude_none=True)


# -- input parsing ---------------------------------------------------------------------------------


@IO
@given(h=hypotheses)
def test_any_valid_hypothesis_round_trips_through_yaml_and_jsonl(folder: Path, h: Hypothesis):
    as_yaml = folder / "one.yaml"
    as_yaml.write_text(yaml.safe_dump({"hypotheses": [_record(h)]}, allow_unicode=True), encoding="utf-8")
    as_jsonl = folder / "one.jsonl"
    as_jsonl.write_text(json.dumps(_record(h), ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (as_yaml, as_jsonl):
        [loaded] = load_hypotheses([path])
        assert loaded == h
        assert loaded.hypothesis_id == h.hypothesis_id


@FAST
@given(targets=st.lists(symbols, min_size=1, max_size=8, unique=True), sep=st.sampled_from([", ", ",", "/", "; "]))
def test_targets_written_as_one_string_split_back_to_the_list(targets: list[str], sep: str):
    joined = sep.join(targets)
    assert split_targets(joined) == targets
    h = Hypothesis(title="Targets as text", targets=joined, mechanism="Some mechanism of action.")  # type: ignore[arg-type]
    assert h.targets == targets and h.label == joined


@IO
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".jsonl", ".json"]))
def test_arbitrary_bytes_load_or_raise_input_error(folder: Path, data: bytes, suffix: str):
    path = folder / f"fuzz{suffix}"
    path.write_bytes(data)
    _loads_or_input_error(path)


@IO
@given(text=st.text(CHARS, max_size=300), suffix=st.sampled_from([".yaml", ".jsonl"]))
def test_arbitrary_text_loads_or_raises_input_error(folder: Path, text: str, suffix: str):
    path = folder / f"fuzz{suffix}"
    path.write_text(text, encoding="utf-8")
    _loads_or_input_error(path)


FIELDS = ["id", "title", "targets", "target_label", "mechanism", "diseases", "evidence", "pages", "extra"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(CHARS, max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(CHARS, max_size=8), inner, max_size=3),
    max_leaves=10,
)
records = st.dictionaries(st.sampled_from(FIELDS), json_values | st.text(CHARS, min_size=3, max_size=40), max_size=8)


@IO
@given(items=st.lists(records | json_values, max_size=3), suffix=st.sampled_from([".yaml", ".jsonl"]))
def test_arbitrary_records_load_or_raise_one_line_input_error(folder: Path, items: list[Any], suffix: str):
    path = folder / f"records{suffix}"
    if suffix == ".yaml":
        path.write_text(yaml.safe_dump({"hypotheses": items}, allow_unicode=True), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    _loads_or_input_error(path)


def _loads_or_input_error(path: Path) -> None:
    try:
        loaded = load_hypotheses([path])
    except InputError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message, message
    else:
        assert loaded and all(isinstance(h, Hypothesis) for h in loaded)


# -- scoring arithmetic ----------------------------------------------------------------------------

names = st.from_regex(r"\A[a-z][a-z_]{0,11}\Z")
rubrics = st.builds(
    Rubric,
    scale=st.integers(2, 20),
    dimensions=st.dictionaries(names, st.floats(0.01, 100), min_size=1, max_size=8),
)


@st.composite
def rubric_and_scores(draw: st.DrawFn) -> tuple[Rubric, dict[str, int]]:
    rubric = draw(rubrics)
    scores = {d: draw(st.integers(1, rubric.scale)) for d in rubric.dimensions}
    return rubric, scores


@FAST
@given(case=rubric_and_scores())
def test_composite_is_bounded_and_monotone_in_every_dimension(case: tuple[Rubric, dict[str, int]]):
    rubric, scores = case
    value = composite(scores, rubric)
    assert 0.0 <= value <= 1.0
    for dimension, score in scores.items():
        if score < rubric.scale:
            assert composite({**scores, dimension: score + 1}, rubric) > value
        if score > 1:
            assert composite({**scores, dimension: score - 1}, rubric) < value


@FAST
@given(case=rubric_and_scores(), factor=st.floats(0.01, 1000))
def test_composite_is_invariant_to_scaling_every_weight(case: tuple[Rubric, dict[str, int]], factor: float):
    rubric, scores = case
    scaled = Rubric(scale=rubric.scale, dimensions={d: w * factor for d, w in rubric.dimensions.items()})
    assert composite(scores, scaled) == pytest.approx(composite(scores, rubric), abs=1e-9)


@FAST
@given(case=rubric_and_scores())
def test_equal_scores_everywhere_give_that_score_whatever_the_weights(case: tuple[Rubric, dict[str, int]]):
    rubric, scores = case
    value = next(iter(scores.values()))
    assert composite(dict.fromkeys(scores, value), rubric) == pytest.approx((value - 1) / (rubric.scale - 1))


@FAST
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=20), data=st.data())
def test_panel_mean_and_spread(values: list[float], data: st.DataObject):
    score = panel(values)
    assert min(values) - 1e-12 <= score.mean <= max(values) + 1e-12
    assert 0.0 <= score.spread <= (max(values) - min(values)) / 2 + 1e-12
    assert score.n == len(values)
    shuffled = data.draw(st.permutations(values))
    again = panel(shuffled)
    assert again.mean == pytest.approx(score.mean, abs=1e-12) and again.spread == pytest.approx(score.spread, abs=1e-12)


@FAST
@given(value=st.floats(0, 1), n=st.integers(1, 15))
def test_a_unanimous_panel_has_no_spread(value: float, n: int):
    score = panel([value] * n)
    assert score.mean == pytest.approx(value) and score.spread == pytest.approx(0.0, abs=1e-12)


@FAST
@given(values=st.lists(st.floats(0, 1), min_size=2, max_size=20))
def test_spread_is_the_population_standard_deviation(values: list[float]):
    mean = sum(values) / len(values)
    expected = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    assert panel(values).spread == pytest.approx(expected, abs=1e-9)
