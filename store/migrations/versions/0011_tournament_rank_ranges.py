"""a tournament fits every judged order (a first-position parameter, Davidson ties): each rating keeps the range of
ranks the fit allows it, and each tournament the first-shown share's 95% interval and the fitted first-position
advantage (rating points). The share of matches whose orders disagreed keeps its column, position_bias, and is
called order inconsistency.

Ratings stored before this revision were fitted on matches and carry no rank range: they get the range that claims
nothing, 1 to the tournament's size, until the tournament runs again and refits them.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tournaments") as batch:
        batch.add_column(sa.Column("first_share_lo", sa.Float(), nullable=True))
        batch.add_column(sa.Column("first_share_hi", sa.Float(), nullable=True))
        batch.add_column(sa.Column("first_advantage", sa.Float(), nullable=True))
    with op.batch_alter_table("ratings") as batch:
        batch.add_column(sa.Column("rank_lo", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rank_hi", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE ratings SET rank_lo = 1, rank_hi = "
        "(SELECT tournaments.hypotheses FROM tournaments WHERE tournaments.id = ratings.tournament_id)"
    )
    with op.batch_alter_table("ratings") as batch:
        batch.alter_column("rank_lo", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("rank_hi", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.drop_column("rank_hi")
        batch.drop_column("rank_lo")
    with op.batch_alter_table("tournaments") as batch:
        batch.drop_column("first_advantage")
        batch.drop_column("first_share_hi")
        batch.drop_column("first_share_lo")
