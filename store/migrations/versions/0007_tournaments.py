"""pairwise tournaments: every comparison (one judged order of a pair), and each pool's Bradley-Terry ratings on
its scoreboard

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _hypothesis() -> sa.ForeignKey:
    return sa.ForeignKey("hypotheses.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "comparisons",
        sa.Column("id", sa.String(length=16), primary_key=True),
        sa.Column("protocol_hash", sa.String(length=16), nullable=False),
        sa.Column("judge", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.String(length=16), _hypothesis(), nullable=False),
        sa.Column("first_hash", sa.String(length=64), nullable=False),
        sa.Column("second_id", sa.String(length=16), _hypothesis(), nullable=False),
        sa.Column("second_hash", sa.String(length=64), nullable=False),
        sa.Column("preferred", sa.String(length=8), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.String(length=8), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_hash", sa.String(length=16), nullable=False),
        sa.Column("protocol", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comparisons_protocol", "comparisons", ["protocol_hash", "first_hash", "second_hash"])
    op.create_index("ix_comparisons_first_id", "comparisons", ["first_id"])
    op.create_index("ix_comparisons_second_id", "comparisons", ["second_id"])
    op.create_table(
        "tournaments",
        sa.Column("id", sa.String(length=16), primary_key=True),
        sa.Column("pool", sa.String(length=300), nullable=False),
        sa.Column("scoreboard_id", sa.String(length=16), sa.ForeignKey("scoreboards.id"), nullable=False),
        sa.Column("hypotheses", sa.Integer(), nullable=False),
        sa.Column("comparisons", sa.Integer(), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("position_bias", sa.Float(), nullable=True),
        sa.Column("first_share", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pool", "scoreboard_id", name="uq_tournament_pool_board"),
    )
    op.create_index("ix_tournaments_pool", "tournaments", ["pool"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "tournament_id", sa.String(length=16), sa.ForeignKey("tournaments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("hypothesis_id", sa.String(length=16), _hypothesis(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("lo", sa.Float(), nullable=False),
        sa.Column("hi", sa.Float(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("ties", sa.Integer(), nullable=False),
        sa.Column("losses", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tournament_id", "hypothesis_id", name="uq_rating_hypothesis"),
    )
    op.create_index("ix_ratings_hypothesis_id", "ratings", ["hypothesis_id"])


def downgrade() -> None:
    op.drop_index("ix_ratings_hypothesis_id", table_name="ratings")
    op.drop_table("ratings")
    op.drop_index("ix_tournaments_pool", table_name="tournaments")
    op.drop_table("tournaments")
    op.drop_index("ix_comparisons_second_id", table_name="comparisons")
    op.drop_index("ix_comparisons_first_id", table_name="comparisons")
    op.drop_index("ix_comparisons_protocol", table_name="comparisons")
    op.drop_table("comparisons")
