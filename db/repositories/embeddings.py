"""embeddings_meta: the database's mirror of what the vector index holds, per collection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import Credential, EmbeddingMeta
from db.upsert import insert_for


async def for_collection(session: AsyncSession, collection: str) -> dict[uuid.UUID, EmbeddingMeta]:
    rows = await session.scalars(
        sa.select(EmbeddingMeta).where(col(EmbeddingMeta.collection) == collection)
    )
    return {row.credential_id: row for row in rows}


async def record(
    session: AsyncSession,
    *,
    credential_id: uuid.UUID,
    model: str,
    collection: str,
    dim: int,
    embedding_id: str,
    content_hash: str,
    chunk_count: int,
    now: datetime,
) -> None:
    table = EmbeddingMeta.__table__  # type: ignore[attr-defined]
    values = {"embedding_id": embedding_id, "model": model, "dim": dim,
              "content_hash": content_hash, "chunk_count": chunk_count,
              "created_at": now}  # fmt: skip
    statement = insert_for(session, table).values(
        id=uuid.uuid4(), credential_id=credential_id, collection=collection, **values
    )
    # One row per credential and collection: a second collection on the same database (another
    # deployment or namespace) keeps its own rows instead of taking these over.
    await session.execute(
        statement.on_conflict_do_update(index_elements=["credential_id", "collection"], set_=values)
    )


async def forget(
    session: AsyncSession, collection: str, credential_ids: Sequence[uuid.UUID]
) -> None:
    if credential_ids:
        await session.execute(
            sa.delete(EmbeddingMeta).where(
                col(EmbeddingMeta.collection) == collection,
                col(EmbeddingMeta.credential_id).in_(list(credential_ids)),
            )
        )


async def totals(session: AsyncSession, collection: str) -> tuple[int, int, datetime | None]:
    """(vectors, dimension, newest indexing time) of a collection."""
    row = (
        await session.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(col(EmbeddingMeta.chunk_count)), 0),
                sa.func.coalesce(sa.func.max(col(EmbeddingMeta.dim)), 0),
                sa.func.max(col(EmbeddingMeta.created_at)),
            ).where(col(EmbeddingMeta.collection) == collection)
        )
    ).one()
    return int(row[0]), int(row[1]), row[2]


async def out_of_step(session: AsyncSession, collection: str) -> bool:
    """Whether the index may not match the catalog: an active credential not indexed (or
    changed since), or an indexed one that is no longer active."""
    meta = sa.orm.aliased(EmbeddingMeta)
    joined = sa.and_(
        col(meta.credential_id) == col(Credential.id), col(meta.collection) == collection
    )
    missing_or_changed = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Credential)
        .outerjoin(meta, joined)
        .where(
            col(Credential.active).is_(True),
            sa.or_(col(meta.id).is_(None), col(Credential.updated_at) > col(meta.created_at)),
        )
    )
    stale = await session.scalar(
        sa.select(sa.func.count())
        .select_from(meta)
        .join(Credential, col(Credential.id) == col(meta.credential_id))
        .where(col(meta.collection) == collection, col(Credential.active).is_(False))
    )
    return bool(missing_or_changed or stale)


async def credentials_to_index(session: AsyncSession) -> list[Credential]:
    """Every credential, active or not: a rebuild adds the one and removes the other."""
    return list(await session.scalars(sa.select(Credential).order_by(col(Credential.slug))))
