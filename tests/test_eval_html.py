"""The eval report (report/eval_html.py): what a scientist reading eval.html would notice, and that hostile
file, model and stratum names land escaped in a page that loads nothing and runs nothing."""

from __future__ import annotations

import copy
import re
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pytest
from rich.console import Console

from hypodebate.commands.eval import print_eval
from report.eval_html import render_eval_html

COMPARES = "debate (2 judges) − single call (2 judges, no debate)"
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</svg><script>")


def calibration(counts: list[int]) -> list[dict]:
    bins = []
    for i, n in enumerate(counts):
        lo, hi = i / 10, (i + 1) / 10
        bins.append(
            {
                "lo": lo,
                "hi": hi,
                "n": n,
                "mean_score": (lo + hi) / 2 if n else None,
                "fraction_positive": round(0.1 * i, 2) if n else None,
            }
        )
    return bins


def protocol(**overrides) -> dict:
    p = {
        "design": "single-judge",
        "evidence": True,
        "rounds": 0,
        "judges": 1,
        "replicates": 1,
        "protocol_hash": "ab12cd34ef56",
        "rubric_hash": "1234abcd",
        "scoreboard": "s-0a1b2c3d",
        "judge_models": ["SmolLM2-135M-Instruct"],
        "n": 118,
        "missing": 2,
        "positives": 50,
        "auroc": {"value": 0.51, "lo": 0.40, "hi": 0.62},
        "too_small": False,
        "brier": 0.27,
        "ece": {"value": 0.21, "lo": 0.15, "hi": 0.29, "floor": 0.133},
        "pairwise_accuracy": {"value": 0.5, "lo": 0.4, "hi": 0.6, "pairs": 30},
        "test_retest": 0.12,
        "calls": 118,
        "prompt_tokens": 90000,
        "completion_tokens": 30000,
        "cost_usd": 0.0,
        "calibration": calibration([0, 3, 10, 20, 30, 25, 15, 10, 5, 0]),
        "histogram": {
            "edges": [i / 10 for i in range(11)],
            "positive": [0, 1, 3, 7, 12, 11, 8, 5, 3, 0],
            "negative": [0, 2, 7, 13, 18, 14, 7, 5, 2, 0],
        },
        "strata": {
            "neurodegeneration=true": {
                "n": 20,
                "positives": 5,
                "auroc": {"value": 0.47, "lo": 0.21, "hi": 0.73},
                "brier": 0.281,
                "too_small": False,
                "base_rate_brier": 0.1875,
                "ece": {"value": 0.19, "lo": 0.1, "hi": 0.3, "floor": 0.25},
                "pairwise_accuracy": None,
            },
            "year_launch>=2018": {
                "n": 31,
                "positives": 9,
                "auroc": {"value": 0.55, "lo": 0.33, "hi": 0.77},
                "too_small": False,
                "brier": 0.244,
                "ece": {"value": 0.12, "lo": 0.08, "hi": 0.2, "floor": 0.22},
                "pairwise_accuracy": None,
            },
            "file=small": {
                "n": 6,
                "positives": 2,
                "too_small": True,
                "auroc": {"value": 0.88, "lo": 0.5, "hi": 1.0},
                "brier": 0.111,
                "base_rate_brier": 0.222,
                "ece": {"value": 0.3, "lo": 0.1, "hi": 0.5, "floor": 0.4},
                "pairwise_accuracy": None,
            },
        },
    }
    p.update(overrides)
    return p


def result(**overrides) -> dict:
    r = {
        "generated_at": "2026-11-26T13:00:00Z",
        "files": ["target_disease_outcomes.dev.jsonl", "biodsa_hypotheses.dev.jsonl"],
        "rows": 120,
        "sample": {"limit": 60, "seed": 0},
        "bootstrap": {"resamples": 2000, "seed": 0, "level": 0.95, "clusters": 90},
        "model": "SmolLM2-135M-Instruct",
        "demo": True,
        "base_rate": 0.42,
        "base_rate_brier": 0.2436,
        "protocols": {
            "single": protocol(),
            "debate": protocol(
                design="symmetric-closing",
                rounds=1,
                judges=2,
                protocol_hash="ffee99887766",
                scoreboard="s-deadbeef",
                judge_models=["SmolLM2-135M-Instruct", "Qwen2.5-7B-Instruct"],
                auroc={"value": 0.54, "lo": 0.43, "hi": 0.65},
                brier=0.262,
                ece={"value": 0.173, "lo": 0.12, "hi": 0.24, "floor": 0.18},
                pairwise_accuracy=None,
                test_retest=None,
                calls=590,
                prompt_tokens=1_200_000,
                completion_tokens=240_000,
                cached_prompt_tokens=480_000,
                cost_usd=1.2345,
            ),
        },
        "lift": {"debate − single": {"value": 0.03, "lo": -0.08, "hi": 0.14, "n": 110, "compares": COMPARES}},
        "strata_skipped": {"mesh_id": "an identifier (214 distinct values), not a stratum"},
    }
    r.update(overrides)
    return r


class Page(HTMLParser):
    """The elements of a rendered page, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def row(html: str, protocol_key: str) -> str:
    """The text of the main table's row for one protocol (tags dropped)."""
    match = re.search(
        rf'<tr class="(?:protocol|baseline)"[^>]*data-protocol="{re.escape(protocol_key)}">(.*?)</tr>', html
    )
    assert match, f"no row for {protocol_key}"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def squash(text: str) -> str:
    return " ".join(text.split())


# -- what the page shows --------------------------------------------------------------------------


def test_main_table_shows_each_protocol_with_its_intervals_and_the_base_rate():
    html = render_eval_html(result())
    assert "<h1>Evaluation against real outcomes</h1>" in html
    single = squash(row(html, "single"))
    assert "0.51 [0.40, 0.62]" in single
    assert "0.270" in single and "0.210 [0.150, 0.290]" in single  # Brier and ECE with 3 decimals
    assert "above the noise floor 0.133" in single
    assert "0.50 [0.40, 0.60]" in single and " 30 " in f" {single} "  # pairwise accuracy and its pairs
    assert "0.12" in single and "118" in single
    debate = squash(row(html, "debate"))
    assert "0.54 [0.43, 0.65]" in debate and "0.262" in debate and "0.173 [0.120, 0.240]" in debate
    assert "within the noise floor 0.180" in debate
    base = squash(row(html, "base rate"))
    assert "0.42" in base and "0.50" in base and "0.244" in base and "120" in base


def test_null_values_show_as_a_dash_and_never_as_none_or_nan():
    r = result()
    r["protocols"]["debate"].update(
        brier=None, ece=float("nan"), auroc={"value": None, "lo": None, "hi": None}, calls=None, cost_usd=None
    )
    r["protocols"]["single"]["strata"]["neurodegeneration=true"]["auroc"] = {"value": 0.4, "lo": None, "hi": None}
    r["base_rate_brier"] = float("inf")
    html = render_eval_html(r)
    debate = squash(row(html, "debate"))
    # AUROC, Brier, ECE, pairwise accuracy, pairs, test-retest
    assert debate.count("—") == 6
    assert "0.40 [—, —]" in html
    # missing, label 1, Brier (infinite), ECE, pairwise accuracy, pairs, test-retest
    assert squash(row(html, "base rate")).count("—") == 7
    assert not re.search(r"\bNone\b", html)
    assert not re.search(r"\bnan\b|\binf\b", html, re.IGNORECASE)


def test_numpy_numbers_read_like_python_ones():
    r = result()
    r["protocols"]["single"].update(n=np.int64(118), brier=np.float64(0.27), missing=np.int32(2))
    r["protocols"]["single"]["histogram"]["positive"] = list(
        np.array(r["protocols"]["single"]["histogram"]["positive"])
    )
    assert render_eval_html(r) == render_eval_html(result())


def test_each_protocol_names_its_scoreboard_judges_rubric_and_protocol_hash():
    html = render_eval_html(result())
    captions = [squash(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r'<tr class="caption"[^>]*>(.*?)</tr>', html)]
    assert captions == [
        "Scoreboard s-0a1b2c3d · judges SmolLM2-135M-Instruct · rubric 1234abcd · protocol ab12cd34ef56 "
        "(single-judge · evidence shown · 0 round(s) · panel of 1 judge(s) · 1 replicate(s))",
        "Scoreboard s-deadbeef · judges SmolLM2-135M-Instruct, Qwen2.5-7B-Instruct · rubric 1234abcd · protocol "
        "ffee99887766 (symmetric-closing · evidence shown · 1 round(s) · panel of 2 judge(s) · 1 replicate(s))",
    ]


def test_overview_names_files_rows_sample_bootstrap_and_says_development_figures():
    html = render_eval_html(result())
    text = squash(" ".join(Page(html).text))
    assert "target_disease_outcomes.dev.jsonl" in text and "biodsa_hypotheses.dev.jsonl" in text
    assert "120 labelled row(s)" in text
    assert "a stratified sample (by label, pairs kept whole) of about 60 rows per file, seed 0" in text
    assert "95% cluster-bootstrap intervals from 2,000 resamples, seed 0" in text
    assert "whole clusters are resampled (both members of a pair, every row of one gene), 90 clusters" in text
    assert "These are development figures" in text and "held-out split exists and is not shared" in text
    assert "Generated 2026-11-26 13:00 UTC" in text
    unsampled = squash(" ".join(Page(render_eval_html(result(sample=None))).text))
    assert "no sample: every row was scored" in unsampled


@pytest.mark.parametrize("demo", [True, False])
def test_demo_banner_only_for_the_demo_model(demo):
    html = render_eval_html(result(demo=demo))
    banner = "scores from the embedded demo model are noise; the AUROC should be near 0.5 — development figures"
    assert (banner in html) is demo
    assert ('id="demo-banner"' in html) is demo


def test_lift_shows_its_interval_and_what_an_interval_including_zero_means():
    html = render_eval_html(result())
    assert "an interval that includes 0 means no detectable lift" in html
    lift = squash(re.sub(r"<[^>]+>", " ", re.search(r'<tr data-lift="debate − single">(.*?)</tr>', html).group(1)))
    assert (
        lift == f"debate − single {COMPARES} AUROC 0.03 [-0.08, 0.14] 110 the interval includes 0: no detectable lift"
    )
    above = render_eval_html(result(lift={"debate − single": {"value": 0.2, "lo": 0.05, "hi": 0.3, "n": 110}}))
    assert "above 0: a detectable lift" in above
    none = render_eval_html(result(lift={}))
    assert 'id="no-lift"' in none and "<tr data-lift" not in none


@pytest.mark.parametrize(
    ("interval", "reading"),
    [
        ((-0.08, 0.14), "the interval includes 0: no detectable lift"),
        ((0.05, 0.3), "above 0: a detectable lift"),
        ((-0.3, -0.05), "below 0: worse"),
    ],
)
def test_the_terminal_reads_a_lift_as_the_page_does(interval, reading):
    lo, hi = interval
    lift = {"value": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 110, "compares": COMPARES}
    figures = result(lift={"debate − single": lift})
    out = Console(record=True, width=200)
    print_eval(figures, out)
    printed = squash(out.export_text())
    assert f"lift: {COMPARES}: AUROC {(lo + hi) / 2:.2f} [{lo:.2f}, {hi:.2f}] on 110 rows ({reading})" in printed
    assert reading in render_eval_html(figures)


def test_stratum_rows_and_skipped_strata():
    html = render_eval_html(result())
    strata = re.findall(r'<tr class="stratum" data-stratum="([^"]*)">(.*?)</tr>', html)
    assert [unescape(name) for name, _ in strata] == ["neurodegeneration=true", "year_launch>=2018"] * 2
    first = squash(re.sub(r"<[^>]+>", " ", strata[0][1]))
    # Brier 0.281 next to the stratum's own base-rate Brier 0.188; none given (the second): a dash
    assert first == "neurodegeneration=true 20 5 0.47 [0.21, 0.73] 0.281 0.188 0.190 [0.100, 0.300] — —"
    second = squash(unescape(re.sub(r"<[^>]+>", " ", strata[1][1])))
    assert second == "year_launch>=2018 31 9 0.55 [0.33, 0.77] 0.244 — 0.120 [0.080, 0.200] — —"
    assert "<strong>mesh_id</strong>: an identifier (214 distinct values), not a stratum" in html


def test_a_stratum_with_under_five_rows_of_a_class_is_flagged_not_shown_as_a_figure():
    r = result()
    html = render_eval_html(r)
    small = re.findall(
        r'<tr class="stratum too-small" data-stratum="file=small" data-too-small="true">(.*?)</tr>', html
    )
    assert len(small) == 2  # one per protocol
    text = squash(re.sub(r"<[^>]+>", " ", small[0]))
    assert text == "file=small 6 2 too small: fewer than 5 rows labelled 1, no figure to read"
    assert "0.88" not in html and "0.111" not in html  # its AUROC and Brier are not shown
    out = Console(record=True, width=250)
    print_eval(r, out)
    printed = squash(out.export_text())
    assert "file=small │ too small (6, 2)" in printed and "0.88" not in printed
    assert "too small: fewer than 5 rows labelled 1 or 0, no figure to read" in printed


def test_the_terminal_says_whether_ece_is_above_its_noise_floor():
    out = Console(record=True, width=250)
    print_eval(result(), out)
    printed = squash(out.export_text())
    assert (
        "ECE single: 0.210 [0.150, 0.290] on 118 rows; a perfectly calibrated score reaches up to 0.133 at this n"
        " (95th percentile): above the noise floor: miscalibrated"
    ) in printed
    assert "ECE debate: 0.173 [0.120, 0.240] on 118 rows" in printed
    assert "within the noise floor: no detectable miscalibration" in printed


def test_an_older_result_with_a_bare_ece_still_renders():
    r = result()
    r["protocols"]["single"]["ece"] = 0.21
    single = squash(row(render_eval_html(r), "single"))
    assert "0.210" in single and "no noise floor" in single


def test_cost_per_protocol_and_total():
    html = render_eval_html(result())
    cost = re.search(r'<table class="cost".*?</table>', html, re.S).group(0)
    rows = [squash(re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", cost)][1:]
    # cached: the share of prompt tokens served from the provider's cache (— where the result has no count)
    assert rows == [
        "single 118 90,000 — 30,000 $0",
        "debate 590 1,200,000 40% 240,000 $1.2345",
        "total 708 1,290,000 37% 270,000 $1.2345",
    ]


def test_an_unknown_cost_is_a_dash_and_makes_the_total_unknown():
    r = result()
    r["protocols"]["debate"]["cost_usd"] = None  # a model without a price in llm.prices
    html = render_eval_html(r)
    cost = re.search(r'<table class="cost".*?</table>', html, re.S).group(0)
    rows = [squash(re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", cost)][1:]
    assert rows[0].endswith("$0") and rows[1].endswith("—") and rows[2].endswith("—")


# -- charts ---------------------------------------------------------------------------------------


def test_one_calibration_plot_and_one_histogram_per_protocol():
    page = Page(render_eval_html(result()))
    assert len(page.find("svg", **{"class": "calibration"})) == 2
    assert len(page.find("svg", **{"class": "histogram"})) == 2
    assert len(page.find("line", **{"class": "diagonal"})) == 2
    # eight non-empty bins per protocol are drawn, sized by n
    bins = [a for t, a in page.tags if t == "g" and a.get("class") == "calibration-bin"]
    assert [int(a["data-n"]) for a in bins] == [3, 10, 20, 30, 25, 15, 10, 5] * 2
    assert "2 empty bin(s) not drawn" in render_eval_html(result())


def test_histogram_bars_carry_the_input_counts():
    r = result()
    html = render_eval_html(r)
    sections = re.findall(r'<svg class="histogram".*?</svg>', html, re.S)
    for key, svg in zip(r["protocols"], sections, strict=True):
        bars = Page(svg).find("rect")
        hist = r["protocols"][key]["histogram"]
        assert [int(b["data-count"]) for b in bars if b["data-label"] == "1"] == hist["positive"]
        assert [int(b["data-count"]) for b in bars if b["data-label"] == "0"] == hist["negative"]
        assert "label 1, scores 0.4–0.5: 12" in svg
    # the tallest bar reaches the same height in both series' scale; an empty bin has no height
    bars = Page(sections[0]).find("rect")
    heights = {(b["data-label"], b["data-count"]): float(b["height"]) for b in bars}
    assert heights[("0", "18")] == max(heights.values()) and heights[("1", "0")] == 0.0


# -- safety ---------------------------------------------------------------------------------------


def hostile_result() -> dict:
    r = result(files=list(HOSTILE), model=HOSTILE[0], title=HOSTILE[2])
    single = r["protocols"].pop("single")
    single["judge_models"] = list(HOSTILE)
    single["scoreboard"] = HOSTILE[1]
    single["design"] = HOSTILE[2]
    single["strata"] = {h: copy.deepcopy(single["strata"]["neurodegeneration=true"]) for h in HOSTILE}
    r["protocols"][HOSTILE[1]] = single
    r["lift"] = {HOSTILE[0]: r["lift"]["debate − single"]}
    r["strata_skipped"] = {HOSTILE[2]: HOSTILE[1]}
    r["generated_at"] = HOSTILE[0]
    return r


def test_hostile_strings_land_escaped():
    html = render_eval_html(hostile_result())
    page = Page(html)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "img" not in tags
    assert not [(t, k) for t, attrs in page.tags for k in attrs if k.lower().startswith("on")]
    # the text a reader sees is the hostile string itself, shown, not run
    text = "".join(page.text)
    for h in HOSTILE:
        assert h in text
    # every svg opened is closed by the page itself, not by a stratum name
    assert tags.count("svg") == html.count("</svg>") == 4


def test_the_page_forbids_fetches_and_scripts():
    page = Page(render_eval_html(result()))
    (csp,) = page.find("meta", http_equiv="Content-Security-Policy")
    policy = {d.split()[0]: d.split()[1:] for d in csp["content"].split(";") if d.strip()}
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]


@pytest.mark.parametrize("make", [result, hostile_result])
def test_one_file_with_no_outside_resource(make):
    html = render_eval_html(make())
    page = Page(html)
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (name, value)
    assert not re.search(r"https?://", html)
    assert "@import" not in html and "url(" not in html
    assert [t for t, _ in page.tags].count("link") == 1  # the empty data: icon
