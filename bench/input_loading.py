"""Loading a large hypothesis file: YAML against JSON Lines, and the guarded loader against the old path.

    .venv/bin/python -m bench.input_loading                    # 2,000 hypotheses
    .venv/bin/python -m bench.input_loading --hypotheses 5000

Writes the same synthetic hypotheses (title, targets, mechanism, diseases, three pieces of evidence) as YAML
and as JSON Lines, then times, best of three:

- `load_hypotheses` on each file (parse once with libyaml where present, check, validate);
- the YAML parsing that loading did before issue 11 (the pure-Python composer for the checks, then
  `yaml.safe_load` again), and twice that, since `hypodebate run` used to load its files twice.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.common import print_table
from debates.inputs import load_hypotheses
from safeio.yaml import WITH_LIBYAML

WORDS = [
    "microglia",
    "amyloid",
    "tau",
    "clearance",
    "lysosomal",
    "autophagy",
    "synaptic",
    "cholesterol",
    "efflux",
    "astrocyte",
    "kinase",
]
TARGETS = ["SIRT1", "NLRP3", "CASP1", "TREM2", "APOE", "CYP46A1", "P2RX7", "HCRTR1", "MAPT", "GBA1"]


def hypotheses(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sentence = " ".join(rng.choice(WORDS) for _ in range(40))
        out.append(
            {
                "title": f"Hypothesis {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "targets": ", ".join(rng.sample(TARGETS, 2)),
                "mechanism": f"{sentence}.",
                "diseases": ["Alzheimer's disease", "Parkinson's disease"],
                "evidence": [
                    {"claim": " ".join(rng.choice(WORDS) for _ in range(15)), "citation": f"PMID:{1000 + i * 3 + k}"}
                    for k in range(3)
                ],
            }
        )
    return out


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def old_yaml_parse(text: str) -> None:
    """What debates/inputs.py did before: compose (checks and line numbers), then parse again to load."""
    yaml.compose(text)
    yaml.safe_load(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hypotheses", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    records = hypotheses(args.hypotheses)
    with tempfile.TemporaryDirectory() as folder:
        yaml_path, jsonl_path = Path(folder) / "batch.yaml", Path(folder) / "batch.jsonl"
        yaml_path.write_text(yaml.safe_dump({"hypotheses": records}, sort_keys=False, width=100), encoding="utf-8")
        jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        text = yaml_path.read_text(encoding="utf-8")
        assert len(load_hypotheses([yaml_path])) == len(load_hypotheses([jsonl_path])) == args.hypotheses
        rows = [
            ("JSON Lines: load_hypotheses", best_of(args.runs, lambda: load_hypotheses([jsonl_path]))),
            ("YAML: load_hypotheses (now)", best_of(args.runs, lambda: load_hypotheses([yaml_path]))),
            ("YAML: parsing before, per load", best_of(args.runs, lambda: old_yaml_parse(text))),
        ]
        rows.append(("YAML: parsing before, per run (x2)", 2 * rows[2][1]))
        size = yaml_path.stat().st_size
    base = rows[0][1]
    print_table(
        f"{args.hypotheses:,} hypotheses ({size / 2**20:.1f} MB of YAML), libyaml: {WITH_LIBYAML}, best of {args.runs}",
        ("what", "seconds", "× JSON Lines"),
        [(name, f"{seconds:.2f}", f"{seconds / base:.1f}") for name, seconds in rows],
        left={"what"},
        title_justify="left",
    )


if __name__ == "__main__":
    main()
