"""The evidence audit at scale, in SQLite: is its cost linear in the citations it audits?

    .venv/bin/python -m bench.evidence_audit                         # 200 and 2,000 hypotheses
    .venv/bin/python -m bench.evidence_audit --sizes 500 5000 --entries 20000

Each hypothesis has 5 evidence items (a PMID, a DOI or a @bibkey; 60% of them in the bibliography, some with
details stated beside them) and one completed debate of 6 turns, each turn citing 3 identifiers (one made up).
The bibliography holds `--entries` entries. `hypodebate evidence --no-verify` is timed (read the hypotheses and
turns, resolve every citation, replace the stored audit), split into its three parts by timing each alone.
Target: the time per citation at the largest size is at most 1.5x that at the smallest (linear, no per-citation
query); the verifier's calls are not part of it (they cost a model call each and are asked once, ever).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console
from sqlalchemy import insert

from agents.prompts import load_prompts
from agents.settings import LLMSettings
from bench.common import print_table
from evidence.audit import audit_version
from evidence.resolve import Bibliography
from evidence.runner import AuditRunner
from store import evidence as store
from store.engine import open_store
from store.models import BibEntryRow, DebateRow, EvidenceRow, HypothesisRow, TurnRow, utcnow

TARGET_RATIO = 1.5


def entry(i: int) -> dict[str, object]:
    return {
        "key": f"author{i}",
        "kind": "article",
        "title": f"A study of mechanism {i} in neurodegeneration",
        "authors": [f"Author{i}, A.", "Second, B."],
        "more_authors": False,
        "year": 1990 + i % 35,
        "journal": "Journal of Neuroscience",
        "doi": f"10.1234/jn.{i}",
        "pmid": str(10_000_000 + i),
        "pmcid": None,
        "nct": None,
        "url": None,
        "abstract": None,
        "source": "bench.bib",
        "content_hash": f"{i:064d}",
        "updated_at": utcnow(),
    }


def citation(rng: random.Random, entries: int) -> tuple[str, str]:
    """(claim, citation): 60% of citations are in the bibliography; some state an author and year beside them."""
    i = rng.randrange(entries) if rng.random() < 0.6 else entries + rng.randrange(10**6)
    form = rng.randrange(3)
    written = (f"PMID:{10_000_000 + i}", f"10.1234/jn.{i}", f"@author{i}")[form]
    year = 1990 + i % 35 + (rng.random() < 0.1)  # one in ten states the wrong year
    return f"Author{i} et al., {year} showed microglial clearance improves with treatment.", written


def populate(url: str, hypotheses: int, entries: int, rng: random.Random) -> None:
    sessions = open_store(url)
    now = utcnow()
    with sessions.engine.begin() as connection:
        connection.execute(insert(BibEntryRow), [entry(i) for i in range(entries)])
        rows, evidence, debates, turns = [], [], [], []
        for h in range(hypotheses):
            h_id, content = f"h-{h:08x}", f"{h:064x}"
            rows.append(
                {
                    "id": h_id,
                    "content_hash": content,
                    "title": f"Hypothesis {h} on TREM2 and microglia",
                    "targets": ["TREM2"],
                    "target_label": "TREM2",
                    "mechanism": "TREM2 agonism restores microglial clearance of amyloid.",
                    "diseases": ["Alzheimer's disease"],
                    "pages": [],
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for position in range(5):
                claim, cited = citation(rng, entries)
                evidence.append(
                    {"hypothesis_id": h_id, "position": position, "claim": claim, "citation": cited, "stance": "for"}
                )
            d_id = f"d-{h:010x}"
            debates.append(
                {
                    "id": d_id,
                    "hypothesis_id": h_id,
                    "hypothesis_hash": content,
                    "protocol_hash": "p",
                    "replicate": 0,
                    "status": "completed",
                    "attempts": 1,
                    "rounds_run": 2,
                    "early_stopped": False,
                    "protocol": {},
                    "rubric_hash": "r",
                    "prompt_hashes": {},
                    "models": {},
                    "started_at": now,
                }
            )
            for seq in range(6):
                said = " ".join(f"{c[0]} ({c[1]})." for c in (citation(rng, entries) for _ in range(2)))
                turns.append(
                    {
                        "debate_id": d_id,
                        "seq": seq,
                        "round": seq // 2,
                        "role": "proposer" if seq % 2 == 0 else "critic",
                        "step": "opening",
                        "text": f"{said} A made-up trial PMID:{90_000_000 + seq} agrees.",
                        "payload": {},
                        "model": "m",
                        "prompt_tokens": 0,
                        "completion_tokens": 0,
                        "latency_s": 0.0,
                        "cost_usd": 0.0,
                        "attempts": 1,
                        "asks": 1,
                        "prompt_hash": "x",
                        "created_at": now,
                    }
                )
        for table, values in ((HypothesisRow, rows), (EvidenceRow, evidence), (DebateRow, debates), (TurnRow, turns)):
            for start in range(0, len(values), 5_000):
                connection.execute(insert(table), values[start : start + 5_000])
    sessions.close()


def measure(hypotheses: int, entries: int, folder: Path) -> dict[str, float]:
    url = f"sqlite:///{folder / f'audit-{hypotheses}.db'}"
    populate(url, hypotheses, entries, random.Random(hypotheses))
    sessions = open_store(url)
    runner = AuditRunner(sessions=sessions, llm=LLMSettings(), prompts=load_prompts())
    started = time.perf_counter()
    result = asyncio.run(runner.run())
    total = time.perf_counter() - started
    started = time.perf_counter()
    with sessions() as session:
        bibliography = Bibliography(store.entries(session))
        versions = store.versions_with_turns(session, store.audited_ids(session))
    read = time.perf_counter() - started
    started = time.perf_counter()
    for h, cited in versions:
        audit_version(h, cited, bibliography)
    resolve = time.perf_counter() - started
    sessions.close()
    citations = sum(len(a.items) for a in result.audits)
    statuses: dict[str, int] = {}
    for a in result.audits:
        for item in a.items:
            statuses[item.status] = statuses.get(item.status, 0) + 1
    return {
        "hypotheses": hypotheses,
        "citations": citations,
        "total": total,
        "read": read,
        "resolve": resolve,
        "per_citation_us": 1e6 * total / citations,
        **{f"n_{k}": v for k, v in statuses.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(n, args.entries, Path(folder)) for n in sorted(args.sizes)]
    base = rows[0]["per_citation_us"]
    cells = []
    for r in rows:
        write = r["total"] - r["read"] - r["resolve"]
        row = [f"{r['hypotheses']:,}", f"{r['citations']:,}", f"{r['total']:.2f}", f"{r['read']:.2f}"]
        row += [f"{r['resolve']:.2f}", f"{max(write, 0):.2f}", f"{r['per_citation_us']:.0f}"]
        cells.append([*row, f"{r['per_citation_us'] / base:.2f}"])
    print_table(
        f"hypodebate evidence --no-verify, {args.entries:,} bibliography entries (SQLite)",
        ("hypotheses", "citations", "audit s", "read s", "resolve s", "write s", "µs / citation", "ratio"),
        cells,
        width=120,
    )
    console = Console(width=120)
    last = rows[-1]
    shares = ", ".join(f"{k[2:]} {v:,}" for k, v in last.items() if k.startswith("n_"))
    console.print(f"statuses at {last['hypotheses']:,} hypotheses: {shares}")
    ratio = last["per_citation_us"] / base
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    target = f"µs per citation at the largest size ≤ {TARGET_RATIO}x the smallest"
    console.print(f"target: {target}: {ratio:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
