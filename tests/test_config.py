"""config.yaml and environment overrides: typed, strict, with the culprit named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hypodebate.cli import app
from hypodebate.config import ConfigError, load_settings
from tests.helpers import EXAMPLE

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_loads_with_scidex_weights():
    settings = load_settings(REPO / "config.yaml", env={})
    assert settings.scoring.dimensions["mechanistic_plausibility"] == 15
    assert sum(settings.scoring.dimensions.values()) == 100
    assert settings.llm.resolved_provider == "embedded"


def test_unknown_key_is_rejected_with_its_path_and_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("llm:\n  retry:\n    max_attempts: 3\n    jitter_s: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(caught.value).startswith(f"{config}:4: llm.retry.jitter_s: unknown key")


def test_bad_value_names_field_and_expectation(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("debate:\n  rounds: many\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: debate.rounds: Input should be a valid integer.*'many'"):
        load_settings(config, env={})


def test_broken_yaml_names_the_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("llm:\n  models: [judge\n")
    with pytest.raises(ConfigError, match=r"config.yaml:\d+: invalid YAML"):
        load_settings(config, env={})


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_openai_environment_selects_the_openai_provider(tmp_path):
    settings = load_settings(
        tmp_path / "absent.yaml" if False else REPO / "config.yaml",
        env={"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"},
    )
    assert settings.llm.resolved_provider == "openai"
    assert settings.llm.base_url == "http://127.0.0.1:8000/v1"
    assert "sk-x" not in repr(settings)
    assert settings.llm.model_for("judge") == "gpt-4o-mini"


def test_nested_environment_overrides_and_their_errors():
    env = {
        "HYPODEBATE_DEBATE__ROUNDS": "3",
        "HYPODEBATE_LLM__MODELS__JUDGE": "qwen2.5:7b",
        "HYPODEBATE_DATABASE_URL": "sqlite:///x.db",
    }
    settings = load_settings(REPO / "config.yaml", env=env)
    assert (settings.debate.rounds, settings.llm.models.judge, settings.store.url) == (
        3,
        "qwen2.5:7b",
        "sqlite:///x.db",
    )
    with pytest.raises(ConfigError, match=r"HYPODEBATE_LLM__CONCURRENCY: llm\.concurrency"):
        load_settings(REPO / "config.yaml", env={"HYPODEBATE_LLM__CONCURRENCY": "0"})


def test_bad_rubric_weight(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("scoring:\n  dimensions:\n    novelty: -1\n")
    with pytest.raises(ConfigError, match=r"scoring.dimensions: Value error, weight of 'novelty' must be > 0"):
        load_settings(config, env={})


BAD = Path(__file__).with_name("bad_configs")

EXPECTED = {
    "unknown_section.yaml": r"unknown_section.yaml:3: telemetry: unknown key$",
    "unknown_nested_key.yaml": r"unknown_nested_key.yaml:4: llm.retry.jitter_s: unknown key$",
    "wrong_type.yaml": r"wrong_type.yaml:2: debate.rounds: Input should be a valid integer.*\(got 'many'\)",
    "fractional_rounds.yaml": r"fractional_rounds.yaml:2: debate.rounds: Input should be a valid integer.*\(got 2.5\)",
    "negative_concurrency.yaml": r"negative_concurrency.yaml:2: llm.concurrency: .*greater than or equal to 1",
    "zero_weight.yaml": r"zero_weight.yaml:2: scoring.dimensions: Value error, weight of 'novelty' must be > 0",
    "scale_one.yaml": r"scale_one.yaml:2: scoring.scale: Input should be greater than or equal to 2 \(got 1\)",
    "unknown_provider.yaml": r"unknown_provider.yaml:2: llm.provider: Input should be 'auto', 'embedded' or 'openai'",
    "list_root.yaml": r"list_root.yaml: expected a mapping of sections \(llm, debate, ...\), got list",
    "scalar_root.yaml": r"scalar_root.yaml: expected a mapping of sections \(llm, debate, ...\), got str",
    "broken_yaml.yaml": r"broken_yaml.yaml:3: invalid YAML: (did not find )?expected ',' or ']'",
    "tabs.yaml": r"tabs.yaml:2: invalid YAML: found character '\\t' that cannot start any token",
    "control_char.yaml": r"control_char.yaml:2: invalid YAML: character #x0007 is not allowed",
    "deep_nesting.yaml": r"deep_nesting.yaml:1: invalid YAML: nested too deeply",
    "latin1.yaml": r"latin1.yaml: not UTF-8 text \(byte 0xe9\)",
    "binary.yaml": r"binary.yaml: not UTF-8 text \(byte 0x80\)",
    "section_not_mapping.yaml": r"section_not_mapping.yaml:1: llm: Input should be a valid dictionary",
    "temperature_too_high.yaml": r"temperature_too_high.yaml:3: llm.temperature.judge: .*less than or equal to 2",
    "negative_price.yaml": r"negative_price.yaml:3: llm.prices.gpt-4o-mini.prompt: .*greater than or equal to 0",
    "empty_dimensions.yaml": r"empty_dimensions.yaml:2: scoring.dimensions: Dictionary should have at least 1 item",
    "dimension_name.yaml": r"dimension_name.yaml:2: scoring.dimensions: .*'evidence strength' must be a snake_case",
    "min_score_above_one.yaml": r"min_score_above_one.yaml:2: wiki.min_score: .*less than or equal to 1 \(got 2\)",
    "structured_mode.yaml": r"structured_mode.yaml:2: llm.structured_mode: Input should be 'auto', 'tools'",
    "duplicate_key.yaml": r"duplicate_key.yaml:4: debate.rounds: duplicate key \(each key may appear once\)",
    "huge_number.yaml": r"huge_number.yaml:2: invalid YAML: a number with more than 4000 digits$",
}


def test_every_bad_config_has_an_expectation():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_config_gives_one_clear_error(name):
    with pytest.raises(ConfigError) as caught:
        load_settings(BAD / name, env={})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(BAD / name))
    assert re.search(EXPECTED[name], message), message


@pytest.mark.parametrize("name", ["unknown_section.yaml", "zero_weight.yaml", "latin1.yaml", "deep_nesting.yaml"])
def test_cli_names_the_bad_config_in_one_line_with_exit_2(name, tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'x.db'}", "--config", str(BAD / name)]
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {BAD / name}"), result.stderr
    assert not (tmp_path / "x.db").exists() or (tmp_path / "x.db").stat().st_size == 0


def test_secret_variables_are_taken_as_written_not_as_yaml():
    env = {
        "HYPODEBATE_LLM__API_KEY": "123456",  # YAML would make this an integer, then echo it in an error
        "HYPODEBATE_STORE__URL": "postgresql://app:pw #1@db/x",  # YAML would cut it at ' #'
        "HYPODEBATE_LLM__BASE_URL": "[http://proxy",  # YAML would refuse it with a traceback
    }
    settings = load_settings(REPO / "config.yaml", env=env)
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == "123456"
    assert settings.store.url == "postgresql://app:pw #1@db/x"
    assert settings.llm.base_url == "[http://proxy"


def test_a_bad_secret_names_its_variable_but_never_its_value(tmp_path):
    password = "hunter2-SENTINEL"
    env = {"HYPODEBATE_STORE__URL__HOST": f"postgresql://app:{password}@db/x"}
    with pytest.raises(ConfigError) as caught:
        load_settings(REPO / "config.yaml", env=env)
    assert str(caught.value).startswith("HYPODEBATE_STORE__URL__HOST: store.url: Input should be a valid string")
    assert password not in str(caught.value)

    config = tmp_path / "config.yaml"
    config.write_text("llm:\n  api_key: 998877665544\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(caught.value).startswith(f"{config}:2: llm.api_key: Input should be a valid string")
    assert "998877665544" not in str(caught.value)


def test_a_variable_that_is_not_yaml_names_the_variable():
    with pytest.raises(ConfigError, match=r"^HYPODEBATE_DEBATE__ROUNDS: invalid YAML: .*flow sequence"):
        load_settings(REPO / "config.yaml", env={"HYPODEBATE_DEBATE__ROUNDS": "[3"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("llm: " + "[" * 10_000 + "]" * 10_000 + "\n", r"config.yaml:1: invalid YAML: nested too deeply"),
        ("debate:\n  rounds: &r [*r]\n", r"config.yaml:2: invalid YAML: nested too deeply"),
        ("llm:\n  models: {judge: a, judge: b}\n", r"config.yaml:2: llm.models.judge: duplicate key"),
        ("# " + "x" * (2**20) + "\n", r"config.yaml: larger than 1 MB"),
    ],
)
def test_hostile_config_gives_one_line(tmp_path, text, expected):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(caught.value).startswith(str(config))
    assert re.search(expected, str(caught.value)), str(caught.value)
