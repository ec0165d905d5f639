"""`hypodebate eval`: score labelled rows under each protocol, print the figures, write HTML and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import TextColumn
from rich.table import Table

from agents.usage import usd
from debates.eval_result import EvalResult
from debates.labelled import load_labelled
from debates.runner import Progress as BatchProgress
from hypodebate.app.eval import run_eval
from hypodebate.app.options import DebateOptions, EvalOptions
from hypodebate.app.workspace import Workspace
from hypodebate.commands.progress import demo_note, progress_bar
from hypodebate.terminal import shown
from report.eval_html import Estimate, render_eval_html
from safeio.errors import InputError
from safeio.files import write_atomic


def eval_command(
    ws: Workspace,
    paths: list[Path],
    options: DebateOptions,
    choice: EvalOptions,
    *,
    out: Console,
    err: Console,
    output: Path | None,
    json_path: Path | None,
    queue: bool,
) -> int:
    """Score the rows with a bar per arm on `err`, print the figures on `out`, write the HTML report and the JSON;
    1 when a row was not scored under some protocol."""
    if queue and (options.budget_tokens is not None or options.budget_usd is not None):
        raise InputError("--queue: budgets count one process's spending, and the workers spend it; run without --queue")
    loaded = load_labelled(paths)  # bad input fails here, before anything is stored
    demo_note(ws.settings, err)
    bar = progress_bar(err, TextColumn("{task.fields[arm]}", markup=False))
    tasks: dict[str, Any] = {}

    def update(arm: str, p: BatchProgress) -> None:
        if arm not in tasks:
            tasks[arm] = bar.add_task(arm, total=p.total, arm=arm, step="", status="")
        done = p.completed + p.failed + p.skipped
        status = f"failed {p.failed} · skipped {p.skipped} · {p.tokens:,} tokens · {usd(p.cost_usd)}"
        bar.update(tasks[arm], total=p.total, completed=done, status=status, step=p.step if done < p.total else "done")

    with bar:
        result = ws.run(lambda ws: run_eval(ws, paths, options, choice, progress=update, loaded=loaded, queue=queue))
    print_eval(result, out)
    if output is not None:
        write_atomic(output, render_eval_html(result).encode("utf-8"))
        err.print(f"wrote {shown(str(output))}")
    if json_path is not None:
        write_atomic(json_path, (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        err.print(f"wrote {shown(str(json_path))}")
    missing = {name: p["missing"] for name, p in result["protocols"].items() if p["missing"]}
    for name, count in missing.items():
        err.print(
            f"[red]{count} row(s) not scored[/red] under {shown(name)} (failed or not run: see `hypodebate report`)"
        )
    return 1 if missing else 0


def _interval(estimate: dict[str, Any] | None) -> str:
    if not estimate or estimate.get("value") is None:
        return "—"
    text = f"{estimate['value']:.2f}"
    if estimate.get("lo") is not None:
        text += f" [{estimate['lo']:.2f}, {estimate['hi']:.2f}]"
    return text


def _cached(p: Any) -> str:
    """The share of an arm's prompt tokens the provider served from its cache."""
    prompt, cached = p.get("prompt_tokens") or 0, p.get("cached_prompt_tokens") or 0
    return f"{100 * cached / prompt:.0f}%" if prompt else "—"


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ece(ece: dict[str, Any]) -> str:
    text = f"{ece['value']:.3f}"
    return text + (f" [{ece['lo']:.3f}, {ece['hi']:.3f}]" if ece.get("lo") is not None else "")


def _calibration(ece: dict[str, Any] | None) -> str:
    """ECE with its interval and where it stands against the noise floor, e.g. "0.111 [0.080, 0.170] ≤ floor"."""
    if not ece or ece.get("value") is None:
        return "—"
    return _ece(ece) + ("" if ece.get("floor") is None else " ≤ floor" if ece["value"] <= ece["floor"] else " > floor")


def _ece_line(name: str, p: dict[str, Any]) -> str | None:
    """What an arm's ECE says against the ECE a perfectly calibrated score reaches by chance at its n."""
    ece = p.get("ece")
    if not ece or ece.get("value") is None or ece.get("floor") is None:
        return None
    above = ece["value"] > ece["floor"]
    verdict = (
        "above the noise floor: miscalibrated" if above else "within the noise floor: no detectable miscalibration"
    )
    return (
        f"ECE {shown(name)}: {_ece(ece)} on {p['n']} rows; a perfectly calibrated score reaches up to"
        f" {ece['floor']:.3f} at this n (95th percentile): {verdict}"
    )


def _stratum_cell(s: dict[str, Any] | None) -> str:
    if not s:
        return "—"
    counts = f"({s['n']}, {s['positives']})"
    if s.get("too_small"):
        return f"too small {counts}"  # under 5 rows of a class: no figure to read
    return f"{_interval(s['auroc'])} {counts}"


def print_eval(result: EvalResult, out: Console) -> None:
    """The figures as tables: one row per protocol, what each ECE says against its noise floor, the lift (saying
    what it compares), then AUROC per stratum."""
    boot = result["bootstrap"]
    demo = " [DEMO: the embedded model's scores are noise; expect AUROC near 0.5]" if result["demo"] else ""
    sample = result["sample"]
    drawn = f" · stratified sample of {sample['limit']} per file, seed {sample['seed']}" if sample else ""
    table = Table(
        title=f"Eval: {result['rows']} labelled rows of {', '.join(map(shown, result['files']))}{drawn}{demo}",
        caption=(
            f"95% intervals: cluster bootstrap (a pair, or a gene's rows, drawn whole; {boot.get('clusters', '?')}"
            f" clusters), {boot['resamples']} resamples, seed {boot['seed']}. ECE floor: the 95th percentile of a"
            " perfectly calibrated score's ECE at the same n. Development figures: a held-out split exists and is"
            " not shared."
        ),
        title_justify="left",
        caption_justify="left",
    )
    for column in (
        "protocol",
        "n",
        "AUROC [95%]",
        "Brier",
        "ECE [95%] vs floor",
        "pairwise acc. [95%] (pairs)",
        "retest ρ",
        "calls",
        "tokens",
        "cached",
        "cost",
    ):
        table.add_column(column, justify="left" if column in ("protocol",) else "right")
    table.add_row(
        "base rate", str(result["rows"]), "0.50", _number(result["base_rate_brier"]), "—", "0.50", "—", "", "", "", ""
    )
    for name, p in result["protocols"].items():
        pairs = p["pairwise_accuracy"]
        table.add_row(
            shown(name),
            f"{p['n']}"
            + (f" ({p['missing']} missing)" if p["missing"] else "")
            + (" (too small)" if p.get("too_small") else ""),
            _interval(p["auroc"]),
            _number(p["brier"]),
            _calibration(p["ece"]),
            f"{_interval(pairs)} ({pairs['pairs']})" if pairs else "—",
            _number(p["test_retest"], 2),
            str(p["calls"]),
            f"{p['prompt_tokens'] + p['completion_tokens']:,}",
            _cached(p),
            usd(p["cost_usd"]),
        )
    out.print(table)
    for name, p in result["protocols"].items():
        out.print(
            f"{shown(name)}: scoreboard {shown(p['scoreboard'] or '—')}"
            f" · judge {shown(', '.join(p['judge_models']) or '—')}"
            f" · rubric {shown(p['rubric_hash'] or '—')} · protocol {shown(p['protocol_hash'])}"
            f" · {p['rounds']} round(s), {p['judges']} judge(s), {p['replicates']} replicate(s)"
            + ("" if p["evidence"] else " · evidence removed"),
            highlight=False,
        )
    for name, p in result["protocols"].items():
        line = _ece_line(name, dict(p))
        if line is not None:
            out.print(line, highlight=False)
    for name, lift in result["lift"].items():
        estimate = Estimate.read(lift)  # the report's reading of the interval: no detectable lift, a lift, or worse
        reading = estimate.reading[1] if estimate is not None else "no interval"
        compares = shown(lift.get("compares") or name)
        out.print(f"lift: {compares}: AUROC {_interval(lift)} on {lift['n']} rows ({reading})", highlight=False)
    _print_strata(result, out)


def _print_strata(result: EvalResult, out: Console) -> None:
    """AUROC per stratum and protocol ("too small" where a class has under 5 rows), and the keys left out."""
    names = sorted({s for p in result["protocols"].values() for s in p["strata"]})
    if names:
        strata = Table(
            title="AUROC [95%] by stratum (n, positives)",
            caption="too small: fewer than 5 rows labelled 1 or 0, no figure to read",
            title_justify="left",
            caption_justify="left",
        )
        strata.add_column("stratum")
        for name in result["protocols"]:
            strata.add_column(shown(name), justify="right")
        for stratum in names:
            cells = [_stratum_cell(dict(p["strata"].get(stratum) or {})) for p in result["protocols"].values()]
            strata.add_row(shown(stratum), *cells)
        out.print(strata)
    for key, why in result["strata_skipped"].items():
        out.print(f"not a stratum: {shown(key)} ({shown(why)})", highlight=False)
