"""`hypodebate eval` against scripted judges behind the real openai client (a loopback server).

A judge of known skill: each labelled row gets a latent quality z = d·label + N(0, 1) and every rubric score
leans towards it, so the true AUROC (and pairwise accuracy) is Φ(d/√2); eval must recover it within its interval.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from scipy.stats import norm
from sqlalchemy import select
from typer.testing import CliRunner

from debates.eval_figures import strata_of
from debates.inputs import InputError, load_hypotheses
from debates.labelled import load_labelled, stratified_sample
from hypodebate.api import run_eval
from hypodebate.cli import app
from hypodebate.commands.eval import print_eval
from store.engine import open_store
from store.models import EvalItemRow, HypothesisRow
from store.pages import hypothesis_entity_sources
from tests.fakes import Reply, synthesize
from tests.helpers import query_rows, settings_for

DEV = Path(__file__).resolve().parents[1] / "examples" / "eval"
TARGETS = DEV / "target_disease_outcomes.dev.jsonl"
BIODSA = DEV / "biodsa_hypotheses.dev.jsonl"


class NoisyJudge:
    """A judge that ignores the debate and is noisy: each verdict moves the row's latent quality by one draw of
    N(0, 1) (seeded by the prompt, which names the judge's seat, so a repeated call answers alike) before scoring
    as SkilledJudge does. Averaging K verdicts shrinks the noise, so a panel of 3 beats one verdict whatever the
    debate says."""

    def __init__(self, latent: dict[str, float]):
        self.judge = SkilledJudge(latent)
        self.latent = latent

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = "\n".join(str(m.get("content") or "") for m in body["messages"])
        if "You are JUDGE" not in text or "of the tournament" in text:
            return self.judge(body)
        title = re.search(r"^Title: (.*)$", text, re.M).group(1)  # type: ignore[union-attr]
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        noisy = {title: self.latent[title] + float(np.random.default_rng(seed).standard_normal())}
        return SkilledJudge(noisy)(body)


class SkilledJudge:
    """Answers every role like FakeDebater; a verdict's ten scores lean towards the row's latent quality z."""

    def __init__(self, latent: dict[str, float]):
        self.latent = latent  # title -> z
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = "\n".join(str(m.get("content") or "") for m in body["messages"])
        with self._lock:
            self.prompts.append(text)
        title = re.search(r"^Title: (.*)$", text, re.M).group(1)  # type: ignore[union-attr]
        schema = body["tools"][0]["function"]["parameters"]
        if "of the tournament" in text:  # a pairwise judge: the row of higher latent quality wins, in either order
            first, second = re.findall(r"^Title: (.*)$", text, re.M)[:2]
            choice = "A" if self.latent[first] > self.latent[second] else "B"
            args = synthesize(
                schema,
                pick=lambda path, options: (
                    choice if path == "overall" or path.startswith("dimensions.") else options[0]
                ),
                text=f"{first} against {second}",
            )
            return Reply(tool_args=args, prompt_tokens=120, completion_tokens=40)
        if "You are JUDGE" not in text:  # the debaters speak about the row's own title (it may name no target)
            args = synthesize(schema, pick=lambda path, options: options[0], text=f"On {title}")
            return Reply(tool_args=args, prompt_tokens=100, completion_tokens=50)
        z = self.latent[title]
        dims = list(schema["properties"]["scores"]["properties"])

        def pick(path: str, options: list[Any]) -> Any:
            if path.startswith("scores."):
                offset = (dims.index(path.removeprefix("scores.")) - 4.5) / 10  # dithering: a finer composite
                return int(min(10, max(1, round(5.5 + 1.5 * z + offset))))
            return options[0]

        return Reply(
            tool_args=synthesize(schema, pick=pick, text=f"{title} judged"), prompt_tokens=80, completion_tokens=40
        )


def test_the_pairwise_protocol_ranks_rows_by_tournament_and_recovers_a_known_skill(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    latent = known_skill_rows(path, 1.0, pairs=20, seed=3)
    judge = SkilledJudge(latent)
    server = judge_server(judge)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    result = run_eval(
        path, settings=settings_for(server, tmp_path, concurrency=16), db=db, protocols=["single", "pairwise"]
    )
    pairwise = result["protocols"]["pairwise"]
    assert pairwise["design"] == "pairwise" and pairwise["n"] == 40 and pairwise["missing"] == 0
    truth = float(norm.cdf(1 / math.sqrt(2)))
    assert pairwise["auroc"]["lo"] <= truth <= pairwise["auroc"]["hi"] and pairwise["auroc"]["lo"] > 0.5
    assert pairwise["brier"] is None and pairwise["ece"] is None  # ratings are not probabilities of holding
    assert pairwise["pairwise_accuracy"]["pairs"] == 20 and pairwise["calls"] > 0
    assert "pairwise − single" in result["lift"]
    # the tournament judged stated hypotheses only: no label, and no debate digest, ever reached its prompts
    compared = [p for p in judge.prompts if "of the tournament" in p]
    assert compared and all("It has not been debated yet." in p and "label" not in p for p in compared)
    calls = server.calls
    again = run_eval(
        path, settings=settings_for(server, tmp_path, concurrency=16), db=db, protocols=["single", "pairwise"]
    )
    assert server.calls == calls and again["protocols"]["pairwise"]["auroc"] == pairwise["auroc"]


def known_skill_rows(path: Path, d: float, pairs: int, seed: int) -> dict[str, float]:
    """`pairs` true/false pairs of labelled rows; returns title -> latent z = d·label + N(0, 1)."""
    rng = np.random.default_rng(seed)
    latent: dict[str, float] = {}
    with path.open("w", encoding="utf-8") as out:
        for k in range(pairs):
            for label in (1, 0):
                title = f"Finding {k} {'holds' if label else 'fails'} in tumour cohort {k % 7}"
                latent[title] = d * label + float(rng.standard_normal())
                row = {"id": f"p{k}_{label}", "title": title, "evidence": [], "label": label, "pair": f"p{k}"}
                out.write(json.dumps(row) + "\n")
    return latent


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_a_judge_of_known_skill_is_recovered_within_the_interval(d, tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    latent = known_skill_rows(path, d, pairs=200, seed=7)
    server = judge_server(SkilledJudge(latent))
    result = run_eval(
        path,
        settings=settings_for(server, tmp_path, concurrency=16),
        db=f"sqlite:///{tmp_path / 'e.db'}",
        protocols=["single"],
    )
    truth = float(norm.cdf(d / math.sqrt(2)))
    single = result["protocols"]["single"]
    assert single["n"] == 400 and single["missing"] == 0 and single["positives"] == 200
    assert single["auroc"]["lo"] <= truth <= single["auroc"]["hi"]
    pairs = single["pairwise_accuracy"]
    assert pairs["pairs"] == 200 and pairs["lo"] <= truth <= pairs["hi"]
    if d:
        assert single["auroc"]["lo"] > 0.6  # a real skill is told apart from chance
    else:
        assert single["auroc"]["lo"] < 0.5 < single["auroc"]["hi"]
    assert result["bootstrap"] == {"resamples": 2000, "seed": 0, "level": 0.95, "clusters": 200}  # the pairs
    assert result["base_rate"] == 0.5


def test_the_label_never_reaches_a_prompt(tmp_path, judge_server):
    rows = stratified_sample(load_labelled([TARGETS, BIODSA]), 8, seed=3)
    files = [shutil.copy(TARGETS, tmp_path), shutil.copy(BIODSA, tmp_path)]
    judge = SkilledJudge({r.subject.title: 0.0 for r in rows})
    server = judge_server(judge)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    settings = settings_for(server, tmp_path, concurrency=16)
    result = run_eval(files, settings=settings, db=db, limit=8, sample_seed=3, rounds=1, judges=2, no_evidence=True)
    assert set(result["protocols"]) == {"single", "debate", "single:no-evidence", "debate:no-evidence"}
    assert {p["missing"] for p in result["protocols"].values()} == {0}
    assert judge.prompts and server.calls == len(judge.prompts)
    secrets = {r.row.id for r in rows} | {r.row.label_meaning for r in rows if r.row.label_meaning}
    secrets |= {r.row.paper_title for r in rows if r.row.paper_title} | {"label_meaning", '"label"', "Launched"}
    for prompt in judge.prompts:
        assert not [s for s in secrets if s in prompt]
    # the outcome is stored apart: in eval_items, with both variants of every row
    with open_store(db)() as session:
        items = session.scalars(select(EvalItemRow)).all()
        assert len(items) == 2 * len(rows) and {i.label for i in items} == {0, 1}
        assert not hasattr(HypothesisRow, "label")
        assert not hypothesis_entity_sources(session)  # eval rows are kept off wiki pages
    evidence = [e.claim for r in rows for e in r.subject.evidence]
    without = [p for p in judge.prompts if "none supplied" in p]
    assert without and evidence and not [p for p in without if any(c in p for c in evidence)]


def test_a_repeated_eval_costs_nothing_and_a_cut_one_resumes(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    latent = known_skill_rows(path, 1.0, pairs=10, seed=1)
    server = judge_server(SkilledJudge(latent))
    settings = settings_for(server, tmp_path, concurrency=16)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    options: dict[str, Any] = {"settings": settings, "db": db, "rounds": 1, "judges": 2}
    cut = run_eval(path, budget_tokens=2_000, **options)  # the budget stops it part way
    assert cut["protocols"]["single"]["missing"] + cut["protocols"]["debate"]["missing"] > 0
    first = run_eval(path, **options)
    calls = server.calls
    again = run_eval(path, **options)
    assert server.calls == calls  # nothing asked twice
    for result in (first, again):
        assert {p["missing"] for p in result["protocols"].values()} == {0}
    drop = {"generated_at"}
    assert {k: v for k, v in first.items() if k not in drop} == {k: v for k, v in again.items() if k not in drop}
    # a fresh database asks exactly as many questions: the cut run lost and repeated nothing
    fresh = judge_server(SkilledJudge(latent))
    run_eval(
        path,
        **{
            **options,
            "settings": settings_for(fresh, tmp_path, concurrency=16),
            "db": f"sqlite:///{tmp_path / 'f.db'}",
        },
    )
    assert fresh.calls == calls


def test_each_protocol_shows_its_own_spending_and_a_budget_caps_the_whole_eval(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    server = judge_server(SkilledJudge(known_skill_rows(path, 1.0, pairs=10, seed=2)))
    last: dict[str, Any] = {}
    options: dict[str, Any] = {"settings": settings_for(server, tmp_path, concurrency=16), "rounds": 1, "judges": 2}
    result = run_eval(path, db=f"sqlite:///{tmp_path / 'e.db'}", progress=last.__setitem__, **options)
    for name in ("single", "debate"):  # the debate's line does not carry the single judge's calls
        shown, stored = last[name], result["protocols"][name]
        assert shown.calls == stored["calls"] and shown.tokens == stored["prompt_tokens"] + stored["completion_tokens"]
    assert server.calls == last["single"].calls + last["debate"].calls
    # a budget is the eval's, all protocols together: spent on the single judge, the debate starts nothing
    fresh = judge_server(SkilledJudge(known_skill_rows(path, 1.0, pairs=10, seed=2)))
    capped = {**options, "settings": settings_for(fresh, tmp_path, concurrency=16), "budget_tokens": 1}
    cut = run_eval(path, db=f"sqlite:///{tmp_path / 'f.db'}", **capped)
    assert cut["protocols"]["debate"]["n"] == 0 and cut["protocols"]["debate"]["calls"] == 0


def test_debate_lift_over_the_single_judge_is_a_paired_interval(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    server = judge_server(SkilledJudge(known_skill_rows(path, 1.0, pairs=30, seed=2)))
    result = run_eval(
        path,
        settings=settings_for(server, tmp_path, concurrency=16),
        db=f"sqlite:///{tmp_path / 'e.db'}",
        rounds=1,
        judges=1,
    )
    lift = result["lift"]["debate − single"]
    # the scripted judge ignores the debate: both protocols score alike, so the lift is exactly 0
    compares = "debate (1 judge) − single call (1 judge, no debate)"
    assert lift == {"value": 0.0, "lo": 0.0, "hi": 0.0, "n": 60, "compares": compares}
    debate, single = result["protocols"]["debate"], result["protocols"]["single"]
    assert debate["calls"] > single["calls"] == 60
    assert debate["protocol_hash"] != single["protocol_hash"] and debate["scoreboard"] != single["scoreboard"]
    assert single["design"] == "single-judge" and single["judges"] == 1 and debate["rounds"] == 1


def test_a_judge_that_ignores_the_debate_shows_no_lift_with_equal_panels(tmp_path, judge_server):
    """The single arm has the debate's panel (3 independent calls, no debate): a judge that ignores the debate
    gains nothing from it, and the lift's interval covers 0 (with 3 judges against 1 it would be the averaging)."""
    path = tmp_path / "skill.jsonl"
    server = judge_server(NoisyJudge(known_skill_rows(path, 1.0, pairs=40, seed=6)))
    settings = settings_for(server, tmp_path, concurrency=16)
    result = run_eval(path, settings=settings, db=f"sqlite:///{tmp_path / 'e.db'}", rounds=1, judges=3)
    single, debate = result["protocols"]["single"], result["protocols"]["debate"]
    assert single["judges"] == debate["judges"] == 3 and single["calls"] == 3 * 80 and single["rounds"] == 0
    lift = result["lift"]["debate − single"]
    assert lift["compares"] == "debate (3 judges) − single call (3 judges, no debate)"
    assert lift["lo"] < 0 < lift["hi"] and lift["n"] == 80
    out = Console(record=True, width=250)
    print_eval(result, out)
    printed = " ".join(out.export_text().split())
    assert "lift: debate (3 judges) − single call (3 judges, no debate): AUROC" in printed
    assert "the interval includes 0: no detectable lift" in printed


def test_a_changed_single_panel_is_scored_anew_not_read_from_the_one_judge_results(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    server = judge_server(NoisyJudge(known_skill_rows(path, 1.0, pairs=10, seed=8)))
    options: dict[str, Any] = {"settings": settings_for(server, tmp_path, concurrency=16), "protocols": ["single"]}
    db = f"sqlite:///{tmp_path / 'e.db'}"
    one = run_eval(path, db=db, judges=1, **options)["protocols"]["single"]
    calls = server.calls
    three = run_eval(path, db=db, judges=3, **options)["protocols"]["single"]
    assert (one["judges"], three["judges"]) == (1, 3)
    assert three["protocol_hash"] != one["protocol_hash"] and three["scoreboard"] != one["scoreboard"]
    assert server.calls - calls == 3 * 20 == three["calls"] and three["missing"] == 0
    again = run_eval(path, db=db, judges=1, **options)["protocols"]["single"]
    assert server.calls - calls == 60 and again["auroc"] == one["auroc"]  # the 1-judge arm is still stored


def test_the_json_carries_ece_with_its_interval_and_floor_and_flags_too_small_strata(tmp_path, judge_server):
    path = tmp_path / "strata.jsonl"
    latent: dict[str, float] = {}
    with path.open("w", encoding="utf-8") as out:
        for k in range(30):
            rare = k < 10
            label = int(k % 4 == 0) if rare else int(k % 2 == 0)  # rare: 3 of 10 held; common: 10 of 20
            title = f"Finding {k} holds in cohort {k}"
            latent[title] = label + (k % 7 - 3) / 3
            out.write(json.dumps({"id": f"r{k}", "title": title, "label": label, "strata": {"rare": rare}}) + "\n")
    server = judge_server(SkilledJudge(latent))
    settings = settings_for(server, tmp_path, concurrency=16)
    data = tmp_path / "eval.json"
    result = run_eval(path, settings=settings, db=f"sqlite:///{tmp_path / 'e.db'}", protocols=["single"], judges=1)
    single = result["protocols"]["single"]
    assert set(single["ece"]) == {"value", "lo", "hi", "floor"}
    assert single["ece"]["lo"] <= single["ece"]["value"] <= single["ece"]["hi"] and single["ece"]["floor"] > 0
    assert single["too_small"] is False and single["judges"] == 1
    assert single["strata"]["rare=true"]["too_small"] is True  # 3 rows labelled 1
    assert single["strata"]["rare=false"]["too_small"] is False
    assert set(single["strata"]["rare=false"]["ece"]) == {"value", "lo", "hi", "floor"}
    data.write_text(json.dumps(result), encoding="utf-8")
    edges = json.loads(data.read_text(encoding="utf-8"))["protocols"]["single"]["calibration"]
    assert [b["lo"] for b in edges] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert '"lo": 0.3,' in json.dumps(edges) and "0.30000000000000004" not in data.read_text(encoding="utf-8")


def test_replicates_give_test_retest(tmp_path, judge_server):
    path = tmp_path / "skill.jsonl"
    server = judge_server(SkilledJudge(known_skill_rows(path, 1.0, pairs=10, seed=4)))
    settings = settings_for(server, tmp_path, concurrency=16)
    result = run_eval(path, settings=settings, db=f"sqlite:///{tmp_path / 'e.db'}", protocols=["single"], replicates=2)
    single = result["protocols"]["single"]
    assert single["replicates"] == 2 and single["judges"] == 3 and single["calls"] == 3 * 40  # the default panel
    assert single["test_retest"] == pytest.approx(1.0)  # a deterministic judge agrees with itself


def test_a_stratified_sample_keeps_pairs_whole_and_the_label_mix(tmp_path):
    rows = load_labelled([TARGETS, BIODSA])
    sample = stratified_sample(rows, 60, seed=0)
    targets = [r for r in sample if r.dataset.startswith("target")]
    biodsa = [r for r in sample if r.dataset.startswith("biodsa")]
    assert len(targets) == 60 and sum(r.label for r in targets) == round(60 * 136 / 489)
    assert len(biodsa) == 60 and sorted(r.label for r in biodsa) == [0] * 30 + [1] * 30
    pairs: dict[str, list[int]] = {}
    for r in biodsa:
        pairs.setdefault(r.row.pair or "", []).append(r.label)
    assert all(sorted(v) == [0, 1] for v in pairs.values())
    assert [r.key for r in stratified_sample(rows, 60, seed=0)] == [r.key for r in sample]
    assert [r.key for r in stratified_sample(rows, 60, seed=1)] != [r.key for r in sample]


def test_each_stratum_is_set_against_its_own_base_rate(tmp_path, judge_server):
    path = tmp_path / "strata.jsonl"
    latent: dict[str, float] = {}
    rng = np.random.default_rng(4)
    with path.open("w", encoding="utf-8") as out:
        for k in range(40):
            early = k < 10
            label = int(k % 2 == 0) if early else int(k % 5 == 0)  # early: 5 of 10 held; later: 6 of 30
            title = f"Finding {k} holds in cohort {k}"
            latent[title] = label + float(rng.standard_normal())
            row = {"id": f"r{k}", "title": title, "evidence": [], "label": label, "strata": {"early": early}}
            out.write(json.dumps(row) + "\n")
    server = judge_server(SkilledJudge(latent))
    db = f"sqlite:///{tmp_path / 'e.db'}"
    result = run_eval(path, settings=settings_for(server, tmp_path, concurrency=16), db=db, protocols=["single"])
    single = result["protocols"]["single"]
    for stratum, rate in (("early=true", 0.5), ("early=false", 0.2)):  # a Brier score's bar is its rows' p(1 - p)
        assert single["strata"][stratum]["base_rate_brier"] == pytest.approx(rate * (1 - rate))
    assert single["base_rate_brier"] == pytest.approx(result["base_rate_brier"]) == pytest.approx(11 / 40 * 29 / 40)


def test_strata_are_the_boolean_keys_and_recent_launches_against_every_failure():
    rows = load_labelled([TARGETS])
    strata, skipped = strata_of(rows)
    assert set(strata) == {"neurodegeneration=true", "neurodegeneration=false", "year_launch >= 2018"}
    assert len(strata["neurodegeneration=true"]) == 89
    recent = [rows[i] for i in strata["year_launch >= 2018"]]
    assert sum(r.label == 0 for r in recent) == 353
    assert all(r.row.year_launch >= 2018 for r in recent if r.label == 1) and any(r.label == 1 for r in recent)
    assert "mesh_id" in skipped and "identifier" in skipped["mesh_id"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "a", "title": "A finding", "label": 2}', "bad.jsonl:2: label: "),
        ('{"id": "a", "title": "A finding", "label": true}', "bad.jsonl:2: label: "),
        ('{"id": "a", "title": "A finding"}', "bad.jsonl:2: label: "),
        ('{"id": "a b", "title": "A finding", "label": 1}', "bad.jsonl:2: id: "),
        ('{"id": "a", "title": "A finding", "label": 1, "outcome": 1}', "bad.jsonl:2: outcome: unknown field"),
        (
            '{"id": "a", "title": "A finding", "label": 1, "evidence": [{"claim": "x y z", "citation": "see"}]}',
            "bad.jsonl:2: evidence.0.citation: ",
        ),
        ('{"id": "ok", "title": "A repeated finding", "label": 1}', "bad.jsonl:2: duplicate row id ok"),
        (
            '{"id": "a", "title": "A finding", "label": 1, "strata": {"x": NaN}}',
            "bad.jsonl:2: strata.x: NaN is not a finite number (expected a number, or null)",
        ),
        ('{"id": "a", "title": "A finding", "label": 1, "strata": {"x": -Infinity}}', "bad.jsonl:2: strata.x: -Inf"),
        ('{"id": "a", "title": "A finding", "label": 1, "strata": {"x": 2e308}}', "bad.jsonl:2: strata.x: 2e308 is"),
        ('{"id": "a", "title": "A finding", "label": 1, "label": 0}', "bad.jsonl:2: label: duplicate key (each key"),
        ('{"id": "a", "title": "A finding", "label": 1, "strata": {"x": 1, "x": 2}}', "bad.jsonl:2: strata.x: dupl"),
    ],
)
def test_a_bad_row_is_one_line_naming_file_line_and_field(tmp_path, line, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "title": "A good finding", "label": 0}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_labelled([path])
    assert str(caught.value).removeprefix(f"{tmp_path}/").startswith(expected)
    assert "\n" not in str(caught.value)


def test_eval_refuses_nan_in_a_row_with_one_line_and_stores_nothing(tmp_path, any_db, judge_server, monkeypatch):
    """PostgreSQL's JSON columns refuse NaN (a driver DataError and a long traceback); SQLite stored it."""
    judge = SkilledJudge({})
    monkeypatch.setenv("OPENAI_BASE_URL", judge_server(judge).url)
    path = tmp_path / "rows.jsonl"
    rows = ['{"id": "a", "title": "A good finding", "label": 0}', '{"id": "b", "title": "A finding", "label": 1}']
    path.write_text(rows[0] + "\n" + rows[1][:-1] + ', "strata": {"phase": NaN}}\n', encoding="utf-8")
    (tmp_path / "config.yaml").write_text("{}\n", encoding="utf-8")
    args = ["eval", str(path), "--db", any_db, "--config", str(tmp_path / "config.yaml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {path}:2: strata.phase: NaN is not a finite number (expected a number, or null)\n"
    open_store(any_db).close()  # migrated, so that the tables exist to be counted
    counts = "select (select count(*) from eval_items), (select count(*) from hypotheses)"
    assert [tuple(r) for r in query_rows(any_db, counts)] == [(0, 0)]
    assert judge.prompts == []


def test_a_pair_must_be_one_true_and_one_false_row(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"id": f"r{i}", "title": f"Finding number {i}", "label": 1, "pair": "p1"} for i in range(2)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="pair 'p1' has labels \\[1, 1\\]"):
        load_labelled([path])


def test_ordinary_hypothesis_files_stay_strict(tmp_path):
    path = Path(shutil.copy(TARGETS, tmp_path))
    with pytest.raises(InputError, match=r"target_disease_outcomes.dev.jsonl:1 .*(id|mechanism|label)"):
        load_hypotheses([path])


def test_the_command_prints_the_table_and_writes_html_and_json(tmp_path, judge_server, monkeypatch):
    path = tmp_path / "skill.jsonl"
    server = judge_server(SkilledJudge(known_skill_rows(path, 1.0, pairs=15, seed=5)))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-do-not-print")
    html, data = tmp_path / "eval.html", tmp_path / "eval.json"
    args = ["eval", str(path), "--rounds", "1", "--judges", "1", "--db", f"sqlite:///{tmp_path / 'e.db'}"]
    result = CliRunner().invoke(app, [*args, "-o", str(html), "--json", str(data)])
    assert result.exit_code == 0, result.output
    assert "AUROC" in result.output and "base rate" in result.output
    assert "lift: debate (1 judge) − single call (1 judge, no debate): AUROC" in result.output
    figures = json.loads(data.read_text(encoding="utf-8"))
    assert set(figures) >= {"model", "protocols", "base_rate"}
    for name in ("single", "debate"):
        p = figures["protocols"][name]
        assert set(p["auroc"]) == {"value", "lo", "hi"} and set(p["pairwise_accuracy"]) == {
            "value",
            "lo",
            "hi",
            "pairs",
        }
        assert {"n", "brier", "ece", "strata", "protocol_hash", "scoreboard", "cost_usd"} <= set(p)
        assert set(p["ece"]) == {"value", "lo", "hi", "floor"} and p["judges"] == 1 and p["too_small"] is False
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page and figures["protocols"]["debate"]["protocol_hash"] in page
    assert "sk-secret" not in result.output + page + data.read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["eval", str(path), "--protocol", "bracket"])
    assert bad.exit_code == 2
