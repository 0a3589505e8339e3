"""embeddings_meta.chunk_count: a credential is indexed as several passages, and the mirror
says how many, so index statistics come from the database without asking Chroma.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("embeddings_meta") as batch:
        batch.add_column(sa.Column("chunk_count", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("idx_embed_collection", ["collection"])


def downgrade() -> None:
    with op.batch_alter_table("embeddings_meta") as batch:
        batch.drop_index("idx_embed_collection")
        batch.drop_column("chunk_count")
