"""Pipeline stages, essay score history, job leases and the SLA flag. Reviewed by hand after
autogenerate; runs on PostgreSQL and SQLite (batch mode for the ALTERs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:26:29.559232+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assessment_stages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("output_json", JSON, nullable=True),
        sa.CheckConstraint(
            "stage IN ('rule_score', 'gpt_essays', 'rag', 'fusion')",
            name=op.f("ck_assessment_stages_stage"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'in_progress', 'done', 'failed', 'skipped')",
            name=op.f("ck_assessment_stages_state"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_stages_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_stages")),
        sa.UniqueConstraint("assessment_id", "stage", name="uq_assessment_stages_stage"),
    )
    op.create_table(
        "essay_scores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_question_id", sa.Uuid(), nullable=False),
        sa.Column("answer_hash", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rubric_json", JSON, nullable=False),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("scored_by", sa.Text(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("prompt_version", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("scored_by IN ('llm', 'local')", name=op.f("ck_essay_scores_scored_by")),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_essay_scores_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_question_id"],
            ["assessment_questions.id"],
            name=op.f("fk_essay_scores_assessment_question_id_assessment_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_essay_scores")),
    )
    op.create_index("idx_essay_scores_assessment", "essay_scores", ["assessment_id"], unique=False)
    op.create_index(
        "idx_essay_scores_question",
        "essay_scores",
        ["assessment_question_id", "created_at"],
        unique=False,
    )
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("sla_breached_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_until", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("finished_at", TIMESTAMP, nullable=True))
        # Existing rows get 0; the application always sets it.
        batch.add_column(sa.Column("recoveries", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("recoveries")
        batch.drop_column("finished_at")
        batch.drop_column("lease_until")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("sla_breached_at")
    op.drop_index("idx_essay_scores_question", table_name="essay_scores")
    op.drop_index("idx_essay_scores_assessment", table_name="essay_scores")
    op.drop_table("essay_scores")
    op.drop_table("assessment_stages")
