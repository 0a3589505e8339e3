"""embeddings_meta is keyed by (credential, collection), not (credential, model).

Two deployments (or two test servers with different namespaces) that share a database but not
a Chroma collection each keep their own mirror rows: keyed by model, indexing into the second
collection moved the first one's rows, and its statistics and staleness checks went wrong.
The model is part of a collection's name (domain.retrieval.collection_name), so the old key's
guarantee, one row per credential and model within a collection, still holds.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 16:45:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("embeddings_meta") as batch:
        batch.drop_constraint("uq_embeddings_meta_credential_model", type_="unique")
        batch.create_unique_constraint(
            "uq_embeddings_meta_credential_collection", ["credential_id", "collection"]
        )


def downgrade() -> None:
    # Going back keeps one row per (credential, model): the newest, as the old key allowed.
    op.execute(
        "DELETE FROM embeddings_meta WHERE id IN (SELECT older.id FROM embeddings_meta older"
        " JOIN embeddings_meta newer ON older.credential_id = newer.credential_id"
        " AND older.model = newer.model AND older.created_at < newer.created_at)"
    )
    with op.batch_alter_table("embeddings_meta") as batch:
        batch.drop_constraint("uq_embeddings_meta_credential_collection", type_="unique")
        batch.create_unique_constraint(
            "uq_embeddings_meta_credential_model", ["credential_id", "model"]
        )
