"""scoreboards, hypothesis versions and per-scoreboard hypothesis scores; who judged, as what, in which order

Existing databases upgrade in place: every hypothesis gets its current content as a version (older contents
that were debated become versions without content, `origin="legacy"`), every stored panel score lands in a
scoreboard of its own marked `legacy` (its judge models are the configured names, not the served ones), and
the hypothesis scores are recomputed per scoreboard. The old all-debates aggregate columns are dropped.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from store.scoreboards import scoreboard_id

# The embedded demo model's name, as the embedded server answered it when these scores were stored.
DEMO_MODEL = "SmolLM2-135M-Instruct"

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoreboards",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("rubric_hash", sa.String(length=16), nullable=False),
        sa.Column("protocol_hash", sa.String(length=16), nullable=False),
        sa.Column("judge_models", sa.JSON(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("legacy", sa.Boolean(), nullable=False),
        sa.Column("protocol", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hypothesis_versions",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("hypothesis_id", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=24), nullable=True),
        sa.Column("debate_id", sa.String(length=16), nullable=True),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hypothesis_id"], ["hypotheses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hypothesis_id", "content_hash", name="uq_version_content"),
        sa.UniqueConstraint("hypothesis_id", "version", name="uq_version_number"),
    )
    op.create_index("ix_hypothesis_versions_hypothesis_id", "hypothesis_versions", ["hypothesis_id"])
    op.create_table(
        "hypothesis_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scoreboard_id", sa.String(length=16), nullable=False),
        sa.Column("hypothesis_id", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("lo", sa.Float(), nullable=True),
        sa.Column("hi", sa.Float(), nullable=True),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("debates", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scoreboard_id"], ["scoreboards.id"]),
        sa.ForeignKeyConstraint(["hypothesis_id"], ["hypotheses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scoreboard_id", "hypothesis_id", "content_hash", name="uq_hypothesis_score"),
    )
    op.create_index("ix_hypothesis_scores_hypothesis_id", "hypothesis_scores", ["hypothesis_id"])
    op.create_index("ix_hypothesis_scores_updated_at", "hypothesis_scores", ["updated_at"])
    op.create_index(
        "ix_hypothesis_scores_rank",
        "hypothesis_scores",
        ["scoreboard_id", "current", sa.text("mean DESC"), sa.text("debates DESC"), "hypothesis_id"],
    )
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("persona", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("material_order", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reasoning", sa.Text(), nullable=True))
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("scoreboard_id", sa.String(length=16), nullable=True))
        batch.create_index("ix_scores_scoreboard_id", ["scoreboard_id"])
        batch.create_foreign_key("fk_scores_scoreboard", "scoreboards", ["scoreboard_id"], ["id"])
    with op.batch_alter_table("hypotheses") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    _backfill(op.get_bind())
    op.drop_index("ix_hypotheses_rank", table_name="hypotheses")
    with op.batch_alter_table("hypotheses") as batch:
        batch.drop_index("ix_hypotheses_score")
        batch.drop_column("score")
        batch.drop_column("score_spread")
        batch.drop_column("score_n")
        batch.drop_column("debates_completed")


def _backfill(bind: sa.Connection) -> None:
    # here: every open_store reads this file, and scipy takes a second (the model is today's: revision 0010
    # recomputes every scoreboard anyway)
    from scoring.aggregate import BoardVerdict, board_scores

    now = datetime.now(UTC)
    meta = sa.MetaData()
    hypotheses = sa.Table("hypotheses", meta, autoload_with=bind)
    evidence = sa.Table("evidence", meta, autoload_with=bind)
    debates = sa.Table("debates", meta, autoload_with=bind)
    scores = sa.Table("scores", meta, autoload_with=bind)
    verdicts = sa.Table("verdicts", meta, autoload_with=bind)
    versions = sa.Table("hypothesis_versions", meta, autoload_with=bind)
    boards = sa.Table("scoreboards", meta, autoload_with=bind)
    hscores = sa.Table("hypothesis_scores", meta, autoload_with=bind)

    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in bind.execute(sa.select(evidence).order_by(evidence.c.hypothesis_id, evidence.c.position)).mappings():
        items[row["hypothesis_id"]].append(
            {"claim": row["claim"], "citation": row["citation"], "stance": row["stance"]}
        )
    older: dict[str, list[str]] = defaultdict(list)
    for h_id, content_hash in bind.execute(
        sa.select(debates.c.hypothesis_id, debates.c.hypothesis_hash)
        .group_by(debates.c.hypothesis_id, debates.c.hypothesis_hash)
        .order_by(debates.c.hypothesis_id, sa.func.min(debates.c.started_at))
    ):
        older[h_id].append(content_hash)
    for h in bind.execute(sa.select(hypotheses)).mappings():
        legacy = [c for c in older.get(h["id"], []) if c != h["content_hash"]]
        rows = [{"version": i, "content_hash": c, "origin": "legacy", "content": None} for i, c in enumerate(legacy, 1)]
        content: dict[str, Any] = {k: h[k] for k in ("title", "targets", "target_label", "mechanism", "diseases")}
        content["evidence"] = items.get(h["id"], [])
        current = len(legacy) + 1
        rows.append({"version": current, "content_hash": h["content_hash"], "origin": "input", "content": content})
        bind.execute(
            versions.insert(),
            [
                {
                    **r,
                    "id": f"{h['id']}.v{r['version']}",
                    "hypothesis_id": h["id"],
                    "parent_id": None,
                    "debate_id": None,
                    "created_at": now,
                }
                for r in rows
            ],
        )
        bind.execute(hypotheses.update().where(hypotheses.c.id == h["id"]).values(version=current))

    current_hash = dict(bind.execute(sa.select(hypotheses.c.id, hypotheses.c.content_hash)).all())
    seen: set[str] = set()
    panels: dict[str, list[BoardVerdict]] = defaultdict(list)
    query = sa.select(scores.c.id, scores.c.debate_id, scores.c.judge_models, debates).join(
        debates, debates.c.id == scores.c.debate_id
    )
    for row in bind.execute(query).mappings():
        models = sorted({str(m) for m in row["judge_models"] or []})
        board = scoreboard_id(row["rubric_hash"], row["protocol_hash"], models)
        if board not in seen:
            seen.add(board)
            bind.execute(
                boards.insert().values(
                    id=board,
                    rubric_hash=row["rubric_hash"],
                    protocol_hash=row["protocol_hash"],
                    judge_models=models,
                    demo=DEMO_MODEL in models,
                    legacy=True,
                    protocol=row["protocol"],
                    created_at=now,
                )
            )
        bind.execute(
            scores.update()
            .where(scores.c.id == row["id"])
            .values(scoreboard_id=board, content_hash=row["hypothesis_hash"])
        )
        unit = (row["hypothesis_id"], row["hypothesis_hash"])
        judged = bind.execute(
            sa.select(verdicts.c.judge, verdicts.c.composite).where(verdicts.c.debate_id == row["debate_id"])
        )
        panels[board] += [BoardVerdict(unit, row["debate_id"], int(j), float(c)) for j, c in judged]
    for board, board_verdicts in panels.items():
        for (h_id, content_hash), score in board_scores(board_verdicts).items():
            _insert_score(bind, hscores, board, h_id, content_hash, score, current_hash, now)


def _insert_score(
    bind: sa.Connection,
    hscores: sa.Table,
    board: str,
    h_id: str,
    content_hash: str,
    score: Any,
    current_hash: dict[str, str],
    now: datetime,
) -> None:
    bind.execute(
        hscores.insert().values(
            scoreboard_id=board,
            hypothesis_id=h_id,
            content_hash=content_hash,
            current=current_hash.get(h_id) == content_hash,
            mean=score.mean,
            lo=score.lo,
            hi=score.hi,
            interval=score.interval,
            debates=score.debates,
            verdicts=score.verdicts,
            updated_at=now,
        )
    )


def downgrade() -> None:
    raise NotImplementedError("0004 cannot be downgraded: the per-scoreboard scores have no all-debates equivalent")
