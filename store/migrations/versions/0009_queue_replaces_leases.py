"""the job queue replaces debate leases: a debate's runner holds a database or kernel lock (store/claims.py), so
the lease columns go; debates may now be queued, and a batch's debates are counted by status

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("debates") as batch:
        batch.drop_column("lease_expires")
        batch.drop_column("lease_owner")
        batch.create_index("ix_debates_batch_status", ["batch_id", "status"])


def downgrade() -> None:
    with op.batch_alter_table("debates") as batch:
        batch.drop_index("ix_debates_batch_status")
        batch.add_column(sa.Column("lease_owner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True))
