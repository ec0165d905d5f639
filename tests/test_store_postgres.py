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
        assert h.score == pytest.approx((5 / 9 + 7 / 9) / 2)
        assert h.evidence[0].citation == "@hudry2010"
