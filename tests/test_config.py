"""config.yaml and environment overrides: typed, strict, with the culprit named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypodebate.config import ConfigError, load_settings

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
