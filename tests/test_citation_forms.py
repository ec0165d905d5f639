"""Citation forms a user or a model can write: identifiers that look real and are not (non-ASCII digits, invisible
characters) are malformed and say why, wherever they are written; real identifiers keep working; and the patterns
that find citations, their sentences and the author-year details beside them read hostile text of page size the way
they read real text (the rules written the slow, obvious way here are the reference)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from evidence.bibliography import BibliographyError, Entry, parse_bibtex, parse_references
from evidence.identifiers import Citation, Malformed, Sentences, find, parse
from evidence.resolve import _AUTHOR_YEAR, Bibliography, mismatches, resolve

SEED_PAGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "seeds" / "003_eef26edecdd8bd38.txt"
SICI = "10.1002/(SICI)1097-4636(199907)46:1<1::AID-JBM1>3.0.CO;2-Z"
BIB = Bibliography(
    [
        Entry(key="real", pmid="12345678", doi="10.1038/nature12373", nct="NCT01234567", authors=("Kucsko, G.",)),
        Entry(key="sici", doi=SICI, year=1999),
    ]
)


def audited(written: str) -> tuple[str, str | None]:
    """(status, detail) of `written` cited as evidence."""
    r = resolve(parse(written), "As shown.", BIB)
    return r.status, r.detail


# -- identifiers that look real and are not -------------------------------------------------------------------------

LOOKALIKES = {
    "PMID:１２３４５６７８": "non-ASCII digit U+FF11; a PMID is PMID: and 1 to 9 digits",
    "PMID: ١٢٣٤٥٦٧٨": "non-ASCII digit U+0661; a PMID is PMID: and 1 to 9 digits",
    "PMID:1234\u200b5678": "invisible character U+200B; a PMID is PMID: and 1 to 9 digits",
    "PMID:12345678\u2060": "invisible character U+2060; a PMID is PMID: and 1 to 9 digits",
    "10.1038/nature１２３７３": "non-ASCII digit U+FF11; a DOI is 10.<4-9 digits>/<suffix>",
    "doi:10.１０３８/nature12373": "non-ASCII digit U+FF11; a DOI is 10.<4-9 digits>/<suffix>",
    "https://doi.org/10.1038/nature\u200d12373": "invisible character U+200D; a DOI is 10.<4-9 digits>/<suffix>",
    "10.1038/nаture12373": "non-ASCII character U+0430; a DOI is 10.<4-9 digits>/<suffix>",  # Cyrillic a
    "NCT０１２３４５６７": "non-ASCII digit U+FF10; a trial id is NCT and 8 digits",
    "NCT0123\u200b4567": "invisible character U+200B; a trial id is NCT and 8 digits",
    "NCT01234567\u0301": "combining mark U+0301; a trial id is NCT and 8 digits",
}


@pytest.mark.parametrize("written", list(LOOKALIKES))
def test_an_identifier_with_a_non_ascii_digit_or_an_invisible_character_is_malformed_and_says_why(written):
    assert audited(written) == ("malformed", f"{written!r}: {LOOKALIKES[written]}")


def test_in_running_text_such_an_identifier_is_malformed_whole_not_cut_short_at_the_odd_character():
    text = (
        "Shown before (PMID:1234\u200b5678; PMID:１２３４５６７８). The trial NCT01234567\u200b failed, "
        "see doi:10.1038/nature１２３７３ or 10.1038/nature\u200b12373 and NCT0123４５６７."
    )
    shown = [(type(f.citation).__name__, f.citation.kind, f.citation.text) for f in find(text)]
    assert shown == [
        ("Malformed", "pmid", "PMID:1234\u200b5678"),
        ("Malformed", "pmid", "PMID:１２３４５６７８"),
        ("Malformed", "nct", "NCT01234567\u200b"),
        ("Malformed", "doi", "doi:10.1038/nature１２３７３"),
        ("Malformed", "doi", "10.1038/nature\u200b12373"),
        ("Malformed", "nct", "NCT0123４５６７"),
    ]
    assert all(f.sentence.endswith(".") for f in find(text))


def test_real_identifiers_with_punctuation_spaces_and_east_asian_full_stops_still_resolve():
    assert audited(f"doi:{SICI}") == ("resolved", None)
    assert Entry(key="k", doi=f"https://doi.org/{SICI}").doi == SICI.lower()
    assert audited("PMID:\u00a012345678") == ("resolved", None)  # a no-break space after the colon
    found = find("详见 doi:10.1038/nature12373。另见 PMID: 12345678，NCT01234567）")
    assert [(f.citation.kind, f.citation.text) for f in found] == [
        ("doi", "doi:10.1038/nature12373"),
        ("pmid", "PMID: 12345678"),
        ("nct", "NCT01234567"),
    ]
    assert all(isinstance(f.citation, Citation) and BIB.find(f.citation) is not None for f in found)
    assert isinstance(parse("PMID: 12ab"), Malformed) and audited("PMID: 12ab")[1] == (
        "'PMID: 12ab': a PMID is PMID: and 1 to 9 digits"  # an ASCII near miss says only what was expected
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pmid", "１２３４５６７８", "pmid: non-ASCII digit U+FF11; expected a PubMed id of 1 to 9 digits"),
        ("doi", "10.1038/nature12373\u200b", "doi: invisible character U+200B; expected a DOI such as"),
        ("nct", "NCT0123456٧", "nct: non-ASCII digit U+0667; expected a trial id of NCT and 8 digits"),
        ("pmcid", "PMC１２３", "pmcid: non-ASCII digit U+FF11; expected a PMC id"),
    ],
)
def test_a_bibliography_entry_with_such_an_identifier_is_refused_in_one_line_naming_the_field(field, value, message):
    with pytest.raises(BibliographyError) as caught:
        parse_bibtex(f"@article{{k1, title = {{T}}, {field} = {{{value}}}}}\n", "refs.bib")
    assert str(caught.value).startswith(f"refs.bib: entry 'k1' (line 1): {message}")
    assert "\n" not in str(caught.value)


def test_a_references_item_with_such_a_pmid_is_refused_naming_the_field():
    with pytest.raises(BibliographyError, match=r"^page:x: entry 'a' \(line 2\): pmid: non-ASCII digit U\+FF11; "):
        parse_references("## References\n- [@a] Smith J. A title. 2001. PMID: １２３４５６７８\n", "page:x")


# -- the patterns on hostile text -----------------------------------------------------------------------------------

# The author-year rule as it was first written (quadratic on a long hyphenated word): the reference.
REFERENCE_AUTHOR_YEAR = re.compile(
    r"\b([A-Z][\w'’-]+)(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][\w'’-]+)\s*,?\s*\(?((?:1[5-9]|20)\d\d)[a-z]?\b"
    r"|\(([A-Z][\w'’-]+),?\s+((?:1[5-9]|20)\d\d)[a-z]?\)"
)
REAL_DETAILS = [
    "MSCs are multipotent (Pittenger et al., 1999; PMID: 10102814).",
    "Crigler et al. (2006) and Pittenger and Mackay 1999 showed it; see also (Shi, 2010a).",
    "d'Alembert et al., 2001 and O'Brien & Doe 2010 disagree with anti-Smith et al. 2003.",
    "Smith  and  Jones1999, Smith and Jones , ( 2004 ), (Lee,  1988) and Lee et al.,2015b.",
    "Müller-Lüdenscheidt et al. 2012 found Van der Berg et al, 2019 wrong; (Ng 2020).",
]
HOSTILE_DETAILS = [
    "A-" * 2000,
    "A-" * 2000 + "A et al., 2001",
    "a-" * 2000 + "Smith et al. 1999",
    "Smith and " * 400 + "Jones 2001",
    "(" * 2000 + "Smith, 2001)",
    "Smith" + " " * 3000 + "et al. " + " " * 3000 + "x",
    "Smith and Jones" + " " * 3000 + "," + " " * 3000 + "1999",
    "X'" * 2000 + "Y et al. 2001",
]


@pytest.mark.parametrize("text", REAL_DETAILS + HOSTILE_DETAILS)
def test_author_and_year_are_read_as_the_reference_rule_reads_them(text):
    assert [m.groups() for m in _AUTHOR_YEAR.finditer(text)] == [
        m.groups() for m in REFERENCE_AUTHOR_YEAR.finditer(text)
    ]


def test_a_page_of_hostile_details_is_read_whole():
    """200 kB of `A-` (the reference rule: minutes), then a real author-year detail the pattern still reads."""
    entry = Entry(key="k", authors=("Pittenger, M.",), year=1999)
    hostile = "A-" * 100_000 + "\n" + "Smith and " * 10_000 + "\n"
    assert mismatches(hostile + "Pittenger et al., 2001", entry) == ["year 2001 stated, the entry says 1999"]


def reference_sentence(text: str, start: int, end: int, limit: int = 600) -> str:
    """The sentence rule as it was first written (one scan back per citation): the reference."""
    end_of_sentence = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bFig)(?<!\bvs)(?<!\bNo)[.!?](?=\s)")
    line_start = text.rfind("\n", max(0, start - limit), start) + 1 or max(0, start - limit)
    line_end = text.find("\n", end, end + limit)
    line_end = line_end if line_end >= 0 else min(len(text), end + limit)
    before = [m.end() for m in end_of_sentence.finditer(text, line_start, start)]
    after = end_of_sentence.search(text, end, line_end)
    first = before[-1] if before else line_start
    last = after.end() if after else line_end
    if not text[first:start].strip() and len(before) > 1:
        first = before[-2]
    elif not text[first:start].strip() and before:
        first = line_start
    return " ".join(text[first:last].split())


def random_text(rng: random.Random, size: int) -> str:
    pieces = ["Smith", " et al. ", "e.g. ", "Fig. 2", ". ", "! ", "? ", ".\n", "\n", " ", "[@a]", "PMID: 1", "x" * 40]
    return "".join(rng.choice(pieces) for _ in range(size))


def test_every_citation_gets_the_sentence_the_reference_rule_gives():
    rng = random.Random(23)
    texts = [random_text(rng, n) for n in (5, 40, 300, 3000)]
    texts += ["[@a" * 2000, ". " * 2000 + "[@a]" + " x." * 2000, "a.\n" * 3000]
    texts.append(SEED_PAGE.read_text(encoding="utf-8") if SEED_PAGE.is_file() else random_text(rng, 500))
    for text in texts:
        sentences = Sentences(text)
        spans = [m.span() for m in re.finditer(r"\[@a\]?|PMID: 1", text)]
        spans += [tuple(sorted(rng.sample(range(len(text) + 1), 2))) for _ in range(200)]
        for start, end in spans:
            assert sentences.around(start, end) == reference_sentence(text, start, end), (text[:80], start, end)


def test_a_page_of_citations_is_found_whole_each_with_its_sentence():
    """100 kB of `[@a` (the reference rule: half a minute) is 34,133 citations, each with the sentence around it."""
    text = "[@a" * 34_133
    found = find(text)
    assert len(found) == 34_133 and {f.citation for f in found} == {Citation("bibkey", "a", "@a")}
    assert found[0].sentence == text[:603] and found[-1].sentence == text[-602:]
    page = "In early trials. [@rani2015]\n" * 4_000
    assert {f.sentence for f in find(page)} == {"In early trials. [@rani2015]"}
