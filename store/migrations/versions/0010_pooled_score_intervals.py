"""a hypothesis score's interval comes from its scoreboard's pooled variance model: each score keeps its standard
error and the model's degrees of freedom (what rank ranges are computed from); the interval kind's name grows

Every scoreboard's scores are recomputed here with the pooled model (scoring.aggregate); the per-hypothesis kinds
(between-debates, panel, none) are gone after it. A downgrade keeps the pooled numbers under the narrower column.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hypothesis_scores") as batch:
        batch.add_column(sa.Column("se", sa.Float(), nullable=True))
        batch.add_column(sa.Column("df", sa.Float(), nullable=True))
        batch.alter_column("interval", existing_type=sa.String(length=16), type_=sa.String(length=24))
    _recompute(op.get_bind())


def _recompute(bind: sa.Connection) -> None:
    from scoring.aggregate import BoardVerdict, board_scores  # here: scipy takes a second to import

    meta = sa.MetaData()
    scores = sa.Table("scores", meta, autoload_with=bind)
    verdicts = sa.Table("verdicts", meta, autoload_with=bind)
    hscores = sa.Table("hypothesis_scores", meta, autoload_with=bind)
    query = sa.select(
        scores.c.scoreboard_id,
        scores.c.hypothesis_id,
        scores.c.content_hash,
        verdicts.c.debate_id,
        verdicts.c.judge,
        verdicts.c.composite,
    ).join(scores, scores.c.debate_id == verdicts.c.debate_id)
    boards: dict[str, list[BoardVerdict]] = {}
    for board, h_id, content_hash, debate_id, judge, composite in bind.execute(query):
        boards.setdefault(board, []).append(BoardVerdict((h_id, content_hash), debate_id, int(judge), float(composite)))
    for board, board_verdicts in boards.items():
        for (h_id, content_hash), score in board_scores(board_verdicts).items():
            bind.execute(
                hscores.update()
                .where(
                    hscores.c.scoreboard_id == board,
                    hscores.c.hypothesis_id == h_id,
                    hscores.c.content_hash == content_hash,
                )
                .values(
                    mean=score.mean,
                    lo=score.lo,
                    hi=score.hi,
                    interval=score.interval,
                    se=score.se,
                    df=score.df,
                    debates=score.debates,
                    verdicts=score.verdicts,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("hypothesis_scores") as batch:
        batch.alter_column("interval", existing_type=sa.String(length=24), type_=sa.String(length=16))
        batch.drop_column("df")
        batch.drop_column("se")
