"""Essay review (issue 12): what the machine saw in each essay score (flags, the local
scorer's second opinion, whether a human should look) and the human overrides. Overrides are
rows of their own so that the machine scores stay in the history untouched. Reviewed by hand;
runs on PostgreSQL and SQLite (batch mode for the ALTER).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("essay_scores") as batch:
        # Rows written before review existed: no flags, no second opinion, nothing to review.
        batch.add_column(sa.Column("flags", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("local_score", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("idx_essay_scores_review", ["needs_review", "created_at"])
    op.create_table(
        "essay_score_overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("essay_score_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rubric_json", JSON, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "score >= 0 AND score <= 1", name=op.f("ck_essay_score_overrides_score")
        ),
        sa.ForeignKeyConstraint(
            ["essay_score_id"],
            ["essay_scores.id"],
            name=op.f("fk_essay_score_overrides_essay_score_id_essay_scores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_essay_score_overrides_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_essay_score_overrides_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_essay_score_overrides")),
    )
    op.create_index(
        "idx_essay_score_overrides_score", "essay_score_overrides", ["essay_score_id", "created_at"]
    )
    op.create_index(
        "idx_essay_score_overrides_assessment", "essay_score_overrides", ["assessment_id"]
    )


def downgrade() -> None:
    op.drop_index("idx_essay_score_overrides_assessment", table_name="essay_score_overrides")
    op.drop_index("idx_essay_score_overrides_score", table_name="essay_score_overrides")
    op.drop_table("essay_score_overrides")
    with op.batch_alter_table("essay_scores") as batch:
        batch.drop_index("idx_essay_scores_review")
        batch.drop_column("needs_review")
        batch.drop_column("local_score")
        batch.drop_column("flags")
