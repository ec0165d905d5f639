"""hypodebate: multi-agent hypothesis debate and scoring engine."""

from hypodebate.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
