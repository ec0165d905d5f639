"""The store on PostgreSQL: migrations, a batch, resume and ranking, on a throwaway database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from debates.inputs import load_hypotheses
from store.models import DebateRow, HypothesisRow, VerdictRow
from tests.fakes import FakeDebater, ScriptedServer
from tests.helpers import TWO, runner

pytestmark = pytest.mark.postgres


async def test_batch_on_postgres_scores_and_skips_on_rerun(postgres_url, tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    hypotheses = load_hypotheses([path])
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 4 + 2 * judge))
    first = runner(server, postgres_url, rounds=1, judges=2)
    result = await first.run(hypotheses, source="two.yaml")
    await first.client.aclose()
    assert [o.status for o in result.outcomes] == ["completed", "completed"]
    again = await runner(server, postgres_url, rounds=1, judges=2).run(hypotheses, source="two.yaml")
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    with first.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DebateRow)) == 2
        assert s.scalar(select(func.count()).select_from(VerdictRow)) == 4
        h = s.get(HypothesisRow, "h-2600483e")
        assert h.evidence[0].citation == "@hudry2010"
    ranked = {r.id: r for r in again.ranking}
    assert ranked["h-2600483e"].score == pytest.approx((5 / 9 + 7 / 9) / 2)
    assert (ranked["h-2600483e"].debates, ranked["h-2600483e"].verdicts) == (1, 2)


async def test_two_batches_share_one_scoreboard_on_postgres(postgres_url, tmp_path):
    """Scoreboard rows are inserted with ON CONFLICT DO NOTHING on PostgreSQL: two batches, one scoreboard."""
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    hypotheses = load_hypotheses([path])
    server = ScriptedServer(default=FakeDebater())
    first = await runner(server, postgres_url, rounds=1, judges=1).run(hypotheses[:1], source="a")
    second = await runner(server, postgres_url, rounds=1, judges=1, replicates=2).run(hypotheses[:1], source="b")
    assert first.board.id == second.board.id and second.ranking[0].debates == 2
    assert second.ranking[0].interval == "no-variation"  # the scripted judge never varies
