"""The web app through FastAPI's TestClient: every route, 404 and 422, the JSON API's schema, and XSS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from store.engine import open_store
from store.models import ScoreboardRow
from tests.wiki_db import SEED_SLUG, WikiDb, with_pages
from wiki.views import DEMO_WARNING


@pytest.fixture(scope="module")
def served_url(wiki_db: WikiDb) -> str:
    """The module's wiki database with both pages imported and attached (the stored page text then holds a block;
    it is not shown twice), its scoreboards marked demo as if the fake were the embedded demo model."""
    with_pages(wiki_db)
    sessions = open_store(wiki_db.url)
    try:
        with sessions() as session:
            session.execute(update(ScoreboardRow).values(demo=True))
            session.commit()
    finally:
        sessions.close()
    return wiki_db.url


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]*)"', html)


def test_exchange_ranks_every_hypothesis(client: TestClient):
    response = client.get("/exchange")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "17 hypotheses" in response.text
    assert response.text.count('<a href="/hypothesis/h-') == 17
    # the scripted judges give every hypothesis the same scores: the data separate none, every rank is 1–17
    assert re.findall(r'<td class="num rank">([^<]*)</td>', response.text) == ["1–17"] * 17
    assert "script-src" not in response.headers["content-security-policy"]  # no script may run
    assert client.get("/", follow_redirects=False).headers["location"] == "/exchange"


def test_wiki_page_shows_its_related_hypotheses_in_score_order(client: TestClient):
    response = client.get(f"/wiki/{SEED_SLUG}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Mesenchymal Stem Cell Therapy for Neurodegeneration</h1>" in html
    assert "<h2>Molecular Mechanisms</h2>" in html
    related = html.split('id="related"')[1]
    assert related.count('<a href="/hypothesis/') == 8
    assert "CYP46A1 Overexpression Gene Therapy</a>" in related
    assert html.count("hypodebate:related") == 0  # the attached block is not rendered as page text
    api = client.get(f"/api/pages/{SEED_SLUG}/related", params={"top": 8}).json()
    assert [h["id"] for h in api["hypotheses"]] == re.findall(r'<a href="/hypothesis/(h-[0-9a-f]{8})"', related)
    assert 'class="site"' in html and "<nav" in html
    embedded = client.get(f"/wiki/{SEED_SLUG}", params={"embed": 1}).text
    assert "<nav" not in embedded and "<footer" not in embedded and 'id="related"' in embedded


def test_hypothesis_and_debate_views(client: TestClient):
    html = client.get("/hypothesis/h-2600483e").text
    assert "CYP46A1 Overexpression Gene Therapy" in html and "Score by dimension" in html
    assert "mechanistic plausibility" in html
    assert "opening" in html and "critique" in html and "rebuttal" in html
    assert DEMO_WARNING in html  # the scoreboard is marked demo here
    assert 'id="scores"' in html and "[0.72, 0.72] 1 debate, no variation on this scoreboard" in html
    assert 'id="versions"' in html
    debate = re.search(r'href="/debates/(d-[0-9a-f]+)"', html)
    assert debate
    page = client.get(f"/debates/{debate.group(1)}")
    assert page.status_code == 200 and "Transcript" in page.text and "Verdicts" in page.text
    assert "<nav" not in client.get("/hypothesis/h-2600483e?embed=1").text


def test_json_api_matches_its_openapi_schema(client: TestClient):
    h = client.get("/api/hypotheses/h-2600483e").json()
    assert h["id"] == "h-2600483e" and h["targets"] == ["CYP46A1"] and h["version"] == 1
    (score,) = h["scores"]
    # the scripted judges give every hypothesis the same scores (their seats' offsets apart): nothing varies
    assert (score["debates"], score["verdicts"], score["interval"], score["current"]) == (1, 2, "no-variation", True)
    assert score["scoreboard"]["judge_models"] == ["gpt-4o-mini"] and score["scoreboard"]["demo"]
    assert score["lo"] == score["mean"] == score["hi"] and score["se"] == 0.0 and score["df"] > 0
    assert set(h["dimensions"]) >= {"mechanistic_plausibility", "evidence_strength"}
    assert h["debates"][0]["url"].startswith("/debates/d-") and h["demo_warning"] == DEMO_WARNING
    related = client.get(f"/api/pages/{SEED_SLUG}/related?top=3").json()
    assert related["slug"] == SEED_SLUG and len(related["hypotheses"]) == 3
    assert related["scoreboard"]["id"] == score["scoreboard"]["id"] and related["other_scoreboards"] == []
    scores = [r["score"] for r in related["hypotheses"]]
    assert scores == sorted(scores, reverse=True)
    schema = client.get("/openapi.json").json()
    assert {"/api/pages/{slug}/related", "/api/hypotheses/{hypothesis_id}", "/wiki/{slug}"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    assert set(components["RelatedResponse"]["properties"]) == {
        "slug",
        "title",
        "entities",
        "scoreboard",
        "hypotheses",
        "other_scoreboards",
        "tournament",
        "ordered_by",
        "gaps",
    }
    assert {"dimensions", "ratings", "lineage"} <= set(components["HypothesisResponse"]["properties"])
    assert (h["lineage"]["origin"], h["lineage"]["generation"], h["lineage"]["parents"]) == ("imported", 0, [])
    assert len(related["gaps"]) == 5 and all(g["id"].startswith("g-") for g in related["gaps"])
    assert "rating" in components["RelatedHypothesis"]["properties"]
    # no tournament has rated this page's pool: every rating is null, the order is the score's
    assert related["tournament"] is None and related["ordered_by"] is None and h["ratings"] == []
    assert [r["rating"] for r in related["hypotheses"]] == [None, None, None]
    top = schema["paths"]["/api/pages/{slug}/related"]["get"]["parameters"][1]["schema"]
    assert (top["minimum"], top["maximum"]) == (1, 100)


@pytest.mark.parametrize(
    "path",
    ["/wiki/no-such-page", "/hypothesis/h-00000000", "/debates/d-nope", "/nowhere"],
)
def test_unknown_ids_give_a_404_page(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code == 404 and "Not found" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_api_404_and_bad_query_values_422(client: TestClient):
    assert client.get("/api/hypotheses/h-00000000").status_code == 404
    assert client.get("/api/pages/nope/related").json() == {"detail": "no wiki page 'nope'"}
    for bad in ("0", "101", "x"):
        assert client.get(f"/api/pages/{SEED_SLUG}/related?top={bad}").status_code == 422
    assert client.get(f"/wiki/{SEED_SLUG}?embed=maybe").status_code == 422
    assert client.get(f"/wiki/{SEED_SLUG}?top=500").status_code == 422


def test_read_only(client: TestClient):
    assert client.post("/exchange").status_code == 405
    assert client.delete("/api/hypotheses/h-2600483e").status_code == 405


def test_hostile_text_is_inert_everywhere(client: TestClient):
    page = client.get("/wiki/hostile-page").text
    assert "<script" not in page and "&lt;script&gt;alert('page')&lt;/script&gt;" in page
    assert "TREM2 &lt;b&gt;page&lt;/b&gt;" in page
    assert not [h for h in hrefs(page) if h.lower().startswith(("javascript", "data", "vbscript"))]
    assert '<a href="/wiki/hostile-page">good</a>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the hostile hypothesis, related by its pages list
    hypothesis = client.get("/hypothesis/h-0badc0de").text
    exchange = client.get("/exchange").text
    for html in (hypothesis, exchange):
        assert "<script" not in html and "<img" not in html
        assert not [h for h in hrefs(html) if "javascript" in h.lower()]
    assert "&lt;img src=x onerror=alert(1)&gt;" in hypothesis
    assert client.get("/api/hypotheses/h-0badc0de").json()["title"].startswith("<script>")  # JSON is data


def test_unknown_page_slug_with_markup_is_escaped_on_the_404(client: TestClient, tmp_path: Path):
    response = client.get("/wiki/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404 and "<script>" not in response.text
