"""evidence audit: bibliography entries, claim checks (the verifier's judgements), each hypothesis version's audited
citations, and the online resolvers' cache

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bib_entries",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("more_authors", sa.Boolean(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("journal", sa.String(length=500), nullable=True),
        sa.Column("doi", sa.String(length=300), nullable=True),
        sa.Column("pmid", sa.String(length=16), nullable=True),
        sa.Column("pmcid", sa.String(length=16), nullable=True),
        sa.Column("nct", sa.String(length=16), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("doi", "pmid", "nct"):
        op.create_index(f"ix_bib_entries_{column}", "bib_entries", [column])
    op.create_table(
        "claim_checks",
        sa.Column("id", sa.String(length=16), primary_key=True),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("raw_label", sa.String(length=16), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("quote_found", sa.Boolean(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_hash", sa.String(length=16), nullable=False),
        sa.Column("protocol_hash", sa.String(length=16), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_claim_checks_entry_key", "claim_checks", ["entry_key"])
    op.create_table(
        "citation_audits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hypothesis_id",
            sa.String(length=16),
            sa.ForeignKey("hypotheses.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("debate_id", sa.String(length=16), nullable=True),
        sa.Column("turn_seq", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("citation", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("entry_key", sa.String(length=200), nullable=True),
        sa.Column("check_id", sa.String(length=16), nullable=True),
        sa.Column("support", sa.String(length=16), nullable=True),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_citation_audits_version", "citation_audits", ["hypothesis_id", "content_hash"])
    op.create_table(
        "resolver_cache",
        sa.Column("resolver", sa.String(length=16), primary_key=True),
        sa.Column("identifier", sa.String(length=300), primary_key=True),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resolver_cache")
    op.drop_table("citation_audits")
    op.drop_table("claim_checks")
    op.drop_table("bib_entries")
