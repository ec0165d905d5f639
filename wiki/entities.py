"""Canonical entity ids (`GENE:CYP46A1`, `DISEASE:alzheimers`, `PAGE:<slug>`) and how text maps onto them.

Diseases go through a small curated alias table for the neurodegenerative diseases; anything else
becomes `DISEASE:<normalised name>`. Gene symbols are only recognised in page text when some stored
hypothesis targets them, which keeps ordinary upper-case words (DNA, MSC, CNS) from becoming genes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.orm import Session

from store.pages import hypothesis_entity_sources, replace_links

ENTITY = re.compile(r"^(GENE|DISEASE|PAGE|[A-Z][A-Z_]{1,15}):[^\s]{1,180}$")

# normalised name -> canonical disease key
DISEASE_ALIASES: dict[str, str] = {
    "alzheimers": "alzheimers",
    "alzheimers disease": "alzheimers",
    "alzheimer disease": "alzheimers",
    "alzheimer s disease": "alzheimers",
    "ad": "alzheimers",
    "parkinsons": "parkinsons",
    "parkinsons disease": "parkinsons",
    "parkinson disease": "parkinsons",
    "pd": "parkinsons",
    "als": "als",
    "amyotrophic lateral sclerosis": "als",
    "motor neuron disease": "als",
    "multiple sclerosis": "multiple_sclerosis",
    "ms": "multiple_sclerosis",
    "huntingtons": "huntingtons",
    "huntingtons disease": "huntingtons",
    "huntington disease": "huntingtons",
    "hd": "huntingtons",
    "stroke": "stroke",
    "ischemic stroke": "stroke",
    "ischaemic stroke": "stroke",
    "frontotemporal dementia": "ftd",
    "ftd": "ftd",
    "progressive supranuclear palsy": "psp",
    "psp": "psp",
    "corticobasal degeneration": "cbd",
    "dementia with lewy bodies": "dlb",
    "lewy body dementia": "dlb",
    "dlb": "dlb",
    "multiple system atrophy": "msa",
    "spinal muscular atrophy": "sma",
    "traumatic brain injury": "tbi",
    "tbi": "tbi",
}

# What is searched for in page text: full names case-insensitively, acronyms only as written in capitals.
_NAMES = sorted({k for k in DISEASE_ALIASES if len(k) > 3}, key=len, reverse=True)
_ACRONYMS = ["AD", "PD", "ALS", "MS", "HD", "FTD", "PSP", "DLB", "TBI"]
# Between words `[\s-]++` is possessive: with two such runs around an optional `'s`, a plain `+` let a long run of
# spaces be split every way between them (quadratic: 40,000 spaces after "alzheimer" took 9 s).
_NAME_PATTERN = re.compile(
    r"\b("
    + "|".join(re.escape(n).replace(r"s\ ", r"(?:'s|’s|s)?\ ").replace(r"\ ", r"[\s-]++") for n in _NAMES)
    + r")\b",
    re.IGNORECASE,
)
_ACRONYM_PATTERN = re.compile(r"(?<![\w-])(" + "|".join(_ACRONYMS) + r")(?![\w-])")
_SYMBOL = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{1,11}(?:-[A-Z0-9]{1,4})?)(?![\w])")


def normalise(name: str) -> str:
    """`Alzheimer's Disease` -> `alzheimers disease`."""
    text = name.lower().replace("’", "'").replace("'s", "s").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def disease_id(name: str) -> str:
    key = normalise(name)
    canonical = DISEASE_ALIASES.get(key) or DISEASE_ALIASES.get(key.removesuffix(" disease").strip())
    return f"DISEASE:{canonical or key.replace(' ', '_')}"


def gene_id(symbol: str) -> str:
    return f"GENE:{symbol.strip().upper()}"


def page_id(slug: str) -> str:
    return f"PAGE:{slug}"


def canonical(entity: str) -> str:
    """An entity as written in front matter (`GENE:cyp46a1`, `DISEASE:Alzheimer's disease`) -> canonical id.

    Raises ValueError for anything that is not `KIND:value`."""
    kind, sep, value = entity.strip().partition(":")
    if not sep or not value.strip():
        raise ValueError(f"{entity!r} is not an entity id (expected e.g. GENE:CYP46A1 or DISEASE:alzheimers)")
    kind = kind.strip().upper()
    if kind == "GENE":
        result = gene_id(value)
    elif kind == "DISEASE":
        result = disease_id(value)
    else:
        result = f"{kind}:{value.strip()}"
    if not ENTITY.fullmatch(result):
        raise ValueError(f"{entity!r} is not an entity id (expected e.g. GENE:CYP46A1 or DISEASE:alzheimers)")
    return result


def diseases_in(text: str) -> set[str]:
    found = {disease_id(m.group(1)) for m in _NAME_PATTERN.finditer(text)}
    found |= {disease_id(m.group(1)) for m in _ACRONYM_PATTERN.finditer(text)}
    return found


def genes_in(text: str, known: Iterable[str]) -> set[str]:
    """Upper-case symbols in `text` that some hypothesis targets."""
    symbols = {s.upper() for s in known}
    return {gene_id(m.group(1)) for m in _SYMBOL.finditer(text) if m.group(1) in symbols}


def entities_in(text: str, known_targets: Iterable[str]) -> set[str]:
    return diseases_in(text) | genes_in(text, known_targets)


def hypothesis_entities(targets: Iterable[str], diseases: Iterable[str], pages: Iterable[str]) -> set[str]:
    return (
        {gene_id(t) for t in targets if t.strip()}
        | {disease_id(d) for d in diseases if d.strip()}
        | {page_id(p) for p in pages if p.strip()}
    )


def refresh_links(session: Session) -> tuple[int, int]:
    """Derive every hypothesis's links from its targets, diseases and pages. Idempotent; returns (added, removed)."""
    links = {hid: hypothesis_entities(t, d, p) for hid, t, d, p in hypothesis_entity_sources(session)}
    return replace_links(session, links)
