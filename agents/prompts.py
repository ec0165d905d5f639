"""Prompt templates: one Jinja2 file per role and step in prompts/, StrictUndefined, versioned by hash.

Judge personas are plain files in prompts/judge_personas/ (the tail of the judge's prompt); each one's hash is
kept as `persona:<name>`, so changing a persona changes the protocol.

Every role and step shares one system message (prompts/system.md, part of every step's hash), and every
template opens the same way: the hypothesis block, then the debate so far in order, and only then the step's
instructions (a judge's number and persona last). So each prompt of a debate starts with the tokens of the
previous one, and a server that reuses a cached prompt prefix (llama.cpp: the embedded model) evaluates only
what is new.

Every value a template prints (`{{ ... }}`) passes through `data_text`: `<`, `>` and `&` are written as
`&lt;`, `&gt;` and `&amp;`, so hypothesis and turn text (untrusted: users and models wrote it) can never
close its `<hypothesis>`/`<turn>` block or open a new one; only the templates' own text holds delimiters."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2

from safeio.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"

Step = Literal[
    "opening",
    "critique",
    "rebuttal",
    "closing",
    "verdict",
    "pairwise",
    "verify",
    "generate",
    "evolve",
    "meta_review",
    "duplicate",
]
DEBATE_STEPS: tuple[Step, ...] = ("opening", "critique", "rebuttal", "closing", "verdict")
TEMPLATES: dict[Step, str] = {
    "opening": "proposer_opening.md.j2",
    "critique": "critic_critique.md.j2",
    "rebuttal": "proposer_rebuttal.md.j2",
    "closing": "critic_closing.md.j2",
    "verdict": "judge_verdict.md.j2",
    "pairwise": "judge_pairwise.md.j2",  # the tournament's judge (agents/pairwise.py), not a debate step
    "verify": "verifier_claim.md.j2",  # the evidence verifier (agents/verifier.py), not a debate step
    "generate": "generator_new.md.j2",  # hypodebate generate (agents/generation.py): a new hypothesis
    "evolve": "generator_evolve.md.j2",  # a child of ranked parents (combine, simplify, strengthen, out of the box)
    "meta_review": "generator_meta_review.md.j2",  # a generation's recurring critique themes
    "duplicate": "dedup_check.md.j2",  # the duplicate check on a close pair (agents/duplicate.py)
}
PERSONAS_DIR = "judge_personas"
SYSTEM = "system.md"
RENDERING = b"finalize=data_text/html-escape-v1"  # how values are printed is part of every step's hash


def data_text(value: Any) -> Any:
    """A printed value with the delimiter characters escaped (`</hypothesis>` becomes `&lt;/hypothesis&gt;`)."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


class PromptError(ConfigError):
    """A template is missing, broken, or needs a variable the code does not pass."""


@dataclass(frozen=True)
class PromptSet:
    env: jinja2.Environment
    hashes: dict[str, str]
    personas: dict[str, str]
    system: str  # the system message of every call

    def persona(self, name: str) -> str:
        try:
            return self.personas[name]
        except KeyError:
            known = ", ".join(sorted(self.personas)) or "none"
            raise PromptError(
                f"{PROMPTS_DIR / PERSONAS_DIR / name}.md: no such judge persona (known: {known})"
            ) from None

    def render(self, step: Step, **variables: Any) -> str:
        try:
            return self.env.get_template(TEMPLATES[step]).render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{PROMPTS_DIR / TEMPLATES[step]}: {exc.message}") from None

    @property
    def version(self) -> str:
        joined = "".join(f"{k}={v};" for k, v in sorted(self.hashes.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:12]


def load_prompts(folder: Path = PROMPTS_DIR) -> PromptSet:
    """Load every template; each step's hash covers its own file and the shared partials (`_*.j2`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - prompts are plain text for a model; `finalize` escapes the delimiters
        finalize=data_text,
        keep_trailing_newline=True,
        trim_blocks=False,
        auto_reload=False,  # the templates hashed at load are the ones rendered (and no file check per render)
    )
    system_path = folder / SYSTEM
    if not system_path.is_file():
        raise PromptError(f"{system_path}: system message missing")
    system = system_path.read_text(encoding="utf-8").strip()
    if not system:
        raise PromptError(f"{system_path}: empty system message")
    partials = sorted(folder.glob("_*.j2"))
    shared = b"".join(p.read_bytes() for p in partials) + RENDERING + system.encode()
    hashes = {}
    for step, name in TEMPLATES.items():
        path = folder / name
        if not path.is_file():
            raise PromptError(f"{path}: template missing")
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{path}:{exc.lineno}: {exc.message}") from None
        hashes[step] = hashlib.sha256(path.read_bytes() + shared).hexdigest()[:12]
    personas = {}
    for path in sorted((folder / PERSONAS_DIR).glob("*.md")):
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise PromptError(f"{path}: empty persona")
        personas[path.stem] = text
        hashes[f"persona:{path.stem}"] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return PromptSet(env=env, hashes=hashes, personas=personas, system=system)
