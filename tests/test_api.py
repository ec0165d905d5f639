"""`hypodebate.api` from Python: a script, and a notebook (where an event loop is already running)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from debates.hypotheses import Hypothesis
from hypodebate.api import run_batch, run_batch_async
from hypodebate.config import Settings, load_settings
from tests.helpers import TWO
from tests.loopback import LoopbackServer


@pytest.fixture
def setup(server: LoopbackServer, tmp_path: Path) -> tuple[Path, Settings, str]:
    """The two hypotheses' file, default settings that call `server`, and a database URL."""
    path = tmp_path / "two.yaml"
    path.write_text(TWO, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    settings = load_settings(config, env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-x"})
    return path, settings, f"sqlite:///{tmp_path / 'x.db'}"


async def test_run_batch_works_inside_a_running_event_loop_as_in_a_notebook(setup):
    path, settings, db = setup
    asyncio.get_running_loop()  # as in every Jupyter cell
    result = run_batch(path, settings=settings, db=db, rounds=1, judges=2)
    assert result.ok and result.count("completed") == 2
    assert len(result.ranking) == 2 and "h-2600483e" in {r.id for r in result.ranking}

    again = await run_batch_async(path, settings=settings, db=db, rounds=1, judges=2)
    assert again.count("skipped") == 2  # the same store: nothing is debated twice


def test_run_batch_works_in_a_script(setup):
    path, settings, db = setup
    result = run_batch(path, settings=settings, db=db, rounds=1, judges=2)
    assert result.ok and result.count("completed") == 2


def test_a_keyword_the_api_does_not_take_fails_before_anything_runs(tmp_path):
    from hypodebate.api import run_eval, run_tournament

    db = f"sqlite:///{tmp_path / 'never.db'}"
    with pytest.raises(TypeError, match="'round'"):
        run_batch("examples/neurodegeneration.yaml", settings=Settings(), db=db, round=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'queue'"):
        run_eval("rows.jsonl", settings=Settings(), db=db, queue=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'rounds'"):
        run_tournament(settings=Settings(), batch="b-00000000", db=db, rounds=1)  # type: ignore[call-arg]
    assert not (tmp_path / "never.db").exists()


def test_find_duplicates_groups_a_reworded_hypothesis_and_keeps_a_reversed_one_apart(tmp_path):
    import yaml

    from hypodebate.api import find_duplicates
    from tests.generators import NLRP3, SIRT1, SIRT1_REVERSED, SIRT1_REWORDED

    def entry(h: dict) -> dict:
        return {k: h[k] for k in ("title", "targets", "diseases", "mechanism")}

    file = tmp_path / "candidates.yaml"
    file.write_text(yaml.safe_dump([entry(h) for h in (SIRT1, NLRP3, SIRT1_REWORDED, SIRT1_REVERSED)]))
    found = find_duplicates([file], use_llm=False, settings=Settings())
    ids = [Hypothesis.model_validate(entry(h)).hypothesis_id for h in (SIRT1, SIRT1_REWORDED)]
    assert found["groups"] == [ids] and found["model"].startswith("all-MiniLM-L6-v2")


def test_generate_takes_only_its_keywords():
    from hypodebate.api import generate

    with pytest.raises(TypeError, match="unexpected keyword argument 'pages'"):
        generate(pages="x")  # type: ignore[call-arg]
