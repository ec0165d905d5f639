"""The `wiki:` section of config.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RankBy = Literal["score", "rating"]


class WikiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    top: int = Field(8, ge=1, le=100)
    min_score: float = Field(0.0, ge=0, le=1)
    min_debates: int = Field(1, ge=1)
    # which scoreboard pages rank by (s-xxxxxxxx); null: per page, the one with the most completed debates
    scoreboard: str | None = Field(None, pattern=r"^s-[0-9a-f]{8}$")
    # how a page's Related Hypotheses are ordered: `score` (the rubric score, best first) or `rating` (the page
    # pool's tournament ratings, best first, then unrated ones by score); the line still shows the score
    rank_by: RankBy = "score"
    # the folder every page file lives under (relative to the working directory): import and attach read and
    # write nothing outside it, and follow no symbolic link inside it; `--root` overrides it
    pages_dir: Path = Path("pages")
    # Host header values the web app answers (against DNS rebinding); `serve` adds the address it binds
    allowed_hosts: tuple[str, ...] = Field(("localhost", "127.0.0.1"), min_length=1)
