"""Published forms and retake rules (issue 13, points 2 and 3).

- assessments.form_name: the published form an assessment was started from (the retake
  cooldown is per student, track and form); existing rows came from "default".
- assessments.custom: an admin's assessment with a composition that is not its form's; it is
  never counted in latest profiles, student filters or analytics.
- assessment_forms.retake_cooldown_hours: the form's own cooldown; NULL uses the
  RETAKE_COOLDOWN_HOURS setting.
- an index for the cooldown and seen-history reads (a student's attempts, newest first).
Reviewed by hand; runs on PostgreSQL and SQLite (batch mode for the added columns is not
needed: ADD COLUMN with a constant default works on both).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assessments",
        sa.Column("form_name", sa.Text(), nullable=False, server_default="default"),
    )
    op.add_column(
        "assessments",
        sa.Column("custom", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "assessment_forms", sa.Column("retake_cooldown_hours", sa.Integer(), nullable=True)
    )
    op.create_index(
        "idx_assessments_user_track_form",
        "assessments",
        ["user_id", "track", "form_name", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("idx_assessments_user_track_form", table_name="assessments")
    with op.batch_alter_table("assessment_forms") as batch:
        batch.drop_column("retake_cooldown_hours")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("custom")
        batch.drop_column("form_name")
