"""Load config.yaml (plus environment overrides) into one typed `Settings` object.

Each part owns its section's model; this module only composes them. Precedence, lowest first:
built-in defaults, the YAML file, `HYPODEBATE_<SECTION>__<KEY>` variables, then the well-known
`OPENAI_API_KEY`, `OPENAI_BASE_URL` and `HYPODEBATE_DATABASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.settings import LLMSettings
from debates.settings import DebateSettings
from scoring.rubric import Rubric
from store.settings import StoreSettings
from wiki.settings import WikiSettings

DEFAULT_CONFIG = Path("config.yaml")
ENV_PREFIX = "HYPODEBATE_"


class ConfigError(Exception):
    """config.yaml or an environment variable holds a bad value; the message names the field."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: LLMSettings = LLMSettings()
    debate: DebateSettings = DebateSettings()
    scoring: Rubric = Rubric()
    store: StoreSettings = StoreSettings()
    wiki: WikiSettings = WikiSettings()


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (default ./config.yaml if present), apply the environment, validate."""
    env = os.environ if env is None else env
    explicit = path is not None or "HYPODEBATE_CONFIG" in env
    file = Path(path if path is not None else env.get("HYPODEBATE_CONFIG", DEFAULT_CONFIG))
    data: dict[str, Any] = {}
    text = ""
    if file.exists():
        try:
            text = file.read_text(encoding="utf-8")
            _refuse_duplicate_keys(file, yaml.compose(text))
            loaded = yaml.safe_load(text)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (byte {exc.object[exc.start]:#04x})") from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            char = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise ConfigError(
                f"{file}:{line}: invalid YAML: character #x{char:04x} is not allowed ({exc.reason})"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
            raise ConfigError(f"{file}{where}: invalid YAML: {problem}") from None
        except RecursionError:
            raise ConfigError(f"{file}: invalid YAML: nested too deeply") from None
        except ValueError:  # an integer past Python's digit limit (sys.get_int_max_str_digits)
            raise ConfigError(f"{file}: invalid YAML: a number with too many digits") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{file}: expected a mapping of sections (llm, debate, ...), got {type(loaded).__name__}")
        data = loaded or {}
    elif explicit:
        raise ConfigError(f"{file}: config file not found")
    sources = _apply_env(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        source = sources.get(key) or _yaml_location(file, text, err["loc"])
        got = "" if err["type"] == "extra_forbidden" else f" (got {err.get('input')!r})"
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {key}: {message}{got}{more}") from None


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Write overrides into `data`; return {dotted key: variable name} to blame in errors."""
    sources: dict[str, str] = {}

    def put(keys: list[str], value: Any, variable: str) -> None:
        node = data
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = value
        sources[".".join(keys)] = variable

    for variable, value in sorted(env.items()):
        if variable.startswith(ENV_PREFIX) and "__" in variable:
            keys = variable.removeprefix(ENV_PREFIX).lower().split("__")
            put(keys, yaml.safe_load(value) if value.strip() else None, variable)
    if env.get("OPENAI_API_KEY"):
        put(["llm", "api_key"], env["OPENAI_API_KEY"], "OPENAI_API_KEY")
    if env.get("OPENAI_BASE_URL"):
        put(["llm", "base_url"], env["OPENAI_BASE_URL"], "OPENAI_BASE_URL")
    if env.get("HYPODEBATE_DATABASE_URL"):
        put(["store", "url"], env["HYPODEBATE_DATABASE_URL"], "HYPODEBATE_DATABASE_URL")
    if env.get("HYPODEBATE_PROVIDER"):
        put(["llm", "provider"], env["HYPODEBATE_PROVIDER"], "HYPODEBATE_PROVIDER")
    return sources


def _refuse_duplicate_keys(file: Path, root: yaml.Node | None) -> None:
    """PyYAML keeps the last of two equal keys silently; a setting written twice is a mistake to name."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, prefix = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                path = f"{prefix}{key.value}" if isinstance(key, yaml.ScalarNode) else prefix.rstrip(".")
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        line = key.start_mark.line + 1
                        raise ConfigError(f"{file}:{line}: {path}: duplicate key (each key may appear once)")
                    keys.add(key.value)
                stack.append((value, f"{path}."))
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, prefix) for item in node.value]


def _yaml_location(file: Path, text: str, loc: tuple[Any, ...]) -> str:
    """`file:line` of the deepest key of `loc` that exists in the YAML text."""
    if not text:
        return str(file)
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return str(file)
    line = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            break
    return f"{file}:{line}" if line else str(file)
