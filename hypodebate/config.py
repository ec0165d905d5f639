"""Load config.yaml (plus environment overrides) into one typed `Settings` object.

Each part owns its section's model; this module only composes them. Precedence, lowest first:
built-in defaults, the YAML file, `HYPODEBATE_<SECTION>__<KEY>` variables, then the well-known
`OPENAI_API_KEY`, `OPENAI_BASE_URL` and `HYPODEBATE_DATABASE_URL`.

Variable values are read as YAML (`3`, `true`, `[a, b]`) except secrets (API keys, passwords, tokens, URLs),
which are taken as written; no error message shows a secret's value. (pydantic-settings was considered: it
would not name the variable at fault in an error, nor read config.yaml through the guarded loader.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agents.settings import LLMSettings
from debates.settings import DebateSettings, QueueSettings
from evidence.settings import EvidenceSettings
from safeio.errors import ConfigError, Loc, validation_line
from safeio.yaml import YamlDocument, YamlError, load_yaml, parse_yaml
from scoring.rubric import Rubric
from store.settings import StoreSettings
from wiki.settings import WikiSettings

DEFAULT_CONFIG = Path("config.yaml")
ENV_PREFIX = "HYPODEBATE_"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_ENV_BYTES = 64 * 1024
SECRET_KEY = re.compile(r"(key|url|password|passwd|secret|token)$", re.IGNORECASE)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: LLMSettings = LLMSettings()
    debate: DebateSettings = DebateSettings()
    scoring: Rubric = Rubric()
    store: StoreSettings = StoreSettings()
    wiki: WikiSettings = WikiSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    queue: QueueSettings = QueueSettings()


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (default ./config.yaml if present), apply the environment, validate."""
    env = os.environ if env is None else env
    explicit = path is not None or "HYPODEBATE_CONFIG" in env
    file = Path(path if path is not None else env.get("HYPODEBATE_CONFIG", DEFAULT_CONFIG))
    data: dict[str, Any] = {}
    document = YamlDocument(None, None)
    if file.exists():
        document = _read(file)
        if document.data is not None and not isinstance(document.data, dict):
            kind = type(document.data).__name__
            raise ConfigError(f"{file}: expected a mapping of sections (llm, debate, ...), got {kind}")
        data = document.data or {}
    elif explicit:
        raise ConfigError(f"{file}: config file not found")
    sources = _apply_env(data, env)

    def where(loc: Loc) -> str:
        line = document.line_at(loc)
        return _blame(sources, loc) or (f"{file}:{line}" if line else str(file))

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_line(exc, where=where, unknown="unknown key", secret=_is_secret)) from None
    _check_penalty(settings, where)
    return settings


def _check_penalty(settings: Settings, where: Callable[[Loc], str]) -> None:
    """The evidence penalty names a rubric dimension and a score on its scale."""
    e, rubric = settings.evidence, settings.scoring
    if e.penalty_dimension not in rubric.dimensions:
        known = ", ".join(rubric.dimensions)
        raise ConfigError(
            f"{where(('evidence', 'penalty_dimension'))}: evidence.penalty_dimension: {e.penalty_dimension!r} is not "
            f"a rubric dimension (scoring.dimensions: {known})"
        )
    if e.penalty_cap > rubric.scale:
        raise ConfigError(
            f"{where(('evidence', 'penalty_cap'))}: evidence.penalty_cap: {e.penalty_cap} is above the rubric's "
            f"scale (1..{rubric.scale})"
        )


def _read(file: Path) -> YamlDocument:
    try:
        if file.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{file}: larger than {MAX_CONFIG_BYTES // 2**20} MB; expected a config file")
        text = file.read_text(encoding="utf-8")
        return parse_yaml(text, source=str(file), max_bytes=MAX_CONFIG_BYTES)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.object[exc.start]:#04x})") from None
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None


def _is_secret(loc: Sequence[int | str]) -> bool:
    """API keys, passwords, tokens and URLs (a database URL may hold a password): never parsed, never shown."""
    return any(SECRET_KEY.search(str(key)) for key in loc)


def _blame(sources: Mapping[str, str], loc: Sequence[int | str]) -> str | None:
    """The variable that set the field at `loc`, or a field above or below it."""
    key = ".".join(map(str, loc))
    for dotted, variable in sources.items():
        if dotted == key or dotted.startswith(f"{key}.") or key.startswith(f"{dotted}."):
            return variable
    return None


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Write overrides into `data`; return {dotted key: variable name} to blame in errors.

    Values are YAML (`3`, `true`, `[a, b]`), except secrets (keys, passwords, tokens, URLs), which are taken
    verbatim: a password is not a YAML document, and an error must not show it."""
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
            put(keys, _env_value(variable, value, secret=_is_secret(keys)), variable)
    if env.get("OPENAI_API_KEY"):
        put(["llm", "api_key"], env["OPENAI_API_KEY"], "OPENAI_API_KEY")
    if env.get("OPENAI_BASE_URL"):
        put(["llm", "base_url"], env["OPENAI_BASE_URL"], "OPENAI_BASE_URL")
    if env.get("HYPODEBATE_DATABASE_URL"):
        put(["store", "url"], env["HYPODEBATE_DATABASE_URL"], "HYPODEBATE_DATABASE_URL")
    if env.get("HYPODEBATE_PROVIDER"):
        put(["llm", "provider"], env["HYPODEBATE_PROVIDER"], "HYPODEBATE_PROVIDER")
    return sources


def _env_value(variable: str, value: str, *, secret: bool) -> Any:
    if not value.strip():
        return None
    if secret:
        return value
    try:
        return load_yaml(value, source=variable, max_bytes=MAX_ENV_BYTES)
    except YamlError as exc:
        raise ConfigError(f"{variable}: {exc.message}") from None
