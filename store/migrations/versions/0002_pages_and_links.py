"""pages and links, and the ranking index on hypotheses

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("hypothesis_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["hypothesis_id"], ["hypotheses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity", "hypothesis_id", name="uq_link_entity_hypothesis"),
    )
    op.create_index("ix_links_entity", "links", ["entity"], unique=False)
    op.create_index("ix_links_hypothesis_id", "links", ["hypothesis_id"], unique=False)
    op.create_index(
        "ix_hypotheses_rank",
        "hypotheses",
        [sa.text("score DESC"), sa.text("debates_completed DESC"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_hypotheses_rank", table_name="hypotheses")
    op.drop_index("ix_links_hypothesis_id", table_name="links")
    op.drop_index("ix_links_entity", table_name="links")
    op.drop_table("links")
    op.drop_table("pages")
