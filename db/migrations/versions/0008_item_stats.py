"""Item statistics (issue 13): `item_stats` holds each bank question's sufficient statistics
(responses, sums of score, rest score, their squares and product, option pick counts, flags),
and `scores.item_contributions_json` what each stored result added to them, so a re-score
replaces its own contribution. Results stored before this revision contributed nothing; the
statistics count assessments scored from now on. Reviewed by hand; PostgreSQL and SQLite.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "item_stats",
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_x", sa.Float(), nullable=False),
        sa.Column("sum_x2", sa.Float(), nullable=False),
        sa.Column("sum_rest", sa.Float(), nullable=False),
        sa.Column("sum_rest2", sa.Float(), nullable=False),
        sa.Column("sum_x_rest", sa.Float(), nullable=False),
        sa.Column("option_counts_json", JSON, nullable=False),
        sa.Column("flags_json", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_item_stats_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_item_stats")),
    )
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("item_contributions_json", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("item_contributions_json")
    op.drop_table("item_stats")
