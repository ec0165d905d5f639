"""The store on PostgreSQL: migrations, a batch, resume and ranking, on a throwaway database."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from debates.inputs import load_hypotheses
from store.models import DebateRow, HypothesisRow, VerdictRow
from tests.fakes import FakeDebater, ScriptedServer
from tests.helpers import TWO, runner

SERVER_URL = os.environ.get("HYPODEBATE_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not SERVER_URL, reason="HYPODEBATE_TEST_POSTGRES_URL is not set (CI sets it)"),
]


@pytest.fixture
def pg_url():
    assert SERVER_URL
    name = f"hypodebate_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


async def test_batch_on_postgres_scores_and_skips_on_rerun(pg_url, tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    hypotheses = load_hypotheses([path])
    server = ScriptedServer(default=FakeDebater(score=lambda judge, dim: 4 + 2 * judge))
    first = runner(server, pg_url, rounds=1, judges=2)
    result = await first.run(hypotheses, source="two.yaml")
    await first.client.aclose()
    assert [o.status for o in result.outcomes] == ["completed", "completed"]
    again = await runner(server, pg_url, rounds=1, judges=2).run(hypotheses, source="two.yaml")
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    with first.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DebateRow)) == 2
        assert s.scalar(select(func.count()).select_from(VerdictRow)) == 4
        h = s.get(HypothesisRow, "h-2600483e")
        assert h.score == pytest.approx((5 / 9 + 7 / 9) / 2)
        assert h.evidence[0].citation == "@hudry2010"
