"""eval items: the outcome label, strata and pair of each labelled row, apart from the hypothesis it is debated as;
hypothesis titles up to 500 characters (labelled findings run longer than hand-written titles)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column(
            "hypothesis_id", sa.String(length=16), sa.ForeignKey("hypotheses.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("pair", sa.String(length=200), nullable=True),
        sa.Column("strata", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dataset", "item_id", "variant", name="uq_eval_item"),
    )
    op.create_index("ix_eval_items_hypothesis_id", "eval_items", ["hypothesis_id"])
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths
        op.alter_column("hypotheses", "title", type_=sa.String(length=500), existing_nullable=False)


def downgrade() -> None:
    op.drop_index("ix_eval_items_hypothesis_id", table_name="eval_items")
    op.drop_table("eval_items")
