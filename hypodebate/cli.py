"""The `hypodebate` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console

from agents.client import LLMClient
from agents.errors import LLMError, ProviderUnavailable, redact
from agents.factory import make_client
from agents.probe import ProbeResult, probe
from agents.prompts import PromptError
from agents.settings import ROLES, Role
from debates.inputs import InputError
from hypodebate.commands.agreement import NoScoreboard
from hypodebate.commands.show import NotFound
from hypodebate.config import ConfigError, Settings, load_settings
from hypodebate.terminal import shown, shown_error
from safeio.text import SafeStderrHandler
from store.demo import DEMO_WARNING
from store.engine import StoreError
from wiki.errors import WikiError

# A traceback with local variables would print the API key and the database URL: locals stay off.
app = typer.Typer(
    help="Multi-agent hypothesis debate and scoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
err = Console(stderr=True, soft_wrap=True, highlight=False)
# Piped output (files, pagers, tests) is not squeezed to 80 columns: tables keep whole titles.
out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 160)

ReportFormat = Literal["html", "md"]
ExportFormat = Literal["jsonl", "csv"]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="config.yaml to read (default ./config.yaml)")]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), code=2)


def _fail(message: str, *, code: int) -> NoReturn:
    """One line on stderr: the message as literal text, controls stripped, URL passwords hidden."""
    err.print(f"[red]error:[/red] {shown_error(message)}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def _root() -> None:
    """Multi-agent hypothesis debate and scoring: run batches, review transcripts, rank hypotheses on pages."""
    logging.lastResort = SafeStderrHandler()  # a warning no handler takes (e.g. a server's error text) is filtered too


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
    out.print(f"provider    {shown(provider)}", highlight=False)
    out.print(f"base URL    {shown_error(redact(str(client.base_url), secret))}", highlight=False)
    out.print(f"API key     {'set' if secret else 'not set'}", highlight=False)
    roles: tuple[Role, ...] = (*ROLES, "verifier")
    out.print("models      " + shown(", ".join(f"{r}={llm.model_for(r)}" for r in roles)), highlight=False)
    if provider == "embedded":
        out.print(f"note        {shown(DEMO_WARNING)}", highlight=False)
    result = asyncio.run(_probe(client))
    if result.models is not None:
        listed = ", ".join(result.models[:5]) + (" ..." if len(result.models) > 5 else "")
        out.print(f"server      answers in {result.list_latency_s:.2f} s (models: {shown(listed)})", highlight=False)
    else:
        out.print(
            f"server      /models failed: {shown_error(redact(result.models_error or '', secret))}", highlight=False
        )
    if result.answer is not None:
        out.print(
            f"structured  ok in {result.latency_s:.2f} s, {result.attempts} attempt(s), {result.tokens} tokens: "
            f"{shown(result.answer.model_dump_json())}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"structured  FAILED after {result.latency_s:.2f} s: "
            f"{shown_error(redact(result.answer_error or '', secret))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


async def _probe(client: LLMClient) -> ProbeResult:
    try:
        return await probe(client)
    finally:
        await client.aclose()


DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: HYPODEBATE_DATABASE_URL, then config.yaml)")
]


@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(help="hypothesis files (.yaml, .yml, .json or .jsonl)")] = None,
    version: Annotated[
        list[str] | None,
        typer.Option("--version", help="debate a stored version instead, e.g. a revision: h-2600483e.v2"),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="LLM calls at once (call slots); debates at once: debate.in_flight")
    ] = None,
    replicates: Annotated[int | None, typer.Option(min=1, help="independent debates per hypothesis")] = None,
    rounds: Annotated[int | None, typer.Option(min=0, help="critique + rebuttal rounds")] = None,
    judges: Annotated[int | None, typer.Option(min=1, help="judges on the panel")] = None,
    budget_tokens: Annotated[int | None, typer.Option(min=1, help="start no new debate past this many tokens")] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0, help="start no new debate past this estimated cost")
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue", help="store the batch and queue one job per debate for `hypodebate worker`s (PostgreSQL)"
        ),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Debate, score and store a batch of hypotheses; print them ranked. Re-running resumes."""
    from hypodebate.commands.run import run_command

    settings = _settings(config)
    if not paths and not version:
        _fail("give hypothesis files, or --version ids of stored versions", code=2)
    if queue:
        from hypodebate.commands.queue import enqueue_command

        if budget_tokens is not None or budget_usd is not None or concurrency is not None:
            _fail("--queue: budgets and --concurrency belong to a process; give workers --concurrency", code=2)
        raise typer.Exit(
            _guard(
                lambda: enqueue_command(
                    paths or [],
                    settings,
                    err=err,
                    db=db,
                    versions=version or [],
                    replicates=replicates,
                    rounds=rounds,
                    judges=judges,
                )
            )
        )
    code = _guard(
        lambda: run_command(
            paths or [],
            settings,
            versions=version or [],
            out=out,
            err=err,
            db=db,
            concurrency=concurrency,
            replicates=replicates,
            rounds=rounds,
            judges=judges,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
        )
    )
    raise typer.Exit(code)


@app.command()
def show(
    hypothesis_id: Annotated[str, typer.Argument(help="a hypothesis id such as h-2600483e")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a hypothesis, its scores and its latest transcript."""
    from hypodebate.commands.show import show_command

    settings = _settings(config)
    raise typer.Exit(_guard(lambda: show_command(hypothesis_id, db or settings.store.url, settings, out=out)))


@app.command()
def report(
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")] = Path("report.html"),
    batch: Annotated[
        str | None, typer.Option("--batch", help="a batch id such as b-1a2b3c4d (default: newest)")
    ] = None,
    hypothesis: Annotated[str | None, typer.Option("--hypothesis", help="only this hypothesis")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html (self-contained) or md")] = "html",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the transcript review report: overview, ranked table, scores by dimension, transcripts."""
    from hypodebate.commands.report import report_command

    settings = _settings(config)
    url = db or settings.store.url
    raise typer.Exit(
        _guard(
            lambda: report_command(
                url, batch=batch, hypothesis=hypothesis, output=output, fmt=fmt, rubric=settings.scoring
            )
        )
    )


@app.command()
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write scoreboards, hypotheses, scores, debates, verdicts and turns (one `kind` per row) for analysis."""
    from hypodebate.commands.export import export_command

    settings = _settings(config)
    raise typer.Exit(_guard(lambda: export_command(db or settings.store.url, fmt=fmt, output=output)))


@app.command()
def agreement(
    scoreboard: Annotated[
        str | None, typer.Option(help="a scoreboard id such as s-1a2b3c4d (default: the one with the most debates)")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the figures as JSON")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print reliability figures of one scoreboard: alpha between judges, tau between replicates, overlap."""
    from hypodebate.commands.agreement import agreement_command

    settings = _settings(config)
    url = db or settings.store.url
    raise typer.Exit(_guard(lambda: agreement_command(url, scoreboard=scoreboard, json_path=json_path, out=out)))


class EvalProtocol(StrEnum):
    single = "single"
    debate = "debate"
    pairwise = "pairwise"


@app.command("eval")
def eval_(
    paths: Annotated[list[Path], typer.Argument(help="labelled rows (.jsonl with a 0/1 `label` per row)")],
    protocol: Annotated[
        list[EvalProtocol] | None,
        typer.Option(
            "--protocol",
            help="single (one judge call, no debate), debate, pairwise (a tournament over the rows); "
            "default: single and debate",
        ),
    ] = None,
    rounds: Annotated[int | None, typer.Option(min=0, help="critique + rebuttal rounds of the debate")] = None,
    judges: Annotated[int | None, typer.Option(min=1, help="judges on the debate's panel")] = None,
    replicates: Annotated[int | None, typer.Option(min=1, help="independent scorings per row (test-retest)")] = None,
    limit: Annotated[
        int | None, typer.Option(min=2, help="a stratified sample of about N rows per file (by label, pairs whole)")
    ] = None,
    sample_seed: Annotated[int, typer.Option(min=0, help="seed of the sample and of the bootstrap")] = 0,
    no_evidence: Annotated[
        bool, typer.Option("--no-evidence", help="also score every row with its evidence removed")
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="LLM calls at once (call slots); debates at once: debate.in_flight")
    ] = None,
    budget_tokens: Annotated[int | None, typer.Option(min=1, help="start no new debate past this many tokens")] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0, help="start no new debate past this estimated cost")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="self-contained HTML report (default eval.html)")
    ] = Path("eval.html"),
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the figures as JSON")] = None,
    queue: Annotated[
        bool,
        typer.Option("--queue", help="debates and comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits"),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Measure whether scores predict real outcomes: AUROC, Brier, ECE and pairwise accuracy per protocol."""
    from hypodebate.commands.eval import eval_command

    settings = _settings(config)
    if queue and (budget_tokens is not None or budget_usd is not None):
        _fail("--queue: budgets count one process's spending, and the workers spend it; run without --queue", code=2)
    code = _guard(
        lambda: eval_command(
            paths,
            settings,
            out=out,
            err=err,
            db=db,
            protocols=[p.value for p in protocol] if protocol else ["single", "debate"],
            output=output,
            json_path=json_path,
            rounds=rounds,
            judges=judges,
            replicates=replicates,
            limit=limit,
            sample_seed=sample_seed,
            no_evidence=no_evidence,
            concurrency=concurrency,
            budget_tokens=budget_tokens,
            budget_usd=budget_usd,
            queue=queue,
        )
    )
    raise typer.Exit(code)


@app.command()
def tournament(
    page: Annotated[str | None, typer.Option(help="rank a wiki page's related hypotheses (its slug)")] = None,
    batch: Annotated[str | None, typer.Option(help="rank a batch's hypotheses (b-...)")] = None,
    hypotheses: Annotated[
        list[Path] | None, typer.Option("--hypotheses", help="rank the hypotheses of a file (YAML or JSONL)")
    ] = None,
    matches: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="most matches in all (a pair in both orders, per judge); default: every pair up "
            "to 12 hypotheses, else about 2·n·log2(n) pairs",
        ),
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0, help="start no new comparison past this estimated cost")
    ] = None,
    judges: Annotated[int, typer.Option(min=1, help="independent pairwise judges per pair")] = 1,
    concurrency: Annotated[int | None, typer.Option(min=1, help="comparisons in flight")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the ratings as JSON")] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits for them")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Rank hypotheses head to head: both orders per pair, Bradley-Terry ratings with 95% intervals."""
    from hypodebate.commands.tournament import tournament_command

    settings = _settings(config)
    if queue and budget_usd is not None:
        _fail("--queue: budgets count one process's spending, and the workers spend it; run without --queue", code=2)
    code = _guard(
        lambda: tournament_command(
            settings,
            out=out,
            err=err,
            json_path=json_path,
            page=page,
            batch=batch,
            hypotheses=hypotheses,
            db=db,
            matches=matches,
            budget_usd=budget_usd,
            judges=judges,
            concurrency=concurrency,
            queue=queue,
        )
    )
    raise typer.Exit(code)


def _guard(action: Callable[[], int]) -> int:
    """Run a command body; turn the project's errors into one clear line and exit code 2."""
    try:
        return action()
    except (
        InputError,
        ConfigError,
        PromptError,
        StoreError,
        ProviderUnavailable,
        NotFound,
        NoScoreboard,
        WikiError,
    ) as exc:
        _fail(str(exc), code=2)


pages_app = typer.Typer(
    help="Wiki pages: import them, attach their related hypotheses.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(pages_app, name="pages")
RootOption = Annotated[
    Path | None, typer.Option("--root", help="the folder the pages live under (default wiki.pages_dir, ./pages)")
]


@pages_app.command("import")
def pages_import(
    paths: Annotated[list[Path], typer.Argument(help="page files: Markdown with YAML front matter, or a page dump")],
    root: RootOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="let a file take over a slug already imported from another file")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Read wiki pages into the database (re-importing updates them) and link them to hypotheses."""
    from hypodebate.commands.pages import import_command

    settings = _settings(config)
    folder = root or settings.wiki.pages_dir
    url = db or settings.store.url
    raise typer.Exit(_guard(lambda: import_command(paths, url, root=folder, replace=replace, out=out, err=err)))


@pages_app.command("attach")
def pages_attach(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="page files (default: every imported page's source file)")
    ] = None,
    top: Annotated[int | None, typer.Option(min=1, max=100, help="hypotheses per page (default wiki.top)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print a unified diff, write nothing")] = False,
    scoreboard: Annotated[
        str | None,
        typer.Option(help="rank on this scoreboard (default: wiki.scoreboard, else each page's most-debated one)"),
    ] = None,
    root: RootOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write each page's Related Hypotheses block between its markers; a second run changes nothing."""
    from hypodebate.commands.pages import attach_command

    settings = _settings(config)
    raise typer.Exit(
        _guard(
            lambda: attach_command(
                paths or [],
                db or settings.store.url,
                settings,
                top=top,
                dry_run=dry_run,
                scoreboard=scoreboard,
                root=root,
                out=out,
                err=err,
            )
        )
    )


bib_app = typer.Typer(
    help="Bibliographies: import BibTeX, RIS and CSL-JSON files to check citations against.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(bib_app, name="bib")


@bib_app.command("import")
def bib_import(
    paths: Annotated[list[Path], typer.Argument(help="bibliography files: .bib, .ris, .json (CSL-JSON)")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Read bibliographies into the database (re-importing updates entries); a bad entry stores nothing."""
    from hypodebate.commands.evidence import bib_import_command

    settings = _settings(config)
    url = db or settings.store.url
    raise typer.Exit(_guard(lambda: bib_import_command(paths, settings, url, out=out, err=err)))


class AuditFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"


@app.command()
def evidence(
    hypothesis: Annotated[
        list[str] | None, typer.Option("--hypothesis", help="audit only this hypothesis (h-...; repeatable)")
    ] = None,
    page: Annotated[
        str | None, typer.Option("--page", help="audit the citations of an imported wiki page (its slug) instead")
    ] = None,
    fmt: Annotated[AuditFormat, typer.Option("--format", help="table, or one JSON object per citation")] = (
        AuditFormat.table
    ),
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="check claims against their sources' abstracts (LLM calls)")
    ] = True,
    concurrency: Annotated[int | None, typer.Option(min=1, help="claim checks in flight")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Audit citations: resolve each against the bibliographies, flag made-up ones, check claim support."""
    from hypodebate.commands.evidence import evidence_command

    settings = _settings(config)
    code = _guard(
        lambda: evidence_command(
            settings,
            out=out,
            err=err,
            fmt=fmt.value,  # type: ignore[arg-type]
            hypotheses=hypothesis or None,
            page=page,
            verify=verify,
            concurrency=concurrency,
            db=db,
        )
    )
    raise typer.Exit(code)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="debates this worker runs at once")] = 4,
    queues: Annotated[
        list[str] | None, typer.Option("--queues", help="queues to serve (repeatable; default: debates)")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="stop when the queue is empty instead of waiting for more")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run queued debates (`run --queue`) until stopped; start one per machine, all on one PostgreSQL URL."""
    from hypodebate.commands.queue import worker_command

    settings = _settings(config)
    raise typer.Exit(
        _guard(lambda: worker_command(settings, err=err, db=db, concurrency=concurrency, queues=queues, once=once))
    )


@app.command()
def status(
    batch: Annotated[str | None, typer.Option("--batch", help="one batch (b-...); default: the 10 most recent")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Queued, running, done, failed and stalled debates per batch, and the queue's workers."""
    from hypodebate.commands.queue import status_command

    settings = _settings(config)
    raise typer.Exit(_guard(lambda: status_command(settings, out=out, db=db, batch=batch)))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="also answer requests for this Host name (repeatable; default: the bound host and wiki.allowed_hosts)",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the exchange, wiki pages, hypotheses and debates (read-only web app and JSON API)."""
    from hypodebate.commands.pages import serve_command

    settings = _settings(config)
    url = db or settings.store.url
    raise typer.Exit(
        _guard(lambda: serve_command(url, settings, host=host, port=port, allowed_hosts=allowed_host or [], err=err))
    )


def main() -> None:
    app()
