"""What a command overrides of config.yaml for one run, typed once (the CLI's flags, the Python API's keywords)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeio.errors import ConfigError

if TYPE_CHECKING:
    from agents.settings import LLMSettings, Role
    from debates.eval_figures import ProtocolName
    from debates.settings import DebateSettings
    from hypodebate.config import Settings


@dataclass(frozen=True)
class DebateOptions:
    """The overrides of a batch, an eval or a tournament; None keeps the configured value.

    `concurrency` is LLM call slots (debates in flight are `debate.in_flight`); budgets count this process's
    spending (start no new debate or comparison past them)."""

    concurrency: int | None = None
    replicates: int | None = None
    rounds: int | None = None
    judges: int | None = None
    budget_tokens: int | None = None
    budget_usd: float | None = None

    def debate(self, settings: Settings) -> DebateSettings:
        """The debate settings with `replicates`, `rounds` and `judges` applied. The embedded model answers one call
        at a time, with `llm.embedded.concurrency` debates in flight (see EmbeddedSettings)."""
        given = {"replicates": self.replicates, "rounds": self.rounds, "judges": self.judges}
        overrides: dict[str, int] = {k: v for k, v in given.items() if v is not None}
        if settings.llm.resolved_provider == "embedded":
            overrides["in_flight"] = settings.llm.embedded.concurrency
        return settings.debate.model_validate({**settings.debate.model_dump(), **overrides})

    def llm(self, settings: Settings) -> LLMSettings:
        """The LLM settings with `concurrency` (call slots) applied."""
        llm = settings.llm
        if self.concurrency is None:
            return llm
        return llm.model_validate({**llm.model_dump(), "api_key": llm.api_key, "concurrency": self.concurrency})

    def job(self) -> dict[str, int]:
        """What a queued job carries (`rounds`, `judges`); everything else is the worker's own config.yaml."""
        return {k: v for k, v in {"rounds": self.rounds, "judges": self.judges}.items() if v is not None}

    @classmethod
    def of_job(cls, options: Mapping[str, Any], replicates: int | None = None) -> DebateOptions:
        """The overrides a queued job's options give (the inverse of `job`)."""
        return cls(replicates=replicates, rounds=options.get("rounds"), judges=options.get("judges"))


@dataclass(frozen=True)
class EvalOptions:
    """How an eval samples and scores its labelled rows: the protocols, a stratified sample of about `limit` rows
    per file (`sample_seed`, also the bootstrap's seed), and whether each row is also scored without its evidence."""

    protocols: tuple[ProtocolName, ...] = ("single", "debate")
    limit: int | None = None
    sample_seed: int = 0
    no_evidence: bool = False


@dataclass(frozen=True)
class Pool:
    """Which hypotheses a tournament ranks: a wiki page's related ones (its slug), a batch's (b-...), or a file's."""

    page: str | None = None
    batch: str | None = None
    files: tuple[str | Path, ...] = ()


def as_files(paths: str | Path | Sequence[str | Path] | None) -> list[str | Path]:
    """One path or several as a list (the Python API takes either)."""
    return [paths] if isinstance(paths, (str, Path)) else list(paths or [])


def check_dollar_budget(
    llm: LLMSettings, budget_usd: float | None, roles: Sequence[Role], *, judges: int | None = None
) -> None:
    """Refuse a dollar budget (`--budget-usd`) that cannot be kept: a ConfigError naming every model the command
    would pay for (the models of `roles`; the judge panel's first `judges` seats, all of it when None) that has no
    price in `llm.prices`, since its calls' cost is unknown. The embedded model is free."""
    if budget_usd is None:
        return
    models: set[str] = set()
    for role in roles:
        if role == "judge":
            seats = judges or max(1, len(llm.models.judges))
            models.update(llm.judge_model(k) for k in range(1, seats + 1))
        else:
            models.add(llm.model_for(role))
    unpriced = sorted(m for m in models if llm.price(m) is None)
    if unpriced:
        named = ", ".join(unpriced)
        raise ConfigError(
            f"--budget-usd: {named} ha{'s' if len(unpriced) == 1 else 've'} no price in llm.prices, so what "
            f"{'its' if len(unpriced) == 1 else 'their'} calls cost is unknown and a dollar budget cannot be kept; "
            f"add llm.prices.{unpriced[0]}: {{prompt: ..., completion: ...}} (USD per million tokens) to "
            "config.yaml, or drop --budget-usd"
        )
