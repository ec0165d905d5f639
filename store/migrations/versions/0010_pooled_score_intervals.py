"""a hypothesis score's interval comes from its scoreboard's pooled variance model: each score keeps its standard
error and the model's degrees of freedom (what rank ranges are computed from); the interval kind's name grows

Rows written before this revision keep their per-hypothesis interval and its kind (between-debates, panel, none)
until the next debate on their scoreboard recomputes the board; their standard error is unknown (null).

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


def downgrade() -> None:
    with op.batch_alter_table("hypothesis_scores") as batch:
        batch.alter_column("interval", existing_type=sa.String(length=24), type_=sa.String(length=16))
        batch.drop_column("df")
        batch.drop_column("se")
