"""The XSS corpus (tests/xss_payloads.txt), a database whose hypotheses and model turns are full of it,
and the check that a rendered page holds none of it as markup."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import select

from debates.hypotheses import Evidence, Hypothesis
from store.engine import open_store
from store.models import DebateRow
from tests.fakes import FakeDebater, Reply, ScriptedServer
from tests.helpers import runner
from wiki.settings import WikiSettings
from wiki.sync import attach_pages, import_pages

PAYLOADS = [p for p in Path(__file__).with_name("xss_payloads.txt").read_text(encoding="utf-8").splitlines() if p]
TARGETS = ("TREM2", "SIRT1", "NLRP3")
PAGE = """\
---
slug: xss-page
title: TREM2 and friends
entity_type: gene
entities: [GENE:TREM2, GENE:SIRT1, GENE:NLRP3]
---
# TREM2

TREM2 is a microglial receptor.
"""
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcdoc", "data", "xlink:href", "background", "poster"}
NEVER = {"iframe", "object", "embed", "base", "img", "video", "audio", "source", "math", "textarea", "form", "frame"}
HEAD_ONLY = {"style", "link", "meta"}


def hostile_hypotheses() -> list[Hypothesis]:
    out = []
    for i, target in enumerate(TARGETS):
        title = f"{target} therapy"
        for payload in PAYLOADS[i:] + PAYLOADS[:i]:
            if len(title) + len(payload) + 1 > 300:
                break
            title += " " + payload
        out.append(
            Hypothesis(
                title=title,
                targets=[target],
                mechanism=f"{target} activity in microglia drives neuroinflammation. " + " ".join(PAYLOADS),
                diseases=[PAYLOADS[i][:120], "Alzheimer's disease"],
                evidence=[Evidence(claim=f"{target} evidence {p}") for p in PAYLOADS[:50]],
                pages=["xss-page"],
            )
        )
    return out


class HostileDebater:
    """A FakeDebater whose every free-text field ends with the next payload of the corpus."""

    def __init__(self) -> None:
        self.debater = FakeDebater(score=lambda judge, dim: 5 + judge)
        self.n = 0

    def _next(self) -> str:
        self.n += 1
        return PAYLOADS[self.n % len(PAYLOADS)]

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = self.debater(body)
        args = reply.tool_args
        if isinstance(args, dict):
            for key in ("claim", "revised_claim", "summary", "prediction"):
                if isinstance(args.get(key), str):
                    args[key] = f"{args[key]} {self._next()}"
            for item in args.get("points", []) + args.get("answers", []):
                key = "point" if "severity" in item else "answer"
                item[key] = f"{item[key]} {self._next()}"
        return reply


@dataclass(frozen=True)
class XssDb:
    url: str
    batch_id: str
    hypothesis_ids: list[str]
    debate_ids: list[str]
    page: Path


async def build_xss_db(folder: Path) -> XssDb:
    url = f"sqlite:///{folder / 'xss.db'}"
    hypotheses = hostile_hypotheses()
    batch = runner(ScriptedServer(default=HostileDebater()), url, rounds=2, judges=2, early_stop=False)
    try:
        result = await batch.run(hypotheses, source="xss.yaml")
    finally:
        await batch.client.aclose()
    assert [o.status for o in result.outcomes] == ["completed"] * len(hypotheses), result.outcomes
    page = folder / "xss-page.md"
    page.write_text(PAGE, encoding="utf-8")
    sessions = open_store(url)
    try:
        import_pages(sessions, [page], root=folder)
        attach_pages(sessions, [], WikiSettings(), root=folder)
        with sessions() as s:
            debates = list(s.scalars(select(DebateRow.id)))
    finally:
        sessions.close()
    return XssDb(url, result.batch_id, [h.hypothesis_id for h in hypotheses], debates, page)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(html: str, *, own_scripts: int = 0, svg_classes: frozenset[str] = frozenset()) -> None:
    """No payload survives as markup: not verbatim, no event handler, no script URL, no tag it could bring."""
    for payload in PAYLOADS:
        if "<" in payload:
            assert payload not in html, payload
    parser = _Tags()
    parser.feed(html)
    names = [tag for tag, _ in parser.tags]
    body = names.index("body") if "body" in names else 0
    assert names.count("script") == own_scripts
    for index, (tag, attrs) in enumerate(parser.tags):
        assert tag not in NEVER, (tag, attrs)
        assert tag not in HEAD_ONLY or index < body, (tag, attrs)
        if tag == "svg":
            assert dict(attrs).get("class") in svg_classes, attrs
        for name, value in attrs:
            assert not name.startswith("on"), (tag, attrs)
            url = "".join((value or "").split()).lower()
            if name in URL_ATTRIBUTES:
                assert not url.startswith(("javascript:", "vbscript:", "data:text", "http:", "https:", "//")), attrs
