"""hypodebate: multi-agent hypothesis debate and scoring engine.

`HypodebateError` is the root of every error hypodebate raises on purpose (`except HypodebateError` catches
"hypodebate refused this"). `Settings`, `load_settings` and `ConfigError` are read from hypodebate.config when first
asked for, so that `hypodebate --help` does not build the settings models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safeio.errors import HypodebateError

if TYPE_CHECKING:
    from hypodebate.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "HypodebateError", "Settings", "load_settings"]


def __getattr__(name: str) -> Any:
    if name in ("ConfigError", "Settings", "load_settings"):
        from hypodebate import config

        return getattr(config, name)
    raise AttributeError(f"module 'hypodebate' has no attribute {name!r}")
