"""The `store:` section of config.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "sqlite:///hypodebate.db"
