"""The citation patterns on page-sized text, real and hostile: is finding and resolving citations linear?

    .venv/bin/python -m bench.citation_patterns                          # 50 KiB and 1 MiB
    .venv/bin/python -m bench.citation_patterns --sizes 51200 --cases "find: [@a"

Times, once per input and size:

- `find` (every citation and near miss, each with its sentence) and `audit_page` (find, then resolve each citation
  once against a 3-entry bibliography) on the seed page repeated, and on hostile pages: `[@a` repeated (a citation
  every 3 characters), distinct `@k<n>` keys, `10.1234/` repeated, `PMID:` and `NCT` near misses;
- `mismatches` (the author-and-year, Vancouver and quoted-title patterns of the resolver) on `A-` repeated and on
  `Smith and ` repeated.

A case whose time at one size, scaled linearly, would pass `--limit` seconds at the next is not run there.

Issue 23, on a shared 2-core machine (load 3 to 6, so ±30%), seconds at 50 KiB / 1 MiB, before (5dea2d0: a scan
back per citation for its sentence, the quadratic author-year pattern) and after:

| input                           | before 50 KiB | before 1 MiB       | after 50 KiB | after 1 MiB |
|---------------------------------|---------------|--------------------|--------------|-------------|
| find: the seed page             | 0.029         | 0.569              | 0.007        | 0.135       |
| find: [@a                       | 6.8           | 213                | 0.145        | 1.7         |
| find: @k<n> keys                | 4.6           | 92                 | 0.102        | 1.6         |
| find: PMID: and NCT near misses | 3.8           | 68                 | 0.018        | 0.47        |
| audit_page: [@a                 | 7.4           | not run (> 250)    | 0.046        | 1.8         |
| audit_page: @k<n> keys          | 7.9           | 65                 | 0.278        | 4.9         |
| mismatches: A-                  | 54            | not run (hours)    | 0.027        | 0.64        |
| mismatches: real sentences      | 0.012         | 0.342              | 0.006        | 0.146       |
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evidence.audit import audit_page
from evidence.bibliography import Entry
from evidence.identifiers import find
from evidence.resolve import Bibliography, mismatches

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seeds" / "003_eef26edecdd8bd38.txt"
ENTRY = Entry(key="pittenger1999", title="Multilineage potential", authors=("Pittenger, M.",), year=1999, pmid="1")
BIBLIOGRAPHY = Bibliography([ENTRY, Entry(key="a", year=2001), Entry(key="shi2010", year=2010)])
REAL = (
    "MSCs are multipotent (Pittenger et al., 1999; PMID: 10102814) and home to injured tissue [@shi2010].\n"
    "In early trials, see doi:10.1126/science.284.5411.143 and NCT01234567, outcomes varied. [@rani2015]\n"
)


def repeated(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def keys(size: int) -> str:
    return "".join(f"@k{n} " for n in range(size // 4))[:size]


def page(size: int) -> str:
    return repeated(SEED.read_text(encoding="utf-8") if SEED.is_file() else REAL, size)


CASES: dict[str, tuple[Callable[[int], str], Callable[[str], object]]] = {
    "find: the seed page": (page, find),
    "find: [@a": (lambda n: repeated("[@a", n), find),
    "find: @k<n> keys": (keys, find),
    "find: 10.1234/": (lambda n: repeated("10.1234/", n) + "\uff11", find),
    "find: PMID: and NCT near misses": (lambda n: repeated("PMID:1x NCT1 NCT12345678a ", n), find),
    "audit_page: the seed page": (page, lambda t: audit_page(t, BIBLIOGRAPHY)),
    "audit_page: [@a": (lambda n: repeated("[@a", n), lambda t: audit_page(t, BIBLIOGRAPHY)),
    "audit_page: @k<n> keys": (keys, lambda t: audit_page(t, BIBLIOGRAPHY)),
    "mismatches: A-": (lambda n: repeated("A-", n), lambda t: mismatches(t, ENTRY)),
    "mismatches: Smith and ": (lambda n: repeated("Smith and ", n), lambda t: mismatches(t, ENTRY)),
    "mismatches: real sentences": (lambda n: repeated(REAL, n), lambda t: mismatches(t, ENTRY)),
}


def timed(action: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    action(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50 * 1024, 1024 * 1024])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--limit", type=float, default=120.0, help="skip a size expected to take longer")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    table = Table(title="Citation patterns: seconds per input (one run each)", title_justify="left")
    table.add_column("input")
    for size in sizes:
        table.add_column(f"{size / 1024:,.0f} KiB", justify="right")
    for name in args.cases:
        make, action = CASES[name]
        cells, last = [], None
        for size in sizes:
            if last is not None and last[1] * size / last[0] > args.limit:
                cells.append(f"> {args.limit:.0f} (skipped)")
                continue
            seconds = timed(action, make(size))
            cells.append(f"{seconds:.3f}")
            last = (size, seconds)
        table.add_row(name, *cells)
        Console(stderr=True).print(f"{name}: {' · '.join(cells)}")
    Console().print(table)


if __name__ == "__main__":
    main()
