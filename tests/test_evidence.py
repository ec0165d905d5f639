"""The evidence audit end to end: `bib import`, citations resolved against it, made-up citations in debate turns,
claim checks by a verifier behind the real openai client (a loopback server), the judges' view of the audit, and
`hypodebate evidence`."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from evidence.identifiers import Citation, Malformed, find, parse
from evidence.resolve import Bibliography, resolve
from hypodebate.api import run_batch
from hypodebate.cli import app
from hypodebate.config import load_settings
from store.engine import open_store
from store.models import BibEntryRow, ClaimCheckRow, DebateRow, UsageRow, VerdictRow
from tests.fakes import FakeDebater, Reply
from tests.helpers import settings_for
from tests.loopback import LoopbackServer

INVENTED = "PMID:39999999"
MYC_ABSTRACT = (
    "We sequenced the exomes of pancreatic ductal adenocarcinoma (PDA) tumours to map their genetic diversity. "
    "MYC amplification was associated with poor outcome in pancreatic ductal adenocarcinoma. "
    "Several amplified genes are candidate therapeutic targets."
)
BIB = f"""
@string{{sci = "Science"}}
@article{{pittenger1999,
  title = {{Multilineage Potential of Adult Human Mesenchymal Stem Cells}},
  author = {{Pittenger, Mark F. and Mackay, Alastair M. and others}},
  journal = sci, year = {{1999}}, doi = {{10.1126/science.284.5411.143}}, pmid = {{10102814}}
}}
@article{{crigler2007,
  title = {{Human mesenchymal stem cell subpopulations express a variety of neuro-regulatory molecules}},
  author = {{Crigler, L. and Robey, R. C.}},
  journal = {{Experimental Neurology}}, year = {{2006}}, pmid = {{16336965}}
}}
@article{{wang2015myc,
  title = {{Whole-exome sequencing of pancreatic cancer defines genetic diversity and therapeutic targets}},
  author = {{Witkiewicz, Agnieszka K. and others}},
  journal = {{Nature Communications}}, year = {{2015}}, pmid = {{25855536}},
  abstract = {{{MYC_ABSTRACT}}}
}}
"""


def hypothesis(title: str, evidence: list[dict[str, str]], target: str = "MYC") -> dict[str, Any]:
    return {
        "title": title,
        "targets": [target],
        "mechanism": f"{target} drives the phenotype through its transcriptional program in the affected cells.",
        "diseases": ["pancreatic cancer"],
        "evidence": evidence,
    }


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"hypotheses": records}, sort_keys=False), encoding="utf-8")
    return path


class AuditedDebater:
    """Plays the debaters like FakeDebater, but the proposer's opening cites a made-up PMID; answers the verifier
    by the outcome words of the hypothesis against the abstract's sentence that shares most words with the claim
    (or with a fixed `quote` when set, e.g. one the abstract does not hold)."""

    def __init__(self, quote: str | None = None) -> None:
        self.debater = FakeDebater()
        self.quote = quote
        self.prompts: list[str] = []
        self.verifier_calls = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"][-1].get("content") or "")
        with self._lock:
            self.prompts.append(prompt)
        if "You are an EVIDENCE VERIFIER" in prompt:
            with self._lock:
                self.verifier_calls += 1
            return self.verify(prompt)
        reply = self.debater(body)
        if "You are the PROPOSER" in prompt and "(round" not in prompt and isinstance(reply.tool_args, dict):
            text = json.dumps(reply.tool_args)
            reply.tool_args = json.loads(text.replace(" (claim)", f" as shown in {INVENTED} (claim)", 1))
        return reply

    def verify(self, prompt: str) -> Reply:
        statement = _between(prompt, "<hypothesis>", "</hypothesis>")
        claim = _between(prompt, "<claim>", "</claim>")
        abstract = prompt.split("Abstract: ", 1)[1].split("</source>", 1)[0].strip()
        sentences = re.split(r"(?<=\.)\s+", abstract)
        best = max(sentences, key=lambda s: len(_words(s) & _words(claim)))
        outcome = {"poor", "improved"} & _words(statement)
        if not outcome or not _words(best) & {"poor", "improved"}:
            label = "insufficient"
        else:
            label = "supports" if outcome & _words(best) else "contradicts"
        args = {"reasoning": f"The abstract reports: {best[:200]}", "label": label, "quote": self.quote or best}
        return Reply(tool_args=args, prompt_tokens=200, completion_tokens=40)


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def cli(args: list[str], server: LoopbackServer, tmp_path: Path) -> Any:
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text("llm:\n  concurrency: 4\n", encoding="utf-8")
    return CliRunner().invoke(app, [*args, "--config", str(config)], env=env)


def import_bib(tmp_path: Path, db: str, server: LoopbackServer) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB, encoding="utf-8")
    result = cli(["bib", "import", str(bib), "--db", db], server, tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 entries (3 added, 0 updated, 0 unchanged)" in result.output


def audit_rows(server: LoopbackServer, tmp_path: Path, db: str, *extra: str) -> list[dict[str, Any]]:
    result = cli(["evidence", "--format", "jsonl", "--db", db, *extra], server, tmp_path)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


# -- citations and their resolution ---------------------------------------------------------------------------------


def test_citations_are_found_in_running_text_with_their_sentence_and_near_misses_are_malformed():
    text = (
        "MSCs are multipotent (Pittenger et al. 1999, doi:10.1126/science.284.5411.143). Trial NCT0123 failed; "
        "see PMID: 16336965. Mail me at a@b.org or read https://example.org/paper. Also [@shi2010]."
    )
    found = find(text)
    shown = [(type(f.citation).__name__, f.citation.text) for f in found]
    assert shown == [
        ("Citation", "doi:10.1126/science.284.5411.143"),
        ("Malformed", "NCT0123"),
        ("Citation", "PMID: 16336965"),
        ("Citation", "https://example.org/paper"),
        ("Citation", "[@shi2010]"),
    ]
    assert found[0].sentence.startswith("MSCs are multipotent") and found[0].sentence.endswith(").")
    # the embedded model wrapped a URL in backticks: the backtick ends it
    assert [f.citation.text for f in find("{ 'linker' :`https://en.wikipedia.org/wiki/SIRT1`, x}")] == [
        "https://en.wikipedia.org/wiki/SIRT1"
    ]
    url = "https://pubmed.ncbi.nlm.nih.gov/10102814/"
    assert parse(url) == Citation("pmid", "10102814", url)
    assert isinstance(parse("PMID: 0"), Malformed) and isinstance(parse("doi:11.1/x"), Malformed)


class _Entry:
    def __init__(self, **fields: Any) -> None:
        defaults = dict.fromkeys(("title", "year", "journal", "doi", "pmid", "nct", "url", "abstract"))
        self.__dict__.update({**defaults, "authors": (), **fields})


def test_a_real_paper_with_wrong_details_is_miscited_not_fabricated():
    bib = Bibliography(
        [
            _Entry(
                key="crigler2007",
                title="Human MSC subpopulations",
                authors=("Crigler, L.",),
                year=2006,
                journal="Experimental Neurology",
                pmid="16336965",
            )
        ]
    )
    given = frozenset({("pmid", "16336965")})

    def status(sentence: str, citation: str = "PMID:16336965", *, in_turn: bool = True) -> tuple[str, str | None]:
        r = resolve(parse(citation), sentence, bib, in_turn=in_turn, given=given)
        return r.status, r.detail

    assert status("Crigler et al., 2006 showed neurotrophic secretion.") == ("resolved", None)
    assert status("Crigler L. Exp Neurol. 2006;198:54.") == ("resolved", None)  # the journal abbreviated
    assert status("Crigler et al., 2007 showed it.") == ("miscited", "year 2007 stated, the entry says 2006")
    assert status("Muller et al. (2006) showed it.")[0] == "miscited"
    assert (
        status("Crigler L. Nature. 2006;198:54.")[1]
        == "journal 'Nature' stated, the entry says 'Experimental Neurology'"
    )
    assert status("As shown.", "PMID:39999999") == (
        "fabricated",
        "in neither the hypothesis's evidence nor any bibliography",
    )
    assert status("As shown.", "PMID:39999999", in_turn=False)[0] == "unresolved"
    assert status("As shown.", "PMID: 12ab")[0] == "malformed"


# -- the audit end to end -------------------------------------------------------------------------------------------


def test_a_proposer_citing_an_invented_pmid_is_flagged_and_the_judges_read_it(tmp_path, judge_server):
    debater = AuditedDebater()
    server = judge_server(debater)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    import_bib(tmp_path, db, server)
    path = write(
        tmp_path / "h.yaml",
        [
            hypothesis(
                "MSC secretome protects neurons",
                [
                    {"claim": "MSCs are multipotent (Pittenger et al., 1999).", "citation": "PMID:10102814"},
                    {"claim": "Crigler et al., 2007 found neurotrophic factors.", "citation": "@crigler2007"},
                    {"claim": "MSCs suppress inflammation.", "citation": "@shi2010"},
                ],
                target="BDNF",
            )
        ],
    )
    settings = settings_for(server, tmp_path, extra="evidence:\n  penalize: true\n  penalty_cap: 2\n")
    batch = run_batch(path, settings=settings, db=db, rounds=1, judges=2)
    assert batch.count("completed") == 1
    assert batch.evidence is not None and batch.evidence["fabricated"] == 1 and batch.bibliography_entries == 3
    verdict_prompts = [p for p in debater.prompts if "You are JUDGE" in p]
    assert len(verdict_prompts) == 2
    assert all(
        f"made up in the debate (in neither the hypothesis's evidence nor any bibliography): {INVENTED}" in p
        for p in verdict_prompts
    )
    assert all(
        "- citations: 2 resolved, 1 miscited, 1 unresolved, 0 malformed, 1 fabricated" in p
        for p in verdict_prompts  # the critique disputes PMID:10102814
    )
    sessions = open_store(db)
    with sessions() as session:
        verdicts = list(session.scalars(select(VerdictRow)))
        protocol = session.scalars(select(DebateRow.protocol)).one()
    assert {v.scores["evidence_strength"] for v in verdicts} == {2}  # FakeDebater gave 7: capped in code
    assert protocol["evidence"]["penalty"] == {"dimension": "evidence_strength", "cap": 2}

    rows = audit_rows(server, tmp_path, db, "--no-verify")
    by_citation = {(r["source"], r["citation"]): r for r in rows}
    assert by_citation[("evidence", "PMID:10102814")]["status"] == "resolved"
    miscited = by_citation[("evidence", "@crigler2007")]
    assert miscited["status"] == "miscited" and miscited["detail"] == "year 2007 stated, the entry says 2006"
    assert by_citation[("evidence", "@shi2010")]["status"] == "unresolved"
    fabricated = by_citation[("turn", INVENTED)]
    assert fabricated["status"] == "fabricated" and fabricated["role"] == "proposer"
    assert INVENTED in fabricated["claim"] and fabricated["hypothesis_id"].startswith("h-")
    assert set(rows[0]) >= {"hypothesis_id", "claim", "citation", "source", "status", "support", "quote"}
    sessions.close()


def biodsa_pair(tmp_path: Path) -> Path:
    claim = {"claim": "MYC amplification is uniquely associated with poor outcome.", "citation": "PMID:25855536"}
    return write(
        tmp_path / "pair.yaml",
        [
            hypothesis("Amplification of MYC is associated with poor outcome in PDA.", [claim]),
            hypothesis("Amplification of MYC is associated with improved outcome in PDA.", [claim]),
        ],
    )


def test_the_verifier_supports_the_true_and_contradicts_the_false_member_of_a_pair(tmp_path, judge_server):
    verify_pair(tmp_path, judge_server, f"sqlite:///{tmp_path / 'e.db'}")


def test_the_audit_on_postgres(tmp_path, judge_server, postgres_url):
    verify_pair(tmp_path, judge_server, postgres_url)


def verify_pair(tmp_path: Path, judge_server: Any, db: str) -> None:
    debater = AuditedDebater()
    server = judge_server(debater)
    import_bib(tmp_path, db, server)
    path = biodsa_pair(tmp_path)
    batch = run_batch(path, settings=settings_for(server, tmp_path), db=db, rounds=0, judges=1)
    assert batch.count("completed") == 2
    assert debater.verifier_calls == 2  # checked before the debates (verify_before_debate)
    false_verdict = next(p for p in debater.prompts if "You are JUDGE" in p and "improved outcome" in p)
    assert "contradicted by its own source's abstract: MYC amplification is uniquely associated" in false_verdict

    rows = [r for r in audit_rows(server, tmp_path, db) if r["source"] == "evidence"]
    assert debater.verifier_calls == 2  # nothing asked again
    support = {r["hypothesis_id"]: (r["support"], r["quote"]) for r in rows}
    labels = sorted(s for s, _ in support.values())
    assert labels == ["contradicts", "supports"]
    assert {q for _, q in support.values()} == {
        "MYC amplification was associated with poor outcome in pancreatic ductal adenocarcinoma."
    }
    sessions = open_store(db)
    with sessions() as session:
        checks = list(session.scalars(select(ClaimCheckRow)))
        usage = session.scalar(select(func.count()).select_from(UsageRow).where(UsageRow.role == "verifier"))
    assert len(checks) == 2 and usage == 2
    assert all(c.quote_found and c.model == "gpt-4o-mini" and len(c.prompt_hash) == 12 for c in checks)
    sessions.close()


def test_a_quote_the_abstract_does_not_hold_downgrades_the_label(tmp_path, judge_server):
    debater = AuditedDebater(quote="MYC amplification predicted poor survival in every cohort we studied.")
    server = judge_server(debater)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    import_bib(tmp_path, db, server)
    settings = settings_for(server, tmp_path, extra="evidence:\n  verify_before_debate: false\n")
    run_batch(biodsa_pair(tmp_path), settings=settings, db=db, rounds=0, judges=1)
    assert debater.verifier_calls == 0
    rows = [r for r in audit_rows(server, tmp_path, db) if r["source"] == "evidence"]
    assert [r["support"] for r in rows] == ["insufficient", "insufficient"]
    sessions = open_store(db)
    with sessions() as session:
        checks = list(session.scalars(select(ClaimCheckRow)))
    assert sorted(c.raw_label for c in checks) == ["contradicts", "supports"]
    assert not any(c.quote_found for c in checks)
    sessions.close()


def test_a_bad_entry_stores_nothing_of_its_file_and_names_the_file_and_entry(tmp_path, judge_server):
    server = judge_server(FakeDebater())
    db = f"sqlite:///{tmp_path / 'e.db'}"
    good = tmp_path / "good.bib"
    good.write_text(BIB, encoding="utf-8")
    bad = tmp_path / "bad.bib"
    bad.write_text(BIB.replace("pmid = {16336965}", "pmid = {16336x65}"), encoding="utf-8")
    result = cli(["bib", "import", str(good), str(bad), "--db", db], server, tmp_path)
    assert result.exit_code == 2
    assert "bad.bib" in result.output and "crigler2007" in result.output
    sessions = open_store(db)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(BibEntryRow)) == 0
    sessions.close()
    assert cli(["bib", "import", str(good), "--db", db], server, tmp_path).exit_code == 0
    again = cli(["bib", "import", str(good), "--db", db], server, tmp_path)
    assert "3 entries (0 added, 0 updated, 3 unchanged)" in again.output


def test_an_unknown_hypothesis_is_one_line_and_exit_2(tmp_path, judge_server):
    server = judge_server(FakeDebater())
    result = cli(["evidence", "--hypothesis", "h-00000000", "--db", f"sqlite:///{tmp_path / 'e.db'}"], server, tmp_path)
    assert result.exit_code == 2
    assert "--hypothesis h-00000000: no such hypothesis" in result.output


# -- online lookups, page references, settings ----------------------------------------------------------------------


def test_online_lookups_resolve_what_no_bibliography_holds_and_are_cached(tmp_path):
    import asyncio

    import httpx2

    from evidence.online import OnlineResolver
    from store.models import ResolverCacheRow

    asked: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        asked.append(str(request.url))
        if request.url.host == "eutils.ncbi.nlm.nih.gov":
            pmid = request.url.params["id"]
            if pmid != "10102814":
                return httpx2.Response(
                    200, json={"result": {pmid: {"uid": pmid, "error": "cannot get document summary"}}}
                )
            record = {
                "uid": pmid,
                "title": "Multilineage potential of adult human mesenchymal stem cells.",
                "authors": [{"name": "Pittenger MF"}, {"name": "Mackay AM"}],
                "pubdate": "1999 Apr 2",
                "fulljournalname": "Science (New York, N.Y.)",
                "articleids": [{"idtype": "doi", "value": "10.1126/science.284.5411.143"}],
            }
            return httpx2.Response(200, json={"result": {pmid: record}})
        return httpx2.Response(404)

    sessions = open_store(f"sqlite:///{tmp_path / 'o.db'}")
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    resolver = OnlineResolver(sessions, http)
    wanted = [parse("PMID:10102814"), parse("PMID:39999999"), parse("10.9999/nothing")]
    found = asyncio.run(resolver.lookup(wanted))
    assert [(e.key, e.year, e.doi, e.authors[0]) for e in found] == [
        ("pmid:10102814", 1999, "10.1126/science.284.5411.143", "Pittenger, MF")
    ]
    assert len(asked) == 3
    again = asyncio.run(resolver.lookup(wanted))  # every answer, found or not, came from the cache
    assert len(asked) == 3 and [e.key for e in again] == ["pmid:10102814"]
    with sessions() as session:
        cached = {(r.resolver, r.identifier, r.found) for r in session.scalars(select(ResolverCacheRow))}
    assert cached == {
        ("pubmed", "10102814", True),
        ("pubmed", "39999999", False),
        ("crossref", "10.9999/nothing", False),
    }
    asyncio.run(http.aclose())
    sessions.close()


def test_a_page_references_section_becomes_entries_without_overwriting_a_bibliography(tmp_path, judge_server):
    server = judge_server(FakeDebater())
    db = f"sqlite:///{tmp_path / 'e.db'}"
    import_bib(tmp_path, db, server)
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "msc.md").write_text(
        "---\nslug: msc-therapy\ntitle: MSC therapy\n---\nMSCs are multipotent [@pittenger1999].\n\n"
        "## References\n"
        "- [@pittenger1999] Someone A. A different title. Nature. 2001. PMID: 11111111\n"
        "- [@bang2005] Bang OY, Lee JS, Lee PH, Lee G. Autologous mesenchymal stem cell transplantation in stroke "
        "patients. Ann Neurol. 2005;57(6):874-882. doi:10.1002/ana.20501 PMID: 15929052\n",
        encoding="utf-8",
    )
    result = cli(["pages", "import", "--root", str(pages), str(pages / "msc.md"), "--db", db], server, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 bibliography entries read from the pages' References sections" in result.output
    sessions = open_store(db)
    with sessions() as session:
        bang = session.get(BibEntryRow, "bang2005")
        pittenger = session.get(BibEntryRow, "pittenger1999")
    assert bang is not None and (bang.doi, bang.pmid, bang.year, bang.source) == (
        "10.1002/ana.20501",
        "15929052",
        2005,
        "page:msc-therapy",
    )
    assert pittenger is not None and (pittenger.source, pittenger.pmid) == ("refs.bib", "10102814")  # kept
    sessions.close()


def test_a_penalty_on_a_dimension_the_rubric_lacks_is_refused_with_its_line(tmp_path):
    from hypodebate.config import ConfigError

    config = tmp_path / "config.yaml"
    config.write_text("evidence:\n  penalize: true\n  penalty_dimension: evidence\n", encoding="utf-8")
    try:
        load_settings(config, env={})
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("a penalty on an unknown dimension was accepted")
    assert message.startswith(f"{config}:3: evidence.penalty_dimension: 'evidence' is not a rubric dimension")


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_the_seed_page_cites_17_keys_the_shared_bibliography_verifies_and_7_it_could_not(tmp_path, judge_server):
    """The seed page's 24 bibkeys against the shared BibTeX file (17 verified entries): the 7 keys its authors could
    not verify come out unresolved, and so does `clinicaltrialsgov`, which is not a paper."""
    import shutil

    import pytest

    seed, bib = SHARED / "seeds" / "003_eef26edecdd8bd38.txt", SHARED / "bib" / "msc-neurodegeneration.bib"
    if not (seed.exists() and bib.exists()):
        pytest.skip("the shared seed page and bibliography are not beside the repository")
    server = judge_server(FakeDebater())
    db = f"sqlite:///{tmp_path / 'e.db'}"
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(seed, pages / seed.name)
    shutil.copy(bib, tmp_path / bib.name)
    assert cli(["bib", "import", str(tmp_path / bib.name), "--db", db], server, tmp_path).exit_code == 0
    assert (
        cli(["pages", "import", "--root", str(pages), str(pages / seed.name), "--db", db], server, tmp_path).exit_code
        == 0
    )
    slug = "therapeutics-mesenchymal-stem-cell-therapy-neurodegeneration"
    result = cli(["evidence", "--page", slug, "--format", "jsonl", "--db", db], server, tmp_path)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    status = {r["citation"]: r["status"] for r in rows}
    unverified = {"shi2010", "rani2015", "drago2013", "plotnikov2013", "shetty2015", "behfar2019", "chen2019"}
    assert {c for c, s in status.items() if s == "unresolved"} == {
        f"[@{k}]" for k in unverified | {"clinicaltrialsgov"}
    }
    assert sum(s == "resolved" for s in status.values()) == 17 and len(status) == 25
    assert all(r["page"] == slug and r["source"] == "page" for r in rows)
    rani = next(r for r in rows if r["citation"] == "[@rani2015]")
    assert rani["claim"].startswith("Multiple trials ongoing globally to evaluate efficacy")  # the sentence it follows
    table = cli(["evidence", "--page", slug, "--db", db], server, tmp_path)
    assert (
        "1 page · 25 citations against 17 bibliography entries: 17 resolved · 0 miscited · 8 unresolved" in table.stdout
    )
