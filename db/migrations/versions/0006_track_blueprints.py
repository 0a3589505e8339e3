"""Track blueprints (issue 13): one row per track with its weighted domains. The rows come
from seeds/tracks.yaml (`python -m seeds load`) and from the admin `upsertTrack` mutation.
Reviewed by hand; runs on PostgreSQL and SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tracks",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("domains_json", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tracks")),
    )


def downgrade() -> None:
    op.drop_table("tracks")
