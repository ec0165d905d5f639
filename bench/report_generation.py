"""Report generation for a large batch: synthetic debates written straight into a temporary SQLite store.

    .venv/bin/python -m bench.report_generation                     # 250 hypotheses x 4 replicates = 1,000 debates
    .venv/bin/python -m bench.report_generation --hypotheses 500 --replicates 4
    .venv/bin/python -m bench.report_generation --scoreboards 2     # two judge models: two ranked tables

Each debate has an opening, two critique/rebuttal rounds, the critic's closing and a panel of three verdicts
(turn texts of about 500 characters, a reasoning and ten rationales per verdict); its panel score lands on
its judge model's scoreboard. The report is then loaded (`load_report`) and rendered (HTML, then Markdown)
in a fresh process, so its peak RSS counts only the report; a second pass under tracemalloc gives the peak
of Python allocations. Target: under 10 s and under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import REPO, print_table

TARGET_S = 10.0
TARGET_MB = 500.0
WORDS = (
    "microglia", "amyloid", "tau", "clearance", "lysosomal", "autophagy", "synaptic", "neuroinflammation",
    "cholesterol", "efflux", "astrocyte", "mitochondrial", "oxidative", "receptor", "agonist", "antagonist",
    "pathway", "expression", "knockout", "cohort", "biomarker", "plasma", "cerebrospinal", "phenotype",
    "transgenic", "dosage", "exposure", "blood-brain", "barrier", "selective", "signalling", "kinase",
    "phosphorylation", "aggregation", "oligomer", "fibril", "trial", "endpoint", "placebo", "efficacy",
)  # fmt: skip
CITATIONS = ["PMID:20123456", "10.1038/nn.4125", "@hudry2010", "NCT01234567", "PMID:31415926"]
TARGETS = ["CYP46A1", "TREM2", "NLRP3", "APOE", "SIRT1", "LRRK2", "GBA1", "MAPT", "SNCA", "BACE1"]


def prose(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(CITATIONS) if rng.random() < 0.03 else rng.choice(WORDS))
    return (" ".join(words)[: length - 1] + ".").capitalize()


Rows = dict[str, list[dict[str, Any]]]  # table key -> the rows to insert
MODELS = {"proposer": "gpt-4o-mini", "critic": "gpt-4o-mini", "judge": "gpt-4o-mini"}
SEATS = [("clinician", "chronological"), ("geneticist", "critic-first"), ("medicinal_chemist", "proposer-first")]


@dataclass(frozen=True)
class Plan:
    """What every synthetic debate shares: the rubric, the clock, and one judge model per scoreboard."""

    rubric: Any  # scoring.rubric.Rubric, imported where the database is built
    now: datetime
    judges: list[str]
    boards: list[str]
    protocol: dict[str, Any]


def build(url: str, hypotheses: int, replicates: int, seed: int = 7, scoreboards: int = 1) -> dict[str, int]:
    """Write `hypotheses` x `replicates` completed debates with everything the report reads; replicate r is
    judged by judge model r % `scoreboards`, so its score lands on that model's scoreboard."""
    from scoring.rubric import Rubric
    from store.scoreboards import scoreboard_id

    rng = random.Random(seed)
    rubric = Rubric()
    judges = ["gpt-4o-mini", *(f"judge-{k}" for k in range(1, scoreboards))]
    protocol = {"rounds": 2, "judges": 3, "early_stop": True, "rubric_hash": rubric.hash, "models": MODELS}
    boards = [scoreboard_id(rubric.hash, "p-bench", [j]) for j in judges]
    plan = Plan(rubric, datetime.now(UTC), judges, boards, protocol)
    rows: Rows = {k: [] for k in ("h", "hv", "e", "d", "t", "v", "s", "hs", "u")}
    rows["b"] = [
        {"id": b, "rubric_hash": rubric.hash, "protocol_hash": "p-bench", "judge_models": [j], "demo": False}
        | {"legacy": False, "protocol": protocol, "created_at": plan.now}
        for b, j in zip(boards, judges, strict=True)
    ]
    for i in range(hypotheses):
        add_hypothesis(rows, plan, rng, i, replicates)
    write(url, rows, plan, hypotheses * replicates)
    return {"debates": len(rows["d"]), "hypotheses": hypotheses, "turns": len(rows["t"]), "scoreboards": len(boards)}


def hypothesis_keys(i: int) -> tuple[str, str]:
    """Hypothesis number `i`'s id and content hash."""
    return f"h-{i:08x}", f"{i:064x}"


def add_hypothesis(rows: Rows, plan: Plan, rng: random.Random, i: int, replicates: int) -> None:
    """Hypothesis number `i`, its version and evidence, its `replicates` debates, and its score per scoreboard."""
    from scoring.aggregate import BoardVerdict, board_scores

    h_id, content_hash = hypothesis_keys(i)
    target = TARGETS[i % len(TARGETS)]
    hypothesis = {
        "title": f"{target} {prose(rng, 60)}",
        "targets": [target],
        "target_label": target,
        "mechanism": prose(rng, 500),
        "diseases": ["Alzheimer's disease"],
    }
    rows["h"].append({"id": h_id, "content_hash": content_hash, "pages": [], "version": 1} | hypothesis)
    claims = [{"claim": prose(rng, 200), "citation": CITATIONS[p], "stance": "for"} for p in range(3)]
    rows["e"] += [{"hypothesis_id": h_id, "position": p} | c for p, c in enumerate(claims)]
    rows["hv"].append(
        {"id": f"{h_id}.v1", "hypothesis_id": h_id, "version": 1, "content_hash": content_hash}
        | {"origin": "input", "parent_id": None, "debate_id": None, "content": hypothesis | {"evidence": claims}}
        | {"created_at": plan.now}
    )
    panels: dict[int, list[list[float]]] = {}
    for r in range(replicates):
        board = r % len(plan.boards)
        panels.setdefault(board, []).append(add_debate(rows, plan, rng, i, target, r))
    for board, debates in panels.items():
        # a fixture: each hypothesis's stored interval from its own debates (the report refits the whole board)
        composites = [BoardVerdict(h_id, f"{r}", j, c) for r, panel in enumerate(debates) for j, c in enumerate(panel)]
        score = board_scores(composites)[h_id]
        rows["hs"].append(
            {"scoreboard_id": plan.boards[board], "hypothesis_id": h_id, "content_hash": content_hash, "current": True}
            | {"mean": score.mean, "lo": score.lo, "hi": score.hi, "interval": score.interval}
            | {"se": score.se, "df": score.df}
            | {"debates": score.debates, "verdicts": score.verdicts, "updated_at": plan.now}
        )


def add_debate(rows: Rows, plan: Plan, rng: random.Random, i: int, target: str, r: int) -> list[float]:
    """Replicate `r` of hypothesis number `i`: the debate, its turns and usage, its verdicts and its panel score;
    returns the judges' composites."""
    h_id, content_hash = hypothesis_keys(i)
    d_id = f"d-{i:06x}{r:04x}"
    board = r % len(plan.boards)
    judge_model = plan.judges[board]
    rows["d"].append(
        {"id": d_id, "hypothesis_id": h_id, "hypothesis_hash": content_hash, "protocol_hash": "p-bench"}
        | {"replicate": r, "batch_id": "b-bench001", "status": "completed", "attempts": 1, "rounds_run": 2}
        | {"early_stopped": False, "protocol": plan.protocol, "rubric_hash": plan.rubric.hash, "prompt_hashes": {}}
        | {"models": MODELS, "started_at": plan.now, "finished_at": plan.now + timedelta(seconds=r)}
    )
    turns = [("proposer", "opening", 0, opening(rng, target), "gpt-4o-mini")]
    for rnd in (1, 2):
        turns.append(("critic", "critique", rnd, critique(rng), "gpt-4o-mini"))
        turns.append(("proposer", "rebuttal", rnd, rebuttal(rng), "gpt-4o-mini"))
    turns.append(("critic", "closing", 2, closing(rng), "gpt-4o-mini"))
    composites = add_verdicts(rows, plan, rng, d_id, judge_model, turns)
    for seq, (role, step, rnd, payload, model) in enumerate(turns):
        usage = {"prompt_tokens": rng.randint(600, 2500), "completion_tokens": rng.randint(150, 450)}
        rows["t"].append(
            {"debate_id": d_id, "seq": seq, "round": rnd, "role": role, "step": step, "payload": payload}
            | {"text": json.dumps(payload)[:1500], "model": model, "latency_s": 1.0, "cost_usd": 4e-4}
            | {"attempts": 1, "prompt_hash": "x", "created_at": plan.now}
            | usage
        )
        rows["u"].append(
            {"debate_id": d_id, "batch_id": None, "role": role, "model": model, "latency_s": 1.0}
            | {"attempts": 1, "cost_usd": 4e-4, "ok": True, "created_at": plan.now + timedelta(seconds=1)}
            | usage
        )
    mean = sum(composites) / 3
    spread = (sum((c - mean) ** 2 for c in composites) / 3) ** 0.5
    rows["s"].append(
        {"debate_id": d_id, "hypothesis_id": h_id, "content_hash": content_hash, "scoreboard_id": plan.boards[board]}
        | {"mean": mean, "spread": spread, "n": 3, "rubric_hash": plan.rubric.hash, "judge_models": [judge_model]}
        | {"prompt_hashes": {}}
    )
    return composites


def add_verdicts(
    rows: Rows, plan: Plan, rng: random.Random, d_id: str, judge_model: str, turns: list[tuple[Any, ...]]
) -> list[float]:
    """The three seats' verdicts on debate `d_id`, each also appended to `turns`; returns their composites."""
    rubric = plan.rubric
    composites = []
    for judge, (persona, order) in enumerate(SEATS, 1):
        scores = {d: rng.randint(3, 9) for d in rubric.dimensions}
        rationales = {d: prose(rng, 110) for d in rubric.dimensions}
        verdict = {"reasoning": prose(rng, 500), "rationales": rationales, "scores": scores}
        verdict |= {"summary": prose(rng, 280), "judge": judge, "persona": persona, "order": order}
        turns.append(("judge", "verdict", 2, verdict | {"model": judge_model}, judge_model))
        composite = sum(w * (scores[d] - 1) / 9 for d, w in rubric.dimensions.items()) / rubric.total_weight
        composites.append(composite)
        rows["v"].append(
            {"debate_id": d_id, "judge": judge, "scores": scores, "rationales": rationales}
            | {"summary": verdict["summary"], "reasoning": verdict["reasoning"], "composite": composite}
            | {"model": judge_model, "persona": persona, "material_order": order, "rubric_hash": rubric.hash}
        )
    return composites


def write(url: str, rows: Rows, plan: Plan, debates: int) -> None:
    """Store the batch row and every row of `rows` in the database at `url`, table by table."""
    from sqlalchemy import insert

    from store import models as m
    from store.engine import open_store

    sessions = open_store(url)
    with sessions() as s:
        s.add(
            m.BatchRow(
                id="b-bench001",
                source="bench",
                protocol_hash="p-bench",
                protocol=plan.protocol,
                provider="openai",
                models=MODELS,
                status="completed",
                debates_completed=debates,
                debates_failed=0,
                debates_skipped=0,
                wall_s=1234.5,
                started_at=plan.now - timedelta(hours=1),
                finished_at=plan.now,
            )
        )
        tables = {"b": m.ScoreboardRow, "h": m.HypothesisRow, "hv": m.HypothesisVersionRow, "e": m.EvidenceRow}
        tables |= {"d": m.DebateRow, "t": m.TurnRow, "v": m.VerdictRow, "s": m.ScoreRow, "hs": m.HypothesisScoreRow}
        for key, model in (tables | {"u": m.UsageRow}).items():
            s.execute(insert(model), rows[key])
        s.commit()
    sessions.close()


def opening(rng: random.Random, target: str) -> dict[str, Any]:
    return {
        "claim": f"{target}: {prose(rng, 400)}",
        "mechanism": prose(rng, 500),
        "evidence": [prose(rng, 220) for _ in range(3)],
        "prediction": prose(rng, 200),
    }


def critique(rng: random.Random) -> dict[str, Any]:
    return {
        "points": [{"point": prose(rng, 220), "severity": rng.choice(["minor", "major", "fatal"])} for _ in range(3)],
        "counter_evidence": [prose(rng, 200) for _ in range(2)],
        "alternative_explanations": [prose(rng, 200)],
        "concede": False,
    }


def rebuttal(rng: random.Random) -> dict[str, Any]:
    answers = [{"point": p, "answer": prose(rng, 220), "resolved": rng.random() < 0.5} for p in (1, 2)]
    return {"answers": answers, "revised_claim": prose(rng, 420) if rng.random() < 0.6 else ""}


def closing(rng: random.Random) -> dict[str, Any]:
    assessments = [{"point": p, "resolved": rng.random() < 0.4, "reason": prose(rng, 200)} for p in (1, 2, 3)]
    return {"assessments": assessments, "remaining_concerns": [prose(rng, 200)], "summary": prose(rng, 450)}


def measure(url: str) -> dict[str, float]:
    """Load and render twice: timed, then under tracemalloc (which slows Python down) for the peak."""
    from report.data import load_report
    from report.render import render_html, render_markdown
    from store.engine import open_store

    sessions = open_store(url)

    def once() -> tuple[float, float, float, int]:
        t0 = time.perf_counter()
        with sessions() as session:
            data = load_report(session, batch_id="b-bench001")
        t1 = time.perf_counter()
        html = render_html(data)
        t2 = time.perf_counter()
        render_markdown(data)
        return t1 - t0, t2 - t1, time.perf_counter() - t2, len(html.encode())

    load_s, html_s, md_s, size = once()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before tracemalloc adds its own
    tracemalloc.start()
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sessions.close()
    return {
        "load_s": load_s,
        "html_s": html_s,
        "md_s": md_s,
        "html_mb": size / 1e6,
        "tracemalloc_mb": peak / 2**20,
        "rss_mb": rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hypotheses", type=int, default=250)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--scoreboards", type=int, default=1, help="judge models the replicates are split between")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        t0 = time.perf_counter()
        built = build(url, args.hypotheses, args.replicates, scoreboards=max(1, args.scoreboards))
        build_s = time.perf_counter() - t0
        command = [sys.executable, "-m", "bench.report_generation", "--measure", url]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
    total = r["load_s"] + r["html_s"]
    ok = total < TARGET_S and r["rss_mb"] < TARGET_MB
    rows = [
        ("debates (hypotheses x replicates)", f"{built['debates']:,} ({built['hypotheses']} x {args.replicates})"),
        ("turns", f"{built['turns']:,}"),
        ("scoreboards (one ranked table each)", f"{built['scoreboards']}"),
        ("database built in", f"{build_s:.1f} s"),
        ("load_report", f"{r['load_s']:.2f} s"),
        ("render_html", f"{r['html_s']:.2f} s"),
        ("load + HTML", f"{total:.2f} s"),
        ("HTML size", f"{r['html_mb']:.1f} MB"),
        ("render_markdown", f"{r['md_s']:.2f} s"),
        ("tracemalloc peak (load + HTML + Markdown)", f"{r['tracemalloc_mb']:.0f} MB"),
        ("peak RSS of the report process", f"{r['rss_mb']:.0f} MB"),
        (f"target (< {TARGET_S:.0f} s, < {TARGET_MB:.0f} MB)", "met" if ok else "MISSED"),
    ]
    print_table(
        "report generation (synthetic batch)", ("measure", "value"), rows, left={"measure"}, title_justify="left"
    )


if __name__ == "__main__":
    main()
