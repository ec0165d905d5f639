"""The `hypodebate` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agents.client import LLMClient
from agents.embedded import DEMO_WARNING
from agents.errors import LLMError, redact
from agents.factory import make_client
from agents.probe import ProbeResult, probe
from agents.settings import ROLES
from hypodebate.config import ConfigError, Settings, load_settings

app = typer.Typer(help="Multi-agent hypothesis debate and scoring.", no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="config.yaml to read (default ./config.yaml)")]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), code=2)
        raise  # unreachable


def _fail(message: str, *, code: int) -> None:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def _root() -> None:
    """Multi-agent hypothesis debate and scoring: run batches, review transcripts, rank hypotheses on pages."""


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Show the provider and models, and try one structured call."""
    settings = _settings(config)
    llm = settings.llm
    provider = llm.resolved_provider
    try:
        client = make_client(llm)
    except LLMError as exc:
        _fail(str(exc), code=2)
    secret = llm.api_key.get_secret_value() if llm.api_key else None
    out.print(f"provider    {provider}", highlight=False)
    out.print(f"base URL    {redact(client.base_url, secret)}", highlight=False)
    out.print(f"API key     {'set' if secret else 'not set'}", highlight=False)
    out.print("models      " + ", ".join(f"{r}={llm.model_for(r)}" for r in ROLES), highlight=False)
    if provider == "embedded":
        out.print(f"note        {DEMO_WARNING}", highlight=False)
    result = asyncio.run(_probe(client))
    if result.models is not None:
        listed = ", ".join(result.models[:5]) + (" ..." if len(result.models) > 5 else "")
        out.print(f"server      answers in {result.list_latency_s:.2f} s (models: {listed})", highlight=False)
    else:
        out.print(f"server      /models failed: {redact(result.models_error or '', secret)}", highlight=False)
    if result.answer is not None:
        out.print(
            f"structured  ok in {result.latency_s:.2f} s, {result.attempts} attempt(s), {result.tokens} tokens: "
            f"{result.answer.model_dump_json()}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"structured  FAILED after {result.latency_s:.2f} s: {redact(result.answer_error or '', secret)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


async def _probe(client: LLMClient) -> ProbeResult:
    try:
        return await probe(client)
    finally:
        await client.aclose()


def main() -> None:
    app()
