"""Duplicate groups among hypothesis files (`hypodebate dedup`): offline embeddings and the fields find the pairs
that make the same claim; with the model, every merge is confirmed by the duplicate check (debates/dedup.py).

For scripts the result is `{"model", "threshold", "groups": [[id, id, ...], ...]}`: ids as the files give them,
each group in file order (its first is the one the others would merge into), groups of two or more only, ordered
by their first member. `threshold` is the lowest cosine at which a pair can be grouped: below it, pairs are never
compared further (0.75 with the model check; 0.85, the merge rule, with --no-llm)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.usage import CallRecord
from debates.dedup import THRESHOLD, Deduplicator
from debates.inputs import load_hypotheses
from hypodebate.app.usage import books
from hypodebate.app.workspace import Workspace
from proximity.embeddings import default_embedder
from proximity.pairs import cosine_matrix


@dataclass(frozen=True)
class DedupReport:
    model: str  # the embedding model and the wheel that shipped it
    threshold: float  # the lowest cosine at which a pair can be grouped
    groups: list[list[str]]
    titles: dict[str, str]  # every grouped id -> its title
    similarity: dict[str, float]  # every grouped id -> its cosine to its group's first
    hypotheses: int  # read from the files
    checks: tuple[CallRecord, ...]  # model checks asked
    failures: tuple[str, ...]  # model checks that failed ("id ~ id: why"; those pairs were kept apart)
    checked_by: str | None  # the model that checked close calls; None with --no-llm

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "threshold": self.threshold, "groups": self.groups}


@books("dedup")
async def find_duplicates(ws: Workspace, files: Sequence[Path], *, use_llm: bool) -> DedupReport:
    """The duplicate groups among the hypotheses of `files` (bad input: InputError, before anything is embedded);
    `use_llm`: confirm every merge with the duplicate check on `ws.client` (else embeddings and fields only)."""
    items = load_hypotheses(files)
    checker = None
    if use_llm:
        from agents.duplicate import DuplicateCheck

        checker = DuplicateCheck(ws.client, ws.prompts)
    embedder = default_embedder()
    dedup = Deduplicator(embedder, checker, threshold=THRESHOLD)
    groups = await dedup.groups(items)
    by_id = {h.hypothesis_id: h for h in items}
    titles: dict[str, str] = {}
    similarity: dict[str, float] = {}
    if groups:
        vectors = await dedup.vectors(items)
        index = {h.hypothesis_id: i for i, h in enumerate(items)}
        for group in groups:
            first = index[group[0]]
            sims = cosine_matrix(vectors[first : first + 1], vectors)[0]
            for hid in group:
                titles[hid] = by_id[hid].title
                similarity[hid] = float(sims[index[hid]])
    return DedupReport(
        model=embedder.model,
        threshold=dedup.threshold if use_llm else dedup.certain,
        groups=groups,
        titles=titles,
        similarity=similarity,
        hypotheses=len(items),
        checks=tuple(dedup.records),
        failures=tuple(dedup.failures),
        checked_by=ws.llm.model_for("deduplicator") if use_llm else None,
    )


async def dedup_files(ws: Workspace, files: Sequence[Path], *, use_llm: bool) -> dict[str, Any]:
    """`{"model", "threshold", "groups"}` for the hypotheses of `files` (see `find_duplicates`)."""
    return (await find_duplicates(ws, files, use_llm=use_llm)).as_json()
