"""Bibliographies in: BibTeX, RIS, CSL-JSON and a page's References section as validated entries, and every bad
file as one line naming the file, the entry and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evidence.bibliography import (
    BibliographyError,
    Entry,
    parse_bibtex,
    parse_csl_json,
    parse_references,
    parse_ris,
    read_bibliography,
)

DATA = Path(__file__).with_name("data") / "bib"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_BIB = SHARED / "bib" / "msc-neurodegeneration.bib"
SEED_PAGE = SHARED / "seeds" / "003_eef26edecdd8bd38.txt"
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "[click](javascript:alert(1))", "{{ 7*7 }}")


def by_key(entries: list[Entry]) -> dict[str, Entry]:
    return {entry.key: entry for entry in entries}


def error_of(path: Path) -> str:
    with pytest.raises(BibliographyError) as caught:
        read_bibliography(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shared bibliography of the MSC page --------------------------------------------------------------------


@pytest.fixture
def shared() -> dict[str, Entry]:
    if not SHARED_BIB.is_file():
        pytest.skip(f"{SHARED_BIB} is not here")
    return by_key(read_bibliography(SHARED_BIB))


def test_the_shared_file_has_its_17_verified_entries_and_not_the_unverified_keys(shared):
    assert len(shared) == 17
    assert not {"shi2010", "rani2015", "drago2013", "plotnikov2013", "shetty2015", "behfar2019", "chen2019"} & set(
        shared
    )
    assert {entry.source for entry in shared.values()} == {"msc-neurodegeneration.bib"}


def test_shared_entries_carry_the_verified_fields(shared):
    crigler = shared["crigler2007"]
    assert (crigler.year, crigler.pmid, crigler.doi) == (2006, "16336965", None)
    pittenger = shared["pittenger1999"]
    assert pittenger.doi == "10.1126/science.284.5411.143"
    assert pittenger.surnames == ("Pittenger", "Mackay", "Beck")
    assert pittenger.more_authors
    assert "Huntington's" in shared["sadan2012"].title
    assert "{" not in shared["sadan2012"].title and "}" not in shared["sadan2012"].title
    assert shared["gan2018"].surnames == ("Gan", "Cookson", "Petrucelli", "La Spada")
    assert shared["song2018"].authors == ("Song",)
    assert shared["lee2010"].url.endswith("%e2%80%a0%e2%80%a1%c2%a7")  # a URL is not LaTeX: its % stays


# --- the fixtures ------------------------------------------------------------------------------------------------


def test_bibtex_fixture_expands_strings_decodes_latex_and_normalizes_identifiers():
    entries = by_key(read_bibliography(DATA / "fixture.bib"))
    assert list(entries) == ["pittenger1999", "wang2015myc", "pancancer2022", "mueller2020", "doe2018conf", "trial2019"]
    pittenger = entries["pittenger1999"]
    assert pittenger.journal == "Science"  # journal = sci, an @string
    assert (pittenger.year, pittenger.pmid) == (1999, "10102814")
    assert pittenger.more_authors and pittenger.surnames == ("Pittenger", "Mackay", "Beck")
    assert "adipocytic, chondrocytic and osteocytic lineages" in pittenger.abstract

    mueller = entries["mueller2020"]  # mixed-case field names, month = jan, "..." # macro # "..."
    assert mueller.title == "Accented names in a test series: Huntington's and ALS"
    assert mueller.authors == ("Müller, Jörg", "Dupont, Renée", "Straßer, K.", "World Health Organization")
    assert mueller.more_authors
    assert mueller.journal == "Nature"
    assert mueller.year == 2020
    assert mueller.doi == "10.5555/abc.def-12"  # from https://doi.org/10.5555/ABC.Def-12
    assert (
        mueller.abstract
        == "Written for tests: 50% of the synthetic cohort improved; the résumé of results spans lines."
    )

    assert "MYC amplification was associated with poor outcome in pancreatic ductal adenocarcinoma." in (
        entries["wang2015myc"].abstract
    )
    assert entries["wang2015myc"].pmid == "25855536"
    assert "Tumors previously exposed to DNA-damaging chemotherapies showed higher mutation rates." in (
        entries["pancancer2022"].abstract
    )
    assert (entries["pancancer2022"].pmid, entries["pancancer2022"].year) == ("35121966", 2022)
    conference = entries["doe2018conf"]
    assert (conference.kind, conference.journal) == ("inproceedings", "Proceedings of a Test Workshop")
    assert conference.surnames == ("Doe", "van der Berg")
    assert entries["trial2019"].nct == "NCT00000000"  # from its clinicaltrials.gov URL
    assert "commented1999" not in entries


def test_ris_fixture_keeps_repeated_authors_in_order_and_reads_dates_and_pmid_from_an():
    entries = by_key(read_bibliography(DATA / "fixture.ris"))
    assert list(entries) == ["crigler2006", "fixture-2", "chapter2019"]  # no ID tag: <file stem>-<n>
    crigler = entries["crigler2006"]
    assert crigler.authors == ("Crigler, L.", "Robey, R. C.", "Asawachaicharn, A.")
    assert (crigler.year, crigler.pmid, crigler.journal, crigler.kind) == (
        2006,
        "16336965",
        "Experimental Neurology",
        "article",
    )
    assert crigler.abstract.startswith("Written for tests: subpopulations")
    assert "express, and for their effect" in crigler.abstract  # continuation lines joined
    book = entries["fixture-2"]
    assert (book.kind, book.authors, book.more_authors, book.year) == ("book", ("Doe, J", "Roe, R"), True, 2011)
    chapter = entries["chapter2019"]
    assert (chapter.kind, chapter.title, chapter.journal) == (
        "incollection",
        "A synthetic chapter",
        "The Test Handbook",
    )
    assert (chapter.doi, chapter.url) == ("10.5555/chap.3", "https://example.org/chapter3")


def test_ris_with_crlf_line_endings_and_a_bom_reads_the_same(tmp_path):
    text = (DATA / "fixture.ris").read_text(encoding="utf-8")
    path = tmp_path / "windows.ris"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert read_bibliography(path) == parse_ris(text, "windows.ris")


def test_csl_json_fixture_reads_literal_authors_date_parts_and_container_title():
    entries = by_key(read_bibliography(DATA / "fixture.csl.json"))
    assert list(entries) == ["uccelli2008", "sadan2012", "who2019"]
    uccelli = entries["uccelli2008"]
    assert (uccelli.journal, uccelli.year, uccelli.doi, uccelli.pmid) == (
        "Nature Reviews Immunology",
        2008,
        "10.1038/nri2395",
        "19172693",
    )
    assert uccelli.surnames == ("Uccelli", "Moretta", "Pistoia")
    sadan = entries["sadan2012"]
    assert (sadan.year, sadan.doi, sadan.pmid, sadan.pmcid) == (2012, "10.1371/4f7f6dc013d4e", "22953237", "PMC3426086")
    assert sadan.abstract.startswith("Written for tests: cells induced")  # whitespace collapsed
    who = entries["who2019"]
    assert (who.authors, who.surnames, who.year, who.kind) == (
        ("World Health Organization",),
        ("World Health Organization",),
        2019,
        "techreport",
    )


def test_csl_json_may_be_an_object_with_items():
    entries = parse_csl_json('{"items": [{"id": 7, "title": "T", "issued": {"raw": "2006-03"}}]}', "x.json")
    assert [(e.key, e.title, e.year, e.kind) for e in entries] == [("7", "T", 2006, "misc")]


def test_hostile_text_is_stored_verbatim():
    (entry,) = read_bibliography(DATA / "hostile.bib")
    assert (entry.key, entry.pmid) == ("hostile2024", "99999991")
    for payload in HOSTILE:
        assert payload in entry.title
        assert payload in entry.abstract


# --- errors: one line naming the file, the entry and what was expected --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "@article{good, title={Fine}}\n\n@article{baddoi,\n  title = {X},\n  doi = {10.12/abc}\n}\n",
            "bad.bib: entry 'baddoi' (line 3): doi: expected a DOI such as 10.1126/science.284.5411.143 "
            "(got '10.12/abc')",
        ),
        (
            "@article{badyear,\n  year = {in press}\n}\n",
            "bad.bib: entry 'badyear' (line 1): year: expected a 4-digit year between 1500 and 2100 (got 'in press')",
        ),
        ("@article{early,\n  year = 1200\n}\n", "bad.bib: entry 'early' (line 1): year: Input should be greater than"),
        (
            "@article{twice, title={A}}\n@article{other, title={B}}\n@article{twice, title={C}}\n",
            "bad.bib: entry 'twice' (line 3): duplicate key (first at line 1)",
        ),
        (
            "@article{fine, title={A}}\n\n@article{broken,\n  title = {Never closed\n\n@article{next, title={B}}\n",
            "bad.bib: entry 'broken' (line 3): not valid BibTeX: Unexpected block start: `@article`. "
            "Was still looking for field-value closing `}`",
        ),
        (
            "@article{broken,\n  title = {Never closed\n",
            "bad.bib: entry 'broken' (line 1): not valid BibTeX: Unexpectedly reached end of file.",
        ),
        (
            "@article{pm,\n  pmid = {PMID: 12x}\n}\n",
            "bad.bib: entry 'pm' (line 1): pmid: expected a PubMed id of 1 to 9 digits (got 'PMID: 12x')",
        ),
        (
            "@article{twodois,\n  doi = {10.1000/a},\n  DOI = {10.1000/b}\n}\n",
            "bad.bib: entry 'twodois' (line 1): field 'doi' given more than once (field names ignore case)",
        ),
        (
            "@article{macro,\n  journal = jbc\n}\n",
            "bad.bib: entry 'macro' (line 1): journal: undefined @string macro 'jbc'",
        ),
        (
            "@article{ctrl,\n  title = {Bell\x07 here}\n}\n",
            "bad.bib: entry 'ctrl' (line 1): title: contains the control character U+0007",
        ),
        (
            "@article{long,\n  title = {" + "x" * 1001 + "}\n}\n",
            "bad.bib: entry 'long' (line 1): title: String should have at most 1000 characters",
        ),
        (
            "@article{deep,\n  title = {" + "{" * 400 + "x" + "}" * 400 + "}\n}\n",
            "bad.bib: entry 'deep' (line 1): title: braces nested too deeply",
        ),
    ],
    ids=[
        "doi",
        "year",
        "early-year",
        "duplicate",
        "unclosed",
        "unclosed-at-end",
        "pmid",
        "field-twice",
        "macro",
        "control",
        "too-long",
        "nested",
    ],
)
def test_a_bad_bibtex_entry_is_one_line_naming_file_entry_and_line(tmp_path, text, expected):
    assert error_of(write(tmp_path, "bad.bib", text)).startswith(f"{tmp_path}{os.sep}{expected}")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("x.ris", "TY  - JOUR\nID  - a1\nTI  - T\n", "x.ris: entry 1 (line 1): no 'ER  -' line ends it"),
        (
            "x.ris",
            "TY  - JOUR\nID  - a1\nER  - \nTY  - JOUR\nID  - a2\nAN  - PMID: 12ab\nER  - \n",
            "x.ris: entry 'a2' (line 4): pmid: expected a PubMed id of 1 to 9 digits",
        ),
        (
            "x.ris",
            "TY  - JOUR\nID  - a1\nER  - \n\nTY  - JOUR\nID  - a1\nER  - \n",
            "x.ris: entry 'a1' (line 5): duplicate key 'a1' (first at line 1)",
        ),
        ("x.csl.json", '[{"id": "a", "title": "T"},]', "x.csl.json:1: invalid JSON"),
        ("x.csl.json", '[{"title": "no id"}]', "x.csl.json: entry 1: id: required field is missing"),
        (
            "x.csl.json",
            '[{"id": "a", "DOI": "doi:10.99/x"}]',
            "x.csl.json: entry 'a' (item 1): doi: expected a DOI",
        ),
        (
            "x.csl.json",
            '[{"id": "a"}, {"id": "a"}]',
            "x.csl.json: entry 'a' (item 2): duplicate key 'a' (first at item 1)",
        ),
        ("x.csl.json", '{"entries": []}', 'x.csl.json: expected a JSON array of CSL items, or an object {"items"'),
    ],
)
def test_a_bad_ris_or_csl_entry_is_one_line(tmp_path, name, text, expected):
    assert error_of(write(tmp_path, name, text)).startswith(f"{tmp_path}{os.sep}{expected}")


def test_unknown_suffix_empty_file_and_no_entries_are_refused(tmp_path):
    assert error_of(write(tmp_path, "refs.txt", "@article{a, title={T}}")).endswith(
        "refs.txt: unknown bibliography type '.txt', expected .bib, .bibtex, .ris, .json or .csl.json"
    )
    assert error_of(write(tmp_path, "empty.bib", "\n  \n")).endswith("empty.bib: empty file, expected BibTeX entries")
    assert error_of(write(tmp_path, "comments.bib", "% only\n@comment{nothing}\n")).endswith(
        "comments.bib: no BibTeX entries found"
    )
    assert error_of(write(tmp_path, "none.json", "[]")).endswith("none.json: no CSL-JSON entries found")


def test_files_that_are_not_utf8_links_or_too_big_are_refused(tmp_path):
    latin = tmp_path / "latin1.bib"
    latin.write_bytes("@article{a,\n  title = {Caf\u00e9}\n}\n".encode("latin-1"))
    assert error_of(latin).endswith("latin1.bib:2: not UTF-8 text (byte 0xe9)")
    link = tmp_path / "link.bib"
    os.symlink(DATA / "fixture.bib", link)
    assert "symbolic link" in error_of(link)
    big = tmp_path / "big.bib"
    with big.open("wb") as handle:
        handle.truncate(20 * 1024 * 1024 + 1)
    assert "more than the limit of 20971520 bytes" in error_of(big)


def test_nothing_of_a_file_with_one_bad_entry_is_returned():
    good = (DATA / "fixture.bib").read_text(encoding="utf-8")
    with pytest.raises(BibliographyError, match=r"^fixture.bib: entry 'bad' \(line \d+\): doi: "):
        parse_bibtex(good + "\n@article{bad, doi = {not a doi}}\n", "fixture.bib")


# --- a page's References section ----------------------------------------------------------------------------------

PITTENGER = (
    "- [@pittenger1999] Pittenger MF, Mackay AM, et al. Multilineage potential of adult human mesenchymal stem cells."
    " Science. 1999;284(5411):143-147. doi:10.1126/science.284.5411.143 PMID: 10102814"
)
BANG = (
    "1. [@bang2005] Bang OY, Lee JS, Lee PH, Lee G. Autologous mesenchymal stem cell transplantation in stroke"
    " patients. Ann Neurol. 2005;57(6):874-882. https://doi.org/10.1002/ana.20501. PMID: 15929052."
)
PAGE = f"""# Mesenchymal stem cells

MSCs differentiate into several lineages [@pittenger1999] and were given to stroke patients [@bang2005].

## References

{PITTENGER}
{BANG}
- a line without a citation key is skipped

## See also

- [@notareference] Outside the section, 2001.
"""


def test_references_section_gives_one_entry_per_item():
    entries = parse_references(PAGE, "page:msc")
    assert [(e.key, e.doi, e.pmid, e.year) for e in entries] == [
        ("pittenger1999", "10.1126/science.284.5411.143", "10102814", 1999),
        ("bang2005", "10.1002/ana.20501", "15929052", 2005),
    ]
    pittenger, bang = entries
    assert pittenger.title == "Multilineage potential of adult human mesenchymal stem cells"
    assert (pittenger.journal, pittenger.surnames, pittenger.more_authors) == ("Science", ("Pittenger", "Mackay"), True)
    assert bang.authors == ("Bang, OY", "Lee, JS", "Lee, PH", "Lee, G")
    assert {e.source for e in entries} == {"page:msc"}


def test_references_in_other_forms_and_odd_prose_never_raise():
    page = (
        "References\n"
        "[@trial]: see the registry at https://clinicaltrials.gov/study/NCT01234567.\n"
        "- [@prose] just some words written in 2019 without structure\n"
        "- [@prose] a second item with the same key is left out\n"
    )
    trial, prose = parse_references(page, "page:x")
    assert (trial.key, trial.nct, trial.url, trial.title) == (
        "trial",
        "NCT01234567",
        "https://clinicaltrials.gov/study/NCT01234567",
        None,
    )
    assert (prose.key, prose.year, prose.title, prose.authors) == ("prose", 2019, None, ())
    assert parse_references("# A page\n\nNo references here [@a].\n", "page:x") == []
    assert parse_references("## References\n\n## Next\n- [@a] Smith J. T. 2001.\n", "page:x") == []


def test_a_malformed_doi_or_pmid_in_references_is_an_error_naming_the_key():
    with pytest.raises(BibliographyError, match=r"^page:x: entry 'bad' \(line 2\): doi: expected a DOI"):
        parse_references("## References\n- [@bad] Smith J. A title. 2001. doi:10.12/x\n", "page:x")
    with pytest.raises(BibliographyError, match=r"^page:x: entry 'bad' \(line 2\): pmid: expected a PubMed id"):
        parse_references("## References\n- [@bad] Smith J. A title. 2001. PMID: 12ab\n", "page:x")


def test_the_seed_page_has_an_empty_references_section():
    if not SEED_PAGE.is_file():
        pytest.skip(f"{SEED_PAGE} is not here")
    assert parse_references(SEED_PAGE.read_text(encoding="utf-8"), "page:seed") == []


# --- the entry model ----------------------------------------------------------------------------------------------


def test_entry_normalizes_identifiers_and_is_frozen():
    entry = Entry(
        key="k1",
        doi="http://dx.doi.org/10.1000/ABC",
        pmid="PMID: 123",
        pmcid="pmc42",
        nct="nct01234567",
        year="2006/03/01/",
    )
    assert (entry.doi, entry.pmid, entry.pmcid, entry.nct, entry.year) == (
        "10.1000/abc",
        "123",
        "PMC42",
        "NCT01234567",
        2006,
    )
    with pytest.raises(ValueError, match="frozen"):
        entry.title = "changed"  # type: ignore[misc]
    for bad in ({"key": "two words"}, {"key": "k", "url": "javascript:alert(1)"}, {"key": "k", "authors": ("",)}):
        with pytest.raises(ValueError):
            Entry(**bad)
