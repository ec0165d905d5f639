"""Scripted generators behind the real client: a responder for the loopback servers that answers the generator's
steps (new hypotheses, evolved children, the meta-review) and the duplicate check from a script, and every debate
and tournament step as tests.fakes.FakeDebater does."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import FakeDebater, Reply

HYPOTHESES = re.compile(r"<hypothesis>(.*?)</hypothesis>", re.S)  # the two hypotheses a duplicate check reads


def hypothesis(title: str, targets: list[str], disease: str, mechanism: str, *cited: str) -> dict[str, Any]:
    """A generator answer's hypothesis fields (the prediction is asked apart)."""
    return {
        "title": title,
        "targets": targets,
        "diseases": [disease],
        "mechanism": mechanism,
        "prediction": f"If {title.lower()} holds, then treating mouse models of {disease} changes the disease course.",
        "evidence": [{"claim": f"{targets[0]} is altered in {disease}", "citation": c, "stance": "for"} for c in cited],
    }


SIRT1 = hypothesis(
    "SIRT1 activation restores neuronal mitochondrial biogenesis",
    ["SIRT1"],
    "Alzheimer's disease",
    "Activating SIRT1 with NAD+ precursors deacetylates PGC-1alpha, restores mitochondrial biogenesis in "
    "hippocampal neurons and slows Alzheimer's disease progression.",
)
SIRT1_REWORDED = hypothesis(
    "NAD+ precursors rescue mitochondrial biogenesis through SIRT1",
    ["SIRT1"],
    "Alzheimer's disease",
    "NAD+ precursor supplementation activates SIRT1, which deacetylates PGC-1alpha and rescues mitochondrial "
    "biogenesis in hippocampal neurons, slowing the progression of Alzheimer's disease.",
)
SIRT1_REVERSED = hypothesis(
    "SIRT1 inhibition restores neuronal mitochondrial biogenesis",
    ["SIRT1"],
    "Alzheimer's disease",
    "Inhibiting SIRT1 with selective small molecules deacetylates PGC-1alpha, restores mitochondrial biogenesis in "
    "hippocampal neurons and slows Alzheimer's disease progression.",
)
NLRP3 = hypothesis(
    "Microglial NLRP3 inhibition protects dopaminergic neurons",
    ["NLRP3"],
    "Parkinson's disease",
    "Blocking NLRP3 inflammasome assembly in microglia lowers IL-1beta release and protects substantia nigra "
    "dopaminergic neurons from alpha-synuclein driven degeneration in Parkinson's disease.",
)
TREM2 = hypothesis(
    "TREM2 agonism drives plaque-associated microglial clearance",
    ["TREM2"],
    "Alzheimer's disease",
    "An agonist antibody to TREM2 enhances microglial phagocytosis of amyloid plaques and limits plaque-associated "
    "neuritic dystrophy in Alzheimer's disease.",
)
CHILD = hypothesis(
    "Combined SIRT1 activation and NLRP3 blockade in microglia",
    ["SIRT1", "NLRP3"],
    "Alzheimer's disease",
    "Raising SIRT1 activity in microglia suppresses NLRP3 priming through NF-kB deacetylation, so a combined "
    "NAD+ precursor and NLRP3 inhibitor regimen lowers neuroinflammation more than either alone.",
)


@dataclass
class ScriptedGenerator:
    """Answers each generator ask with the next scripted hypothesis (`answers`; once they run out, `fallback`
    gives one from the ask's number), the meta-review with fixed themes, and the duplicate check with `same`
    (the two hypotheses' text -> same claim?). Everything else is the fake debater. Thread-safe (the loopback
    servers are)."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    fallback: Callable[[int], dict[str, Any]] | None = None
    same: Callable[[str], bool] = lambda hypotheses: "inhibit" not in hypotheses.lower()
    debater: FakeDebater = field(default_factory=lambda: FakeDebater(score=lambda judge, dim: 6 + judge))
    asked: dict[str, int] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> Reply:
        tools = body.get("tools") or []
        properties = tools[0]["function"]["parameters"].get("properties", {}) if tools else {}
        prompt = str(body["messages"][-1].get("content") or "")
        with self._lock:
            if "prediction" in properties and "targets" in properties:  # not the opening (it has a prediction)
                return self._generated(prompt)
            if "weaknesses" in properties:
                self._count("meta_review", prompt)
                review = {
                    "reasoning": "Across the debates the critic kept asking for human data.",
                    "summary": "Critiques centred on missing human evidence; judges rewarded specific mechanisms.",
                    "weaknesses": ["no human tissue evidence", "dose and delivery unclear"],
                    "rewarded": ["a named, testable mechanism"],
                }
                return Reply(tool_args=review, prompt_tokens=200, completion_tokens=80)
            if "same_claim" in properties:
                self._count("duplicate", prompt)
                same = self.same(" ".join(HYPOTHESES.findall(prompt)))
                answer = {
                    "reasoning": "Both state the same target, disease and mechanism."
                    if same
                    else "The effect runs the other way.",
                    "same_claim": "same" if same else "different",
                    "difference": "none" if same else "direction",
                }
                return Reply(tool_args=answer, prompt_tokens=150, completion_tokens=40)
        return self.debater(body)

    def _count(self, step: str, prompt: str) -> int:
        self.asked[step] = self.asked.get(step, 0) + 1
        self.prompts.append(prompt)
        return self.asked[step]

    def _generated(self, prompt: str) -> Reply:
        number = self._count("generator", prompt)
        if self.answers:
            fields = self.answers.pop(0)
        elif self.fallback is not None:
            fields = self.fallback(number)
        else:
            raise AssertionError(f"generator ask {number}: the script has no answer left")
        answer = {"reasoning": "The page's evidence points this way.", **fields}
        return Reply(tool_args=answer, prompt_tokens=400, completion_tokens=150)


def numbered(number: int) -> dict[str, Any]:
    """A distinct hypothesis per number (on its own target, so never a duplicate of another)."""
    genes = ["APOE", "CLU", "BIN1", "PICALM", "CD33", "ABCA7", "MS4A6A", "EPHA1", "CR1", "SORL1", "PLCG2", "ABI3"]
    gene = genes[number % len(genes)]
    return hypothesis(
        f"{gene} variant modulation of microglial lipid handling ({number})",
        [gene],
        "Alzheimer's disease",
        f"Correcting {gene} signalling in microglia normalises lipid droplet accumulation and restores amyloid "
        f"clearance, slowing Alzheimer's disease progression (variant {number}).",
    )
