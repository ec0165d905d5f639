"""Candidate near-duplicate pairs, and the rules that rule a pair out on its fields.

Everything here takes plain data (`Claim`: title, targets, diseases, mechanism as strings), never a type of a part
above. Embeddings find candidates; they cannot tell a claim from its reverse ("activating X slows ..." against
"inhibiting X slows ..." scores above many true paraphrases), so:
- `ruled_out`: disjoint targets (gene symbols, any case), or diseases both given and disjoint once spelled alike
  ("Alzheimer's disease", "Alzheimer disease" and "AD" are one), make two different hypotheses;
- `direction_conflict`: the effect each text claims on a shared target (activate, agonist, increase, restore ...
  against inhibit, antagonist, lower, block, knock down ...), read from the cue word nearest each mention of the
  target; opposite effects are a reversed claim, which must never be merged on embeddings alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Difference = Literal["target", "disease"]


@dataclass(frozen=True)
class Claim:
    """What duplicate detection reads of a hypothesis."""

    title: str
    targets: Sequence[str]
    diseases: Sequence[str]
    mechanism: str


def claim_text(claim: Claim) -> str:
    """The text that is embedded: title, targets, diseases, then the mechanism."""
    diseases = ", ".join(claim.diseases) or "not stated"
    return f"{claim.title}. Targets: {', '.join(claim.targets)}. Diseases: {diseases}. {claim.mechanism}"


def cosine_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosines of unit rows: (n, d) x (m, d) -> (n, m)."""
    return np.clip(left @ right.T, -1.0, 1.0)


def candidate_pairs(vectors: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (i, j, cosine) with i < j and cosine >= threshold, most similar first (ties by index)."""
    if len(vectors) < 2:
        return []
    sims = cosine_matrix(vectors, vectors)
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    found = [(int(a), int(b), float(sims[a, b])) for a, b in zip(i, j, strict=True)]
    return sorted(found, key=lambda p: (-p[2], p[0], p[1]))


# -- fields ----------------------------------------------------------------------------------------------------------

_DISEASE_ALIASES = {
    "ad": "alzheimer",
    "pd": "parkinson",
    "hd": "huntington",
    "als": "amyotrophic lateral sclerosis",
    "mnd": "amyotrophic lateral sclerosis",
    "motor neuron": "amyotrophic lateral sclerosis",
    "lou gehrig": "amyotrophic lateral sclerosis",
    "ftd": "frontotemporal dementia",
    "ftld": "frontotemporal dementia",
    "frontotemporal lobar degeneration": "frontotemporal dementia",
    "ms": "multiple sclerosis",
    "psp": "progressive supranuclear palsy",
    "msa": "multiple system atrophy",
    "dlb": "dementia with lewy bodies",
    "lewy body dementia": "dementia with lewy bodies",
}


def normal_target(symbol: str) -> str:
    return symbol.strip().casefold()


def normal_disease(name: str) -> str:
    """'Alzheimer's disease' / 'Alzheimer disease' / 'AD' -> 'alzheimer'; case, possessive 's and the word
    'disease' are dropped, and common abbreviations spelled out."""
    text = name.casefold().replace("’", "'")
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"\b(disease|disorder)\b", " ", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return _DISEASE_ALIASES.get(text, text)


def ruled_out(a: Claim, b: Claim) -> Difference | None:
    """Why `a` and `b` cannot be one hypothesis on their fields alone: no target in common ("target"), or both name
    diseases and none in common ("disease"); None when the fields allow it."""
    if not {normal_target(t) for t in a.targets} & {normal_target(t) for t in b.targets}:
        return "target"
    left = {normal_disease(d) for d in a.diseases}
    right = {normal_disease(d) for d in b.diseases}
    if left and right and not left & right:
        return "disease"
    return None


def shared_targets(a: Claim, b: Claim) -> list[str]:
    """The targets both name, as `a` writes them, in `a`'s order."""
    right = {normal_target(t) for t in b.targets}
    return [t for t in a.targets if normal_target(t) in right]


# -- the effect's direction ------------------------------------------------------------------------------------------

_UP = (
    "activat", "agonis", "increas", "upregulat", "up-regulat", "enhanc", "promot", "boost", "restor", "overexpress",
    "over-express", "potentiat", "stimulat", "induc", "elevat", "augment", "rais", "strengthen", "amplif", "rescu",
    "replac", "gene therapy", "positive allosteric", "correct",
)  # fmt: skip
_DOWN = (
    "inhibit", "antagonis", "decreas", "downregulat", "down-regulat", "suppress", "block", "knockdown", "knock-down",
    "knocking down", "knock down", "knockout", "knock-out", "silenc", "lower", "reduc", "deplet", "neutralis",
    "neutraliz", "attenuat", "abolish", "delet", "ablat", "degrader", "antisense", "sirna", "loss of", "lowering",
    "dampen", "negative allosteric", "limit", "curb", "prevent", "anti-", "inverse agonis",
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*|[.,;:]")
WINDOW = 4  # words either side of a target's mention searched for the cue word nearest it
# words and marks a cue does not reach across: "lower alpha-synuclein in GBA1 carriers" says nothing of GBA1
_BARRIERS = frozenset(
    {
        ".",
        ",",
        ";",
        ":",
        "in",
        "via",
        "through",
        "by",
        "that",
        "which",
        "while",
        "and",
        "but",
        "so",
        "because",
        "whereas",
        "than",
        "should",
        "would",
        "is",
        "are",
    }
)
Direction = Literal[1, -1, 0]


def _cue(words: Sequence[str], i: int) -> Direction:
    """+1, -1 or 0: the polarity of word i (or of a part of it: "steric-blocking"), or of the two-word phrase
    starting there ("knock down")."""
    word = words[i]
    phrase = f"{word} {words[i + 1]}" if i + 1 < len(words) else word
    parts = word.split("-")
    for sign, stems in ((-1, _DOWN), (1, _UP)):
        for stem in stems:
            if phrase.startswith(stem) if " " in stem else any(p.startswith(stem) for p in (word, *parts)):
                return -1 if sign < 0 else 1
    return 0


def _mentions(word: str, symbol: str) -> bool:
    """Whether a word names the target: the symbol itself, or a hyphenated word with the symbol as a part
    ("LRRK2-G2019S", "anti-CD33")."""
    return word == symbol or symbol in word.split("-") or word.startswith(f"{symbol}-")


def _votes(text: str, target: str) -> int:
    """The sum, over the mentions of `target` in `text`, of the polarity of the cue word nearest each (in the
    mention itself first, "anti-CD33"; then before it on a tie: "inhibiting X activates Y" is about inhibiting X)."""
    words = _WORD.findall(text.casefold())
    symbol = normal_target(target)
    total = 0
    for i, word in enumerate(words):
        if not _mentions(word, symbol):
            continue
        total += _nearest_cue(words, i, symbol)
    return total


def _nearest_cue(words: Sequence[str], i: int, symbol: str) -> int:
    """The polarity of the cue nearest word i (a mention of `symbol`) within WINDOW words, not across a barrier;
    the rest of the mention itself first ("anti-CD33"), then the word before it on a tie."""
    rest = [part for part in words[i].split("-") if part and part != symbol]
    if rest and (cue := _cue(["-".join(rest)], 0)):
        return cue
    open_sides = {-1: True, 1: True}
    for distance in range(1, WINDOW + 1):
        for side in (-1, 1):
            j = i + side * distance
            if not open_sides[side] or not 0 <= j < len(words):
                continue
            if words[j] in _BARRIERS:
                open_sides[side] = False
            elif cue := _cue(words, j):
                return cue
    return 0


def direction(claim: Claim, target: str) -> Direction:
    """The effect `claim` proposes on `target`: +1 (more of it: activate, agonise, restore ...), -1 (less: inhibit,
    block, lower ...) or 0 (not stated beside the symbol, or mixed). The title counts twice: it states the claim.
    A target named only by its protein name ("Parkin" for PRKN) has no direction here: the model check reads it."""
    score = 2 * _votes(claim.title, target) + _votes(claim.mechanism, target)
    return 1 if score > 0 else -1 if score < 0 else 0


REWORDED = 6  # titles differing in at most this many words are "the same wording"


def _title_reversal(a: Claim, b: Claim) -> bool:
    """The same title with the effect reversed: the few words only one title has carry cues of one polarity, and
    the words only the other has carry the opposite one ("Lowering ataxin-2 reduces ..." / "Raising ataxin-2
    reduces ..."), which reads a target named by its protein name too."""
    left = set(_WORD.findall(a.title.casefold()))
    right = set(_WORD.findall(b.title.casefold()))
    only_left, only_right = left - right, right - left
    if not only_left or not only_right or len(only_left) + len(only_right) > REWORDED:
        return False
    cues_left = {_cue([w], 0) for w in only_left} - {0}
    cues_right = {_cue([w], 0) for w in only_right} - {0}
    return len(cues_left) == 1 and len(cues_right) == 1 and cues_left != cues_right


def direction_conflict(a: Claim, b: Claim) -> str | None:
    """A shared target on which `a` and `b` claim opposite effects (a reversed claim), else None: read from the
    cue words beside each mention of the target, or from titles that differ only in words of opposite effect."""
    shared = shared_targets(a, b)
    for target in shared:
        left, right = direction(a, target), direction(b, target)
        if left and right and left != right:
            return target
    if shared and _title_reversal(a, b):
        return shared[0]
    return None
