"""Tournament ratings where users read them: the report (HTML, Markdown), the web app and its API, and the
Related Hypotheses block ordered by rating (`wiki.rank_by: rating`). The database is written directly with the
store: four hypotheses debated and scored in one batch, and two tournaments (pools `batch:<id>` and
`page:<slug>`) whose ratings put them in the reverse of their score order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from report.data import load_report
from report.render import render_html, render_markdown
from scoring.ratings import Share
from store.engine import open_store
from store.models import (
    BatchRow,
    DebateRow,
    HypothesisRow,
    HypothesisScoreRow,
    PageRow,
    ScoreboardRow,
    ScoreRow,
    VerdictRow,
)
from store.rankings import board, board_of, linked_boards, ranking, scoreboards
from store.related import linked
from store.repository import ensure_scoreboard
from store.scoreboards import Board
from store.tournaments import Rating, TournamentStats, save_ratings_commit
from tests.helpers import report_data
from tests.xss import assert_inert
from wiki.app import create_app
from wiki.block import START
from wiki.related import RelatedBlock, related_for_page
from wiki.settings import WikiSettings
from wiki.sync import attach_pages, import_pages

HOSTILE_TITLE = "<script>alert(1)</script> [x](javascript:alert(1)) *b* _i_ `c` <img src=x onerror=alert(1)>"
BATCH = "b-0000beef"
SLUG = "trem2-page"
RUBRIC = Board("rubric01", "debate01", ("judge-model",), False, {"rounds": 1, "judges": 2})
PAIRWISE = Board(
    "rubric01",
    "pairwise01",
    ("pair-model",),
    False,
    {"design": "pairwise", "rubric_hash": "rubric01", "judge_models": ["pair-model"]},
)
# (id, title, rubric score); the ratings run the other way: the worst score has the best rating
HYPOTHESES = [
    ("h-0000000a", "Alpha TREM2 agonism", 0.81),
    ("h-0000000b", HOSTILE_TITLE, 0.62),
    ("h-0000000c", "Gamma TREM2 shedding block", 0.43),
    ("h-0000000d", "Delta TREM2 gene therapy", 0.24),
]
RATINGS = [  # best first; the fit separates the best and the worst, not the middle two
    Rating("h-0000000d", "hash-d", 1612.4, 1540.2, 1684.9, 5, 1, 0, 1, 1),
    Rating("h-0000000c", "hash-c", 1538.0, 1470.0, 1606.0, 3, 1, 2, 2, 3),
    Rating("h-0000000b", "hash-b", 1461.6, 1391.1, 1532.3, 2, 1, 3, 2, 3),
    Rating("h-0000000a", "hash-a", 1388.0, 1315.5, 1460.1, 0, 1, 5, 4, 4),
]
STATS = TournamentStats(
    hypotheses=4,
    comparisons=12,
    matches=6,
    order_inconsistency=0.125,
    first_share=Share(0.55, 0.3, 0.78, 12),
    first_advantage=35.0,
)
PAGE = f"""\
---
slug: {SLUG}
title: TREM2
entity_type: gene
entities: [GENE:TREM2]
---
# TREM2

TREM2 is a microglial receptor.
"""


@dataclass(frozen=True)
class Db:
    url: str
    root: Path
    page: Path
    batch_tournament: str
    page_tournament: str


def _write_batch(session: Session) -> None:
    """Batch BATCH: the four HYPOTHESES, each debated once and scored on the rubric scoreboard; committed."""
    rubric_board = ensure_scoreboard(session, RUBRIC)
    now = datetime.now(UTC)
    session.add(
        BatchRow(
            id=BATCH,
            source="tournament.yaml",
            protocol_hash=RUBRIC.protocol_hash,
            protocol={"rounds": 1, "judges": 2, "early_stop": True, "rubric_hash": RUBRIC.rubric_hash},
            provider="openai",
            models={"judge": "judge-model"},
            status="completed",
            debates_completed=len(HYPOTHESES),
            finished_at=now,
        )
    )
    for hid, title, score in HYPOTHESES:
        _write_debated(session, rubric_board, hid, title, score, now)
    session.commit()


def _write_debated(session: Session, rubric_board: str, hid: str, title: str, score: float, now: datetime) -> None:
    """Hypothesis `hid`, its one completed debate in the batch with two verdicts of `score`, and its scores."""
    content_hash = f"hash-{hid[-1]}"
    session.execute(
        insert(HypothesisRow),
        [
            {
                "id": hid,
                "content_hash": content_hash,
                "title": title,
                "targets": ["TREM2"],
                "target_label": "TREM2",
                "mechanism": "TREM2 signalling in microglia.",
                "diseases": ["Alzheimer's disease"],
                "pages": [],
            }
        ],
    )
    debate_id = f"d-{hid[2:]}"
    session.add(
        DebateRow(
            id=debate_id,
            hypothesis_id=hid,
            hypothesis_hash=content_hash,
            protocol_hash=RUBRIC.protocol_hash,
            replicate=0,
            batch_id=BATCH,
            status="completed",
            rounds_run=1,
            protocol=dict(RUBRIC.protocol),
            rubric_hash=RUBRIC.rubric_hash,
            prompt_hashes={},
            models={"judge": "judge-model"},
            finished_at=now,
        )
    )
    session.flush()
    for judge in (1, 2):
        session.add(
            VerdictRow(
                debate_id=debate_id,
                judge=judge,
                scores={},
                rationales={},
                summary=f"verdict on {hid}",
                composite=score,
                model="judge-model",
                rubric_hash=RUBRIC.rubric_hash,
            )
        )
    session.add(
        ScoreRow(
            debate_id=debate_id,
            hypothesis_id=hid,
            content_hash=content_hash,
            scoreboard_id=rubric_board,
            mean=score,
            spread=0.0,
            n=2,
            rubric_hash=RUBRIC.rubric_hash,
            judge_models=["judge-model"],
            prompt_hashes={},
        )
    )
    session.add(
        HypothesisScoreRow(
            scoreboard_id=rubric_board,
            hypothesis_id=hid,
            content_hash=content_hash,
            mean=score,
            lo=score - 0.05,
            hi=score + 0.05,
            interval="panel",
            debates=1,
            verdicts=2,
        )
    )


def build(folder: Path) -> Db:
    url = f"sqlite:///{folder / 'tournament.db'}"
    page = folder / "trem2.md"
    page.write_text(PAGE, encoding="utf-8")
    sessions = open_store(url)
    try:
        with sessions() as session:
            _write_batch(session)
            batch_t = save_ratings_commit(session, f"batch:{BATCH}", PAIRWISE, STATS, RATINGS)
            page_t = save_ratings_commit(session, f"page:{SLUG}", PAIRWISE, STATS, RATINGS)
        import_pages(sessions, [page], root=folder)  # links every TREM2 hypothesis to the page
    finally:
        sessions.close()
    return Db(url, folder, page, batch_t, page_t)


@pytest.fixture(scope="module")
def tournament_db(tmp_path_factory: pytest.TempPathFactory) -> Db:
    """The batch's debates and a tournament of its pool and of the page's, rated (`build`), shared by the module."""
    return build(tmp_path_factory.mktemp("tournament"))


@pytest.fixture(scope="module")
def served_url(tournament_db: Db) -> str:
    """The database the web app `client` serves."""
    return tournament_db.url


def report(db: Db, **scope: str) -> tuple[str, str]:
    """The report of `db` for `scope`, rendered: (HTML, Markdown)."""
    data = report_data(db.url, **scope)
    return render_html(data), render_markdown(data)


def section(html: str, start: str, end: str = "</section>") -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


# -- scoreboards -------------------------------------------------------------------------------------------------


def test_a_pairwise_scoreboard_says_so_and_is_never_a_rubric_listing(tournament_db: Db):
    sessions = open_store(tournament_db.url)
    try:
        with sessions() as session:
            pairwise = board(session, PAIRWISE.id)
            assert pairwise is not None and pairwise.design == "pairwise, judges pair-model"
            assert "(pairwise, judges pair-model)" in pairwise.label
            assert board_of(session.get_one(ScoreboardRow, RUBRIC.id)).design == "1 round, 2 judges"
            # rubric listings read hypothesis scores, which a tournament never writes
            assert [b.id for b in scoreboards(session)] == [RUBRIC.id]
            assert [b.id for b in linked_boards(session, linked(["GENE:TREM2"]))] == [RUBRIC.id]
            assert ranking(session, PAIRWISE.id) == []
            assert (
                session.scalar(select(HypothesisScoreRow.id).where(HypothesisScoreRow.scoreboard_id == PAIRWISE.id))
                is None
            )
    finally:
        sessions.close()


# -- the report --------------------------------------------------------------------------------------------------


def test_the_batch_report_shows_its_tournament_beside_the_rubric_scores(tournament_db: Db):
    html, md = report(tournament_db, batch_id=BATCH)
    tournament = section(html, 'id="tournaments"')
    assert f'Tournament <span class="id">{tournament_db.batch_tournament}</span> · pool batch:{BATCH}' in tournament
    assert f"Scoreboard {PAIRWISE.id} · judges pair-model · rubric rubric01 · protocol pairwise01" in tournament
    assert "12 comparisons · 6 matches" in tournament
    assert '<strong class="position-bias">55% [30%, 78%]</strong> of decided comparisons' in tournament
    assert 'order inconsistency <span class="order-inconsistency">12.5%</span> of matches' in tournament
    assert f'<a class="id" href="#board-{RUBRIC.id}">{RUBRIC.id}</a>' in tournament
    assert '<strong class="tau">Kendall tau -1.00 over 4 shared hypotheses</strong>' in tournament
    rows = re.findall(r'<tr data-hypothesis="(h-[0-9a-f]{8})">(.*?)</tr>', tournament)
    assert [hid for hid, _ in rows] == ["h-0000000d", "h-0000000c", "h-0000000b", "h-0000000a"]
    first = rows[0][1]
    assert '<a href="#h-0000000d">Delta TREM2 gene therapy</a>' in first  # linked to its section of the report
    assert '<td class="num rating">1612 [1540, 1685]</td>' in first
    assert '<td class="num">5/1/0</td>' in first and '<td class="num">0.24</td>' in first
    assert [re.search(r'<td class="num">([0-9–]+)</td>', row).group(1) for _, row in rows] == ["1", "2–3", "2–3", "4"]
    assert "DEMO" not in tournament

    part = md.split("## Tournament ratings", 1)[1].split("## Score distribution", 1)[0]
    assert f"### Tournament {tournament_db.batch_tournament} · pool batch:{BATCH}" in part
    assert (
        "12 comparisons · 6 matches · position bias: first shown won **55% [30%, 78%]** of decided comparisons · "
        "order inconsistency 12.5% of matches" in part
    )
    assert f"on scoreboard {RUBRIC.id}: **Kendall tau -1.00 over 4 shared hypotheses**" in part
    assert f"| Rank | Hypothesis | Rating [95% interval] | W/T/L | Rubric score ({RUBRIC.id}) |" in part
    assert "| 2–3 | Gamma TREM2 shedding block (h-0000000c) | 1538 [1470, 1606] | 3/1/2 | 0.43 |" in part
    assert "| 1 | Delta TREM2 gene therapy (h-0000000d) | 1612 [1540, 1685] | 5/1/0 | 0.24 |" in part
    assert "| 4 | Alpha TREM2 agonism (h-0000000a) | 1388 [1316, 1460] | 0/1/5 | 0.81 |" in part


def test_a_hostile_title_in_a_rating_row_is_escaped(tournament_db: Db):
    html, md = report(tournament_db, batch_id=BATCH)
    assert_inert(html, own_scripts=1, svg_classes=frozenset({"histogram", "dotplot"}))
    row = re.search(r'<tr data-hypothesis="h-0000000b">(.*?)</tr>', section(html, 'id="tournaments"')).group(1)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row and "<script>" not in row and "<img" not in row
    part = md.split("## Tournament ratings", 1)[1].split("## Score distribution", 1)[0]
    (line,) = [x for x in part.splitlines() if "(h-0000000b)" in x]
    assert "&lt;script&gt;" in line and r"\[x\]\(javascript:alert\(1\)\)" in line and "<img" not in line


def test_a_hypothesis_report_lists_its_ratings(tournament_db: Db):
    html, md = report(tournament_db, batch_id=BATCH, hypothesis_id="h-0000000c")
    ratings = section(html, '<table class="hypothesis-ratings">', "</table>")
    assert ratings.count("<tr data-tournament=") == 2  # the batch's pool and the page's
    assert f"<td>page:{SLUG}</td>" in ratings and f"<td>batch:{BATCH}</td>" in ratings
    assert '<td class="num">2–3 of 4</td><td class="num rating">1538 [1470, 1606]</td>' in ratings
    assert (
        f"| {tournament_db.page_tournament} | page:{SLUG} | {PAIRWISE.id} · pair-model | 2–3 of 4 | 1538 [1470, 1606] |"
        in md
    )
    assert "3/1/2 | 55% [30%, 78%] |" in md


def test_a_report_without_tournaments_has_no_ratings_section(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    sessions = open_store(url)
    try:
        with sessions() as session:
            _write_batch(session)
            data = load_report(session, batch_id=BATCH)
    finally:
        sessions.close()
    assert data.tournaments == () and data.ratings == ()
    assert 'id="tournaments"' not in render_html(data) and "Tournament ratings" not in render_markdown(data)


# -- the web app and its API -------------------------------------------------------------------------------------


def test_the_hypothesis_page_and_api_show_its_ratings(client: TestClient, tournament_db: Db):
    body = client.get("/api/hypotheses/h-0000000c").json()
    assert len(body["ratings"]) == 2
    rating = next(r for r in body["ratings"] if r["pool"] == f"batch:{BATCH}")
    keys = ("tournament", "rating", "lo", "hi", "wins", "ties", "losses", "rank", "rank_lo", "rank_hi", "of")
    assert {k: rating[k] for k in keys} == {
        "tournament": tournament_db.batch_tournament,
        "rating": 1538.0,
        "lo": 1470.0,
        "hi": 1606.0,
        "wins": 3,
        "ties": 1,
        "losses": 2,
        "rank": 2,  # shared with the hypothesis the fit cannot tell it from
        "rank_lo": 2,
        "rank_hi": 3,
        "of": 4,
    }
    assert rating["current"] is True and rating["order_inconsistency"] == 0.125 and rating["matches"] == 6
    assert rating["first_share"] == 0.55 and "position_bias" not in rating
    assert rating["scoreboard"]["id"] == PAIRWISE.id and rating["scoreboard"]["design"] == "pairwise, judges pair-model"
    assert body["demo_warning"] is None

    html = client.get("/hypothesis/h-0000000c").text
    table = section(html, '<table id="ratings">', "</table>")
    assert table.count("<tr data-tournament=") == 2
    assert '<td class="num">1538 [1470, 1606]</td><td class="num">2–3 of 4</td><td class="num">3/1/2</td>' in table
    assert f"batch:{BATCH}" in table and f"page:{SLUG}" in table and PAIRWISE.id in table
    assert "first shown won 55.0%" in table and "order inconsistency 12.5%" in table and 'class="demo"' not in table


def test_the_wiki_page_shows_the_page_pools_ratings(client: TestClient, tournament_db: Db):
    html = client.get(f"/wiki/{SLUG}").text
    ratings = section(html, 'id="ratings"')
    assert tournament_db.page_tournament in ratings and f"pool page:{SLUG}" in ratings
    assert "position bias: first shown won 55% [30%, 78%] of decided comparisons" in ratings
    assert "order inconsistency 12.5% of matches" in ratings
    assert re.findall(r'<tr data-hypothesis="(h-[0-9a-f]{8})">', ratings) == [r.hypothesis_id for r in RATINGS]
    assert re.findall(r'<tr data-hypothesis="h-[0-9a-f]{8}"><td class="num">([0-9–]+)</td>', ratings) == [
        "1",
        "2–3",
        "2–3",
        "4",
    ]
    assert '<a href="/hypothesis/h-0000000d">Delta TREM2 gene therapy</a>' in ratings
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ratings
    assert_inert(html)
    related = section(html, 'id="related"')
    assert re.findall(r'<a href="/hypothesis/(h-[0-9a-f]{8})"', related) == [h[0] for h in HYPOTHESES]  # by score
    assert "ordered by the ratings" not in related

    api = client.get(f"/api/pages/{SLUG}/related").json()
    assert [(h["id"], h["rating"]) for h in api["hypotheses"]] == [
        ("h-0000000a", 1388.0),
        ("h-0000000b", 1461.6),
        ("h-0000000c", 1538.0),
        ("h-0000000d", 1612.4),
    ]
    assert api["tournament"]["id"] == tournament_db.page_tournament
    assert api["tournament"]["order_inconsistency"] == 0.125 and api["tournament"]["first_share_lo"] == 0.3
    assert api["ordered_by"] is None


def test_unrated_hypotheses_have_a_null_rating(tmp_path: Path):
    db = build(tmp_path)
    sessions = open_store(db.url)
    try:
        with sessions() as session:  # the page's tournament rated only the two best
            save_ratings_commit(session, f"page:{SLUG}", PAIRWISE, STATS, RATINGS[:2])
    finally:
        sessions.close()
    with TestClient(create_app(db.url, WikiSettings(rank_by="rating")), base_url="http://localhost") as client:
        api = client.get(f"/api/pages/{SLUG}/related").json()
    assert [(h["id"], h["rating"]) for h in api["hypotheses"]] == [
        ("h-0000000d", 1612.4),
        ("h-0000000c", 1538.0),
        ("h-0000000a", None),  # unrated: after the rated ones, in score order
        ("h-0000000b", None),
    ]
    assert api["ordered_by"] == db.page_tournament


# -- pages ordered by rating -------------------------------------------------------------------------------------


def block_lines(text: str) -> list[str]:
    return [line for line in text.split(START, 1)[1].splitlines() if line.startswith("- [")]


def test_rank_by_rating_reverses_the_block_and_keeps_the_scores(tmp_path: Path):
    db = build(tmp_path)
    sessions = open_store(db.url)
    try:
        attach_pages(sessions, [db.page], WikiSettings(), root=db.root)
        by_score = block_lines(db.page.read_text(encoding="utf-8"))
        attach_pages(sessions, [db.page], WikiSettings(rank_by="rating"), root=db.root)
        text = db.page.read_text(encoding="utf-8")
        by_rating = block_lines(text)
        attach_pages(sessions, [db.page], WikiSettings(rank_by="rating", top=2), root=db.root)
        top_two = block_lines(db.page.read_text(encoding="utf-8"))
    finally:
        sessions.close()
    assert [re.search(r"/hypothesis/(h-\w+)", x).group(1) for x in by_score] == [h[0] for h in HYPOTHESES]
    assert by_rating == by_score[::-1]  # the same lines, scores and all, in the ratings' order
    assert [re.search(r">(\d\.\d\d)</span>", x).group(1) for x in by_rating] == ["0.24", "0.43", "0.62", "0.81"]
    assert by_rating[0].startswith("- [Delta TREM2 gene therapy](/hypothesis/h-0000000d) — <span")
    assert f"ordered by the ratings of tournament {db.page_tournament}" in text
    assert top_two == by_rating[:2]  # `top` takes the best by rating


def test_rank_by_rating_orders_the_web_block_too(tmp_path: Path):
    db = build(tmp_path)
    with TestClient(create_app(db.url, WikiSettings(rank_by="rating")), base_url="http://localhost") as client:
        html = client.get(f"/wiki/{SLUG}").text
        api = client.get(f"/api/pages/{SLUG}/related", params={"top": 3}).json()
    related = section(html, 'id="related"')
    assert re.findall(r'<a href="/hypothesis/(h-[0-9a-f]{8})"', related) == [r.hypothesis_id for r in RATINGS]
    assert f'ordered by the ratings of tournament <span class="id">{db.page_tournament}</span>' in related
    assert [h["id"] for h in api["hypotheses"]] == ["h-0000000d", "h-0000000c", "h-0000000b"]
    assert [h["score"] for h in api["hypotheses"]] == [0.24, 0.43, 0.62]
    assert api["ordered_by"] == db.page_tournament


def test_rank_by_rating_without_a_tournament_orders_by_score(tmp_path: Path):
    db = build(tmp_path)
    other = db.page.with_name("other.md")
    other.write_text(PAGE.replace(f"slug: {SLUG}", "slug: other-page"), encoding="utf-8")
    sessions = open_store(db.url)
    try:
        import_pages(sessions, [other], root=db.root)
        (attached,) = attach_pages(sessions, [other], WikiSettings(rank_by="rating"), root=db.root)
    finally:
        sessions.close()
    assert attached.related.ordered_by is None
    text = other.read_text(encoding="utf-8")
    assert [re.search(r"/hypothesis/(h-\w+)", x).group(1) for x in block_lines(text)] == [h[0] for h in HYPOTHESES]
    assert "ordered by the ratings" not in text


def test_rank_by_is_score_or_rating():
    assert WikiSettings().rank_by == "score"
    with pytest.raises(ValueError, match="rank_by"):
        WikiSettings(rank_by="elo")  # type: ignore[arg-type]


def test_rank_by_rating_finds_rated_hypotheses_far_down_the_score_order(tmp_path: Path):
    """With `top` small, a rated hypothesis with a low score is still found; one no longer linked to the page,
    or below `min_score`, is not shown however well it is rated."""
    db = build(tmp_path)
    sessions = open_store(db.url)
    try:
        with sessions() as session:
            _add_unlinked(session, "h-0000000e", 0.9)
            best = Rating("h-0000000e", "hash-e", 1700.0, 1650.0, 1750.0, 6, 0, 0)
            tournament = save_ratings_commit(session, f"page:{SLUG}", PAIRWISE, STATS, [best, RATINGS[0], RATINGS[1]])
            page = session.get_one(PageRow, SLUG)

            def block(top: int, min_score: float = 0.0) -> RelatedBlock:
                return related_for_page(session, page, top=top, min_score=min_score, rank_by="rating")

            assert [r.id for r in block(1).hypotheses] == ["h-0000000d"]  # 0.24: the lowest score, the best rating
            assert [r.id for r in block(3).hypotheses] == ["h-0000000d", "h-0000000c", "h-0000000a"]
            assert [r.id for r in block(1, min_score=0.3).hypotheses] == ["h-0000000c"]
            assert block(1).ordered_by is not None and block(1).ordered_by.id == tournament
    finally:
        sessions.close()


def _add_unlinked(session: Session, hid: str, score: float) -> None:
    session.execute(
        insert(HypothesisRow),
        [
            {
                "id": hid,
                "content_hash": f"hash-{hid[-1]}",
                "title": "Unlinked SIRT1 activation",
                "targets": ["SIRT1"],
                "target_label": "SIRT1",
                "mechanism": "m",
                "diseases": [],
                "pages": [],
            }
        ],
    )
    session.add(
        HypothesisScoreRow(
            scoreboard_id=RUBRIC.id,
            hypothesis_id=hid,
            content_hash=f"hash-{hid[-1]}",
            mean=score,
            lo=None,
            hi=None,
            interval="none",
            debates=1,
            verdicts=1,
        )
    )
    session.commit()


def test_a_demo_tournament_is_marked_wherever_its_ratings_appear(tmp_path: Path):
    db = build(tmp_path)
    sessions = open_store(db.url)
    try:
        with sessions() as session:
            session.get_one(ScoreboardRow, PAIRWISE.id).demo = True  # as if judged by the embedded model
            session.commit()
    finally:
        sessions.close()
    html, md = report(db, batch_id=BATCH, hypothesis_id="h-0000000c")
    assert "DEMO: ratings carry no information" in section(html, 'id="tournaments"')
    assert "Demo tournament" in html and "demo model: scores carry no information" in section(html, 'id="tournaments"')
    assert "(DEMO: ratings carry no information)" in md and "(DEMO: no information)" in md
    with TestClient(create_app(db.url, WikiSettings(rank_by="rating")), base_url="http://localhost") as client:
        body = client.get("/api/hypotheses/h-0000000c").json()
        page = client.get("/hypothesis/h-0000000c").text
        wiki = client.get(f"/wiki/{SLUG}").text
    assert all(r["scoreboard"]["demo"] for r in body["ratings"]) and body["demo_warning"]
    assert section(page, '<table id="ratings">', "</table>").count('<span class="demo">demo</span>') == 2
    assert "Demo model: these ratings carry no information." in section(wiki, 'id="ratings"')
    assert '<span class="demo">demo</span>' in section(wiki, 'id="related"').split("</p>", 1)[0]


def test_equal_ratings_keep_the_score_order():
    """A tournament whose matches all tied (a judge that only read position) leaves the block in score order."""
    from types import SimpleNamespace

    from store.related import Related
    from wiki.related import by_rating

    found = [
        Related(f"h-{i}", f"T{i}", "X", score, None, None, "too-few", 1, 1, None, None)
        for i, score in enumerate([0.9, 0.7, 0.5])
    ]
    level = {r.id: SimpleNamespace(rating=1500.0) for r in found}
    assert [r.id for r in by_rating(found, level)] == ["h-0", "h-1", "h-2"]  # type: ignore[arg-type]
    rated = {"h-2": SimpleNamespace(rating=1600.0), "h-1": SimpleNamespace(rating=1400.0)}
    assert [r.id for r in by_rating(found, rated)] == ["h-2", "h-1", "h-0"]  # type: ignore[arg-type]


def test_ratings_stored_before_rank_ranges_claim_no_order_until_refitted(tmp_path: Path):
    """Migration 0011: a rating fitted on matches (before 0011) has no rank range; it gets 1 to the tournament's
    size, the range that claims nothing, and going back down to 0010 keeps the ratings."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from store.engine import MIGRATIONS, make_engine

    db = build(tmp_path)
    engine = make_engine(db.url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # as store.engine migrates SQLite
            connection.commit()
            config.attributes["connection"] = connection
            with connection.begin():
                command.downgrade(config, "0010")
            assert connection.execute(text("select count(*) from ratings")).scalar() == 8
            connection.commit()
            with connection.begin():
                command.upgrade(config, "head")
            ranges = connection.execute(text("select rank_lo, rank_hi, rank from ratings")).all()
            shares = connection.execute(text("select first_share, first_share_lo, position_bias from tournaments"))
            assert {(lo, hi) for lo, hi, _ in ranges} == {(1, 4)} and {r for _, _, r in ranges} == {1, 2, 3, 4}
            assert set(shares.all()) == {(0.55, None, 0.125)}
    finally:
        engine.dispose()
