"""The related-hypotheses query and the rendered wiki page at scale, in SQLite.

    .venv/bin/python -m bench.related_query                    # 100,000 hypotheses, 1,000,000 links
    .venv/bin/python -m bench.related_query --hypotheses 20000 --links-per 10 --samples 100

Hypotheses (90% scored on a main scoreboard, 30% also on a second one, 10% never debated) are
bulk-inserted with SQLAlchemy Core, each with
`links-per` links: gene symbols from a pool of 20,000, two of 30 diseases and pages from a pool of
5,000. Pages carry the seed page's text and 5 genes + 2 diseases as entities, so each page's query
walks roughly 15,000 linked hypotheses. Prints p50/p95 of the query (`related_for_page`: the page's
default scoreboard, then its ranking) and of GET /wiki/{slug} through FastAPI's TestClient (one block
per scoreboard). Targets: p95 under 20 ms and under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import insert

from bench.common import print_table
from store.engine import open_store
from store.models import HypothesisRow, HypothesisScoreRow, LinkRow, PageRow, ScoreboardRow, utcnow
from wiki import related as related_module
from wiki.app import create_app
from wiki.pages import read_page
from wiki.related import related_for_page

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "pages" / "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration.txt"
TARGET_QUERY_MS = 20.0
TARGET_PAGE_MS = 100.0
GENES = [f"G{i:05d}" for i in range(20_000)]
DISEASES = [f"DISEASE:d{i:02d}" for i in range(30)]
PAGE_POOL = [f"page-{i:05d}" for i in range(5_000)]


BOARDS = ("s-0000000a", "s-0000000b")
Row = dict[str, Any]
CHUNK = 20_000  # hypotheses inserted at a time


def populate(url: str, hypotheses: int, links_per: int, pages: int, rng: random.Random) -> list[str]:
    """Fill the database at `url`: two scoreboards, `hypotheses` hypotheses (most scored, each linked to
    `links_per` entities), and `pages` pages with the seed page's text; returns the pages' slugs."""
    sessions = open_store(url)
    engine = sessions.engine
    body = read_page(SEED).markdown if SEED.exists() else "# A page\n\n" + "Some text about microglia. " * 300
    with engine.begin() as connection:
        connection.execute(
            insert(ScoreboardRow),
            [
                {"id": b, "rubric_hash": "r", "protocol_hash": p, "judge_models": [m], "demo": False}
                | {"legacy": False, "protocol": {}, "created_at": utcnow()}
                for b, p, m in zip(BOARDS, ("p1", "p2"), ("judge-a", "judge-b"), strict=True)
            ],
        )
        for start in range(0, hypotheses, CHUNK):
            rows, links, scores = [], [], []
            for i in range(start, min(start + CHUNK, hypotheses)):
                row, its_links, its_scores = hypothesis(i, links_per, rng)
                rows.append(row)
                links += its_links
                scores += its_scores
            connection.execute(insert(HypothesisRow), rows)
            connection.execute(insert(LinkRow), links)
            connection.execute(insert(HypothesisScoreRow), scores)
        slugs = PAGE_POOL[:pages]
        connection.execute(insert(PageRow), [page(slug, body, rng) for slug in slugs])
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return slugs


def hypothesis(
    i: int, links_per: int, rng: random.Random
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Hypothesis number `i` on three random genes: its row, its `links_per` entity links, and its scores (nine in
    ten are scored on the first scoreboard, three in ten on the second)."""
    hid = f"h-{i:08x}"
    scored = rng.random() < 0.9
    genes = rng.sample(GENES, 3)
    row = {"id": hid, "content_hash": f"{i:064x}", "title": f"Hypothesis {i} on {genes[0]}", "targets": genes}
    row |= {"target_label": ", ".join(genes), "mechanism": "A mechanism.", "diseases": [], "pages": [], "version": 1}
    scores = []
    for board, share in zip(BOARDS, (0.9, 0.3), strict=True):
        if scored and rng.random() < share / 0.9:
            mean, debates = round(rng.uniform(0.3, 0.95), 4), rng.randint(1, 4)
            scores.append(
                {"scoreboard_id": board, "hypothesis_id": hid, "content_hash": f"{i:064x}", "current": True}
                | {"mean": mean, "lo": mean - 0.05, "hi": mean + 0.05, "interval": "between-debates"}
                | {"debates": debates, "verdicts": 3 * debates, "updated_at": utcnow()}
            )
    entities = {f"GENE:{g}" for g in genes} | set(rng.sample(DISEASES, 2))
    while len(entities) < links_per:
        pick = rng.random()
        entities.add(f"GENE:{rng.choice(GENES)}" if pick < 0.7 else f"PAGE:{rng.choice(PAGE_POOL)}")
    return row, [{"entity": e, "hypothesis_id": hid} for e in entities], scores


def page(slug: str, body: str, rng: random.Random) -> Row:
    """The row of page `slug`: `body` as its text, five random genes and two diseases as its entities."""
    entities = sorted({f"GENE:{g}" for g in rng.sample(GENES, 5)} | set(rng.sample(DISEASES, 2)))
    return {
        "slug": slug,
        "title": f"Page {slug}",
        "entity_type": "gene",
        "entities": entities,
        "source_path": f"/nowhere/{slug}.md",
        "markdown": body,
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hypotheses", type=int, default=100_000)
    parser.add_argument("--links-per", type=int, default=10)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    console = Console(stderr=True)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        slugs = populate(url, args.hypotheses, args.links_per, args.pages, rng)
        console.print(f"populated in {time.perf_counter() - started:.1f} s", highlight=False)

        sessions = open_store(url)
        # the page's default scoreboard is counted on a page's first view, then cached until a score changes
        modes = {"counted": (None, True), "cached": (None, False), "set": ("s-0000000a", False)}
        query_ms: dict[str, list[float]] = {mode: [] for mode in modes}
        sizes: list[int] = []
        with sessions() as session:
            pages = {slug: session.get_one(PageRow, slug) for slug in slugs}
            for mode, (scoreboard, cold) in modes.items():
                for page in pages.values():  # every page viewed once: the cached mode measures cache hits only
                    related_for_page(session, page, top=args.top, scoreboard=scoreboard)
                for i in range(args.samples + 20):
                    page = pages[rng.choice(slugs)]
                    if cold:
                        related_module._COUNTS.clear()
                    t0 = time.perf_counter()
                    found = related_for_page(session, page, top=args.top, scoreboard=scoreboard)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if i >= 20:  # warm-up
                        query_ms[mode].append(elapsed)
                        sizes.append(len(found.hypotheses))
        sessions.close()

        page_ms: list[float] = []
        with TestClient(create_app(url), base_url="http://localhost") as client:
            for i in range(args.samples + 20):
                slug = rng.choice(slugs)
                t0 = time.perf_counter()
                response = client.get(f"/wiki/{slug}")
                elapsed = (time.perf_counter() - t0) * 1000
                assert response.status_code == 200 and response.text.count('<li><a href="/hypothesis/') == 2 * args.top
                if i >= 20:
                    page_ms.append(elapsed)

    cells = []
    for name, samples, target in (
        ("related query, page's default of 2 scoreboards, first view", query_ms["counted"], TARGET_QUERY_MS),
        ("related query, page's default of 2 scoreboards, cached", query_ms["cached"], TARGET_QUERY_MS),
        ("related query, wiki.scoreboard set", query_ms["set"], TARGET_QUERY_MS),
        ("GET /wiki/{slug} (2 blocks)", page_ms, TARGET_PAGE_MS),
    ):
        p50, p95 = percentiles(samples)
        cells.append(
            [name, str(len(samples)), f"{p50:.2f}", f"{p95:.2f}", f"{target:.0f}", "yes" if p95 < target else "NO"]
        )
    print_table(
        f"related hypotheses: {args.hypotheses:,} hypotheses, {args.hypotheses * args.links_per:,} links (SQLite)",
        ("measure", "samples", "p50 ms", "p95 ms", "target p95 ms", "met"),
        cells,
        left={"measure"},
    )
    console.print(f"each query returned {min(sizes)}..{max(sizes)} hypotheses", highlight=False)


if __name__ == "__main__":
    main()
