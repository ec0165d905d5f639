"""generation: a page's gaps ("Related Analyses"), generation runs and their generations, every generator and
evolution answer (`candidates`, duplicates included, with what they merged into), the meta-reviews, and each
generated hypothesis's provenance and parents (`lineage`)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOW = sa.DateTime(timezone=True)


def _answer_cost() -> list[sa.Column]:
    """What a stored answer cost (store.models.AnswerCost), as every table holding one has it."""
    return [
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
    ]


def _run() -> sa.ForeignKey:
    return sa.ForeignKey("generation_runs.id", ondelete="CASCADE")


def _hypothesis() -> sa.ForeignKey:
    return sa.ForeignKey("hypotheses.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "page_gaps",
        sa.Column("id", sa.String(length=16), primary_key=True),
        sa.Column("page_slug", sa.String(length=200), sa.ForeignKey("pages.slug", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_index("ix_page_gaps_page_slug", "page_gaps", ["page_slug"])
    op.create_table(
        "generation_runs",
        sa.Column("id", sa.String(length=16), primary_key=True),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("page_slug", sa.String(length=200), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stopped", sa.String(length=16), nullable=True),
        sa.Column("stop_detail", sa.Text(), nullable=True),
        sa.Column("started_at", NOW, nullable=False),
        sa.Column("finished_at", NOW, nullable=True),
    )
    op.create_index("ix_generation_runs_page_slug", "generation_runs", ["page_slug"])
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=16), _run(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("debated", sa.Integer(), nullable=False),
        sa.Column("tournament_id", sa.String(length=16), nullable=True),
        sa.Column("top", sa.JSON(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.UniqueConstraint("run_id", "number", name="uq_generation_number"),
    )
    op.create_index("ix_generations_run_id", "generations", ["run_id"])
    op.create_table(
        "meta_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=16), _run(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("review", sa.JSON(), nullable=False),
        sa.Column("debates", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_hash", sa.String(length=16), nullable=False),
        *_answer_cost(),
        sa.UniqueConstraint("run_id", "generation", name="uq_meta_review"),
    )
    op.create_index("ix_meta_reviews_run_id", "meta_reviews", ["run_id"])
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=16), _run(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("parents", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "hypothesis_id", sa.String(length=16), sa.ForeignKey("hypotheses.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_hash", sa.String(length=16), nullable=False),
        *_answer_cost(),
        sa.UniqueConstraint("run_id", "generation", "slot", name="uq_candidate_slot"),
    )
    op.create_index("ix_candidates_run_id", "candidates", ["run_id"])
    op.create_index("ix_candidates_hypothesis_id", "candidates", ["hypothesis_id"])
    op.create_table(
        "provenance",
        sa.Column("hypothesis_id", sa.String(length=16), _hypothesis(), primary_key=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_hash", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_index("ix_provenance_run_id", "provenance", ["run_id"])
    op.create_table(
        "lineage",
        sa.Column("child_id", sa.String(length=16), _hypothesis(), primary_key=True),
        sa.Column("parent_id", sa.String(length=16), _hypothesis(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_lineage_parent_id", "lineage", ["parent_id"])


def downgrade() -> None:
    for table in ("lineage", "provenance", "candidates", "meta_reviews", "generations", "generation_runs", "page_gaps"):
        op.drop_table(table)
