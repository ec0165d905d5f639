"""the usage ledger: every call's cached prompt tokens (what the server reported it had cached, priced at the
model's cached-input rate), which command made it and at which step; a cost the price table could not give
(a model missing from `llm.prices`) is stored as NULL, unknown, never as $0.

Rows written before this revision keep the cost they were given then (0 for a model without a price: that cannot be
told apart from a free model afterwards), with no cached tokens and no command or step.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# every table that keeps what a call (or an answer's calls) cost
COSTED = ("usage", "turns", "comparisons", "claim_checks", "meta_reviews", "candidates")


def upgrade() -> None:
    for table in COSTED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("cached_prompt_tokens", sa.Integer(), nullable=False, server_default="0"))
            batch.alter_column("cost_usd", existing_type=sa.Float(), nullable=True)
    with op.batch_alter_table("usage") as batch:
        batch.add_column(sa.Column("command", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("step", sa.String(length=32), nullable=True))
    op.create_index("ix_usage_created_at", "usage", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_created_at", table_name="usage")
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("step")
        batch.drop_column("command")
    for table in COSTED:
        op.execute(f"UPDATE {table} SET cost_usd = 0 WHERE cost_usd IS NULL")  # noqa: S608 (names from COSTED)
        with op.batch_alter_table(table) as batch:
            batch.alter_column("cost_usd", existing_type=sa.Float(), nullable=False)
            batch.drop_column("cached_prompt_tokens")
