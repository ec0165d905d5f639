"""The `hypodebate` command: a thin adapter. Each command reads its arguments, opens a Workspace (hypodebate/app/)
through `_run`, calls its module in hypodebate/commands/ (imported only when the command runs, so `--help` and the
quick commands start at once) and exits with the code it returns.

Exit codes: 0 done; 1 done, but something it ran failed (a debate, a comparison, a claim check, an unscored row,
the doctor's structured call); 2 hypodebate refused: an error of ours (safeio.errors.HypodebateError) as one line
`error: ...` on stderr (`EXIT_CODES` maps its family to the code).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console

from hypodebate.app.options import DebateOptions, EvalOptions, Pool
from hypodebate.app.workspace import Workspace
from hypodebate.collector import own_process, settled
from hypodebate.terminal import shown_error
from safeio.errors import ConfigError, HypodebateError, InputError, QueueError
from safeio.text import SafeStderrHandler


class _Program(typer.Typer):
    """The app. Called (the console script, `python -m hypodebate`), it is the program of its own process; a test
    runner invokes its commands without calling it (hypodebate.collector says why that matters)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        own_process()
        return super().__call__(*args, **kwargs)


# A traceback with local variables would print the API key and the database URL: locals stay off.
app = _Program(
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

# An error family (safeio/errors.py) -> the exit code it gives; the first family that matches wins. Every one is 2
# ("refused: nothing, or nothing more, was done"), as every error the CLI caught before the families existed was:
# InputError (a file, a line, a field, an argument; NotFound: an id the database does not hold), ConfigError
# (config.yaml, the environment, a prompt template), QueueError (a job that cannot run here), and the rest under
# the root: agents.errors.LLMError (the provider), store.engine.StoreError (the database), agents.roles.TurnFailed.
EXIT_CODES: tuple[tuple[type[HypodebateError], int], ...] = (
    (InputError, 2),
    (ConfigError, 2),
    (QueueError, 2),
    (HypodebateError, 2),
)


def _fail(message: str, *, code: int) -> NoReturn:
    """One line on stderr: the message as literal text, controls stripped, URL passwords hidden."""
    err.print(f"[red]error:[/red] {shown_error(message)}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guard(action: Callable[[], int]) -> int:
    """Run a command body; an error of ours becomes one clear line and its family's exit code."""
    try:
        return action()
    except HypodebateError as exc:
        _fail(str(exc), code=next(code for family, code in EXIT_CODES if isinstance(exc, family)))


def _run(
    config: Path | None, db: str | None, action: Callable[[Workspace], int], options: DebateOptions | None = None
) -> NoReturn:
    """Every command's way in: config.yaml (`--config`) and the environment read once, the store URL (`--db`, else
    store.url) and the LLM settings (with `options`' call slots) in one Workspace; then `action` on it, and exit
    with its code."""

    def act() -> int:
        from hypodebate.config import load_settings

        settings = load_settings(config)
        with settled():
            return action(Workspace(settings, db, llm=options.llm(settings) if options is not None else None))

    raise typer.Exit(_guard(act))


def _dry(ws: Workspace, make: Callable[[Workspace], Any], json_path: Path | None) -> int:
    """`--dry-run`: print (and with `json_path` write) the estimate `make` gives; the model is asked nothing."""
    from hypodebate.commands.estimate import estimate_command

    return estimate_command(ws, make, out=out, err=err, json_path=json_path)


@app.callback()
def _root() -> None:
    """Multi-agent hypothesis debate and scoring: run batches, review transcripts, rank hypotheses on pages."""
    logging.lastResort = SafeStderrHandler()  # a warning no handler takes (e.g. a server's error text) is filtered too


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Show the provider and models, and try one structured call."""
    from hypodebate.commands.doctor import doctor_command

    _run(config, None, lambda ws: doctor_command(ws, out=out))


DbOption = Annotated[
    str | None, typer.Option("--db", help="database URL (default: HYPODEBATE_DATABASE_URL, then config.yaml)")
]
Concurrency = Annotated[
    int | None, typer.Option(min=1, help="LLM calls at once (call slots); debates at once: debate.in_flight")
]
BudgetTokens = Annotated[int | None, typer.Option(min=1, help="start no new debate past this many tokens")]
BudgetUsd = Annotated[float | None, typer.Option(min=0, help="start no new debate past this estimated cost")]
JsonPath = Annotated[Path | None, typer.Option("--json", help="also write the figures as JSON")]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="ask the model nothing: print what it would ask and spend (--json: as JSON)"),
]
OnceOption = Annotated[bool, typer.Option("--once", help="stop when the queue is empty instead of waiting for more")]
QueueComparisons = Annotated[
    bool, typer.Option("--queue", help="comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits for them")
]


@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(help="hypothesis files (.yaml, .yml, .json or .jsonl)")] = None,
    version: Annotated[
        list[str] | None,
        typer.Option("--version", help="debate a stored version instead, e.g. a revision: h-2600483e.v2"),
    ] = None,
    concurrency: Concurrency = None,
    replicates: Annotated[int | None, typer.Option(min=1, help="independent debates per hypothesis")] = None,
    rounds: Annotated[int | None, typer.Option(min=0, help="critique + rebuttal rounds")] = None,
    judges: Annotated[int | None, typer.Option(min=1, help="judges on the panel")] = None,
    budget_tokens: BudgetTokens = None,
    budget_usd: BudgetUsd = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue", help="store the batch and queue one job per debate for `hypodebate worker`s (PostgreSQL)"
        ),
    ] = False,
    dry_run: DryRun = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="with --dry-run: write the estimate as JSON")] = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="print the N best-ranked rows (0: every row; report and export: all)")
    ] = 25,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Debate, score and store a batch of hypotheses; print them ranked. Re-running resumes."""
    from hypodebate.commands.run import run_command

    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)

    def act(ws: Workspace) -> int:
        if not paths and not version:
            raise InputError("give hypothesis files, or --version ids of stored versions")
        if dry_run:
            from hypodebate.app.estimate import estimate_batch

            return _dry(ws, lambda ws: estimate_batch(ws, paths or [], options, versions=version or []), json_path)
        if json_path is not None:
            raise InputError("--json: run writes its estimate as JSON; give it with --dry-run")
        if queue:
            from hypodebate.commands.queue import enqueue_command  # the job queue: imported for --queue only

            return enqueue_command(ws, paths or [], options, versions=version or [], err=err)
        return run_command(ws, paths or [], options, versions=version or [], out=out, err=err, top=top)

    _run(config, db, act, options)


@app.command()
def show(
    hypothesis_id: Annotated[
        str,
        typer.Argument(help="a hypothesis id such as h-2600483e, a page slug, or a gap id such as g-1a2b3c4d"),
    ],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print a hypothesis (origin, parents, children, scores, latest transcript), or a page with its gaps."""
    from hypodebate.commands.show import show_command

    _run(config, db, lambda ws: show_command(ws, hypothesis_id, out=out))


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

    write = partial(report_command, batch=batch, hypothesis=hypothesis, output=output, fmt=fmt)
    _run(config, db, lambda ws: write(ws.url, rubric=ws.settings.scoring))


@app.command()
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write scoreboards, hypotheses, scores, debates, verdicts and turns (one `kind` per row) for analysis."""
    from hypodebate.commands.export import export_command

    _run(config, db, lambda ws: export_command(ws.url, fmt=fmt, output=output))


@app.command()
def agreement(
    scoreboard: Annotated[
        str | None, typer.Option(help="a scoreboard id such as s-1a2b3c4d (default: the one with the most debates)")
    ] = None,
    json_path: JsonPath = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print reliability figures of one scoreboard: alpha between judges, tau between replicates, overlap."""
    from hypodebate.commands.agreement import agreement_command

    _run(config, db, lambda ws: agreement_command(ws, scoreboard=scoreboard, json_path=json_path, out=out))


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
            help="single (the debate's panel of judges, each an independent call, no debate), debate, pairwise (a "
            "tournament over the rows); default: single and debate, so the lift compares equal panels",
        ),
    ] = None,
    rounds: Annotated[int | None, typer.Option(min=0, help="critique + rebuttal rounds of the debate")] = None,
    judges: Annotated[
        int | None, typer.Option(min=1, help="judges on the debate's panel, and independent calls of the single arm")
    ] = None,
    replicates: Annotated[int | None, typer.Option(min=1, help="independent scorings per row (test-retest)")] = None,
    limit: Annotated[
        int | None, typer.Option(min=2, help="a stratified sample of about N rows per file (by label, pairs whole)")
    ] = None,
    sample_seed: Annotated[int, typer.Option(min=0, help="seed of the sample and of the bootstrap")] = 0,
    no_evidence: Annotated[
        bool, typer.Option("--no-evidence", help="also score every row with its evidence removed")
    ] = False,
    concurrency: Concurrency = None,
    budget_tokens: BudgetTokens = None,
    budget_usd: BudgetUsd = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="self-contained HTML report (default eval.html)")
    ] = Path("eval.html"),
    json_path: JsonPath = None,
    queue: Annotated[
        bool,
        typer.Option("--queue", help="debates and comparisons as jobs for `hypodebate worker`s (PostgreSQL); waits"),
    ] = False,
    dry_run: DryRun = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Measure whether scores predict real outcomes: AUROC, Brier, ECE (against its noise floor) and pairwise
    accuracy per protocol, with cluster-bootstrap intervals, and the debate's lift over an equal panel with no
    debate."""
    from hypodebate.commands.eval import eval_command

    options = DebateOptions(concurrency, replicates, rounds, judges, budget_tokens, budget_usd)
    protocols = tuple(p.value for p in protocol) if protocol else ("single", "debate")
    choice = EvalOptions(protocols, limit, sample_seed, no_evidence)  # type: ignore[arg-type]
    command = partial(eval_command, out=out, err=err, output=output, json_path=json_path, queue=queue)

    def act(ws: Workspace) -> int:
        if dry_run:
            from hypodebate.app.estimate import estimate_eval

            return _dry(ws, lambda ws: estimate_eval(ws, paths, options, choice), json_path)
        return command(ws, paths, options, choice)

    _run(config, db, act, options)


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
    top: Annotated[int, typer.Option("--top", min=0, help="print the N best ratings (0: every one; --json: all)")] = 25,
    queue: QueueComparisons = False,
    dry_run: DryRun = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Rank hypotheses head to head: both orders per pair, Bradley-Terry ratings with 95% intervals."""
    from hypodebate.commands.tournament import tournament_command

    options = DebateOptions(concurrency, judges=judges, budget_usd=budget_usd)
    pool = Pool(page, batch, tuple(hypotheses or ()))
    command = partial(tournament_command, matches=matches, queue=queue, out=out, err=err, json_path=json_path, top=top)

    def act(ws: Workspace) -> int:
        if dry_run:
            from hypodebate.app.estimate import estimate_tournament

            return _dry(ws, lambda ws: estimate_tournament(ws, pool, options, matches=matches), json_path)
        return command(ws, pool, options)

    _run(config, db, act, options)


@app.command()
def dedup(
    paths: Annotated[list[Path], typer.Argument(help="hypothesis files (.yaml, .yml, .json or .jsonl)")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write {model, threshold, groups} as JSON (for scripts)")
    ] = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="embeddings and fields only: no model check (no call, no cost)")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Find hypotheses that make the same claim: offline sentence embeddings and the fields find the pairs, and the
    model confirms every merge (--no-llm: embeddings and fields only)."""
    from hypodebate.commands.dedup import dedup_command

    _run(config, None, lambda ws: dedup_command(ws, paths, json_out=json_out, no_llm=no_llm, out=out, err=err))


@app.command()
def generate(
    page: Annotated[str | None, typer.Option(help="fill this wiki page's gaps (its slug)")] = None,
    gap: Annotated[
        str | None, typer.Option(help="generate from one gap (g-..., `hypodebate show PAGE` lists them)")
    ] = None,
    goal: Annotated[str | None, typer.Option(help="generate from a research goal in words")] = None,
    n: Annotated[int, typer.Option("--n", min=1, max=50, help="new candidates per generation")] = 4,
    generations: Annotated[int, typer.Option(min=1, max=20, help="most generations")] = 1,
    top: Annotated[int, typer.Option(min=1, max=10, help="the best k of each generation evolve into children")] = 2,
    matches: Annotated[
        int | None, typer.Option(min=1, help="most tournament matches per generation (default: the tournament's)")
    ] = None,
    rounds: Annotated[int | None, typer.Option(min=1, help="critique rounds per debate")] = None,
    judges: Annotated[int | None, typer.Option(min=1, help="judges per debate panel")] = None,
    budget_tokens: BudgetTokens = None,
    budget_usd: Annotated[float | None, typer.Option(min=0, help="start no new call past this estimated cost")] = None,
    no_llm_dedup: Annotated[
        bool, typer.Option("--no-llm-dedup", help="duplicates by embeddings and fields only (no model check)")
    ] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="debates and comparisons as jobs for `hypodebate worker`s; waits for them")
    ] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the run as JSON")] = None,
    dry_run: DryRun = False,
    concurrency: Concurrency = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Generate hypotheses from a page's gaps, a gap or a goal; merge duplicates; debate, rank and evolve them."""
    from hypodebate.app.generate import GenerateOptions
    from hypodebate.commands.generate import generate_command

    debate = DebateOptions(
        concurrency, rounds=rounds, judges=judges, budget_tokens=budget_tokens, budget_usd=budget_usd
    )
    options = GenerateOptions(
        page=page,
        gap=gap,
        goal=goal,
        n=n,
        generations=generations,
        top=top,
        matches=matches,
        queue=queue,
        use_llm_dedup=not no_llm_dedup,
        debate=debate,
    )

    def act(ws: Workspace) -> int:
        if dry_run:
            from hypodebate.app.estimate_generate import estimate_generate

            return _dry(ws, lambda ws: estimate_generate(ws, options), json_path)
        return generate_command(ws, options, out=out, err=err, json_path=json_path)

    _run(config, db, act, debate)


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

    _run(config, db, lambda ws: import_command(ws, paths, root=root, replace=replace, out=out, err=err))


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

    attach = partial(attach_command, top=top, dry_run=dry_run, scoreboard=scoreboard, root=root, out=out, err=err)
    _run(config, db, lambda ws: attach(ws, paths or []))


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

    _run(config, db, lambda ws: bib_import_command(ws, paths, out=out, err=err))


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
    dry_run: DryRun = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="with --dry-run: write the estimate as JSON")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Audit citations: resolve each against the bibliographies, flag made-up ones, check claim support."""
    from hypodebate.commands.evidence import evidence_command

    audit = partial(evidence_command, fmt=fmt.value, page=page, verify=verify, concurrency=concurrency)

    def act(ws: Workspace) -> int:
        if dry_run:
            from hypodebate.app.estimate import estimate_evidence

            chosen = hypothesis or None
            check = partial(estimate_evidence, hypotheses=chosen, page=page, verify=verify, concurrency=concurrency)
            return _dry(ws, check, json_path)
        if json_path is not None and not dry_run:
            raise InputError(
                "--json: evidence writes its estimate as JSON; give it with --dry-run (or use --format jsonl)"
            )
        return audit(ws, hypotheses=hypothesis or None, out=out, err=err)

    _run(config, db, act)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="debates this worker runs at once")] = 4,
    queues: Annotated[
        list[str] | None, typer.Option("--queues", help="queues to serve (repeatable; default: debates)")
    ] = None,
    once: OnceOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run queued debates (`run --queue`) until stopped; start one per machine, all on one PostgreSQL URL."""
    from hypodebate.commands.queue import worker_command

    _run(config, db, lambda ws: worker_command(ws, err=err, concurrency=concurrency, queues=queues, once=once))


@app.command()
def status(
    batch: Annotated[str | None, typer.Option("--batch", help="one batch (b-...); default: the 10 most recent")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Queued, running, done, failed and stalled debates per batch, and the queue's workers."""
    from hypodebate.commands.status import status_command

    _run(config, db, lambda ws: status_command(ws, out=out, batch=batch))


class UsageBy(StrEnum):
    role = "role"
    model = "model"
    command = "command"
    day = "day"


@app.command()
def usage(
    batch: Annotated[str | None, typer.Option("--batch", help="one batch's calls (b-...)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="calls from this day on (YYYY-MM-DD, UTC)")] = None,
    by: Annotated[UsageBy, typer.Option("--by", help="one row per role, model, command or day")] = UsageBy.role,
    json_path: JsonPath = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Spending from the usage table, across every process and worker that wrote to the database: calls, prompt
    tokens (and the share the provider served from its cache), completion tokens, cost."""
    from hypodebate.commands.usage import usage_command

    show = partial(usage_command, by=by.value, batch=batch, since=since, json_path=json_path, out=out, err=err)
    _run(config, db, show)


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

    _run(config, db, lambda ws: serve_command(ws, host=host, port=port, allowed_hosts=allowed_host or [], err=err))


def main() -> None:
    app()
