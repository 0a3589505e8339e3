from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import Credential
from db.types import utcnow
from domain.catalog import CredentialSpec

Outcome = Literal["created", "updated", "unchanged"]


def spec_columns(spec: CredentialSpec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "provider": spec.provider,
        "url": spec.url,
        "description": spec.description,
        "tags": list(spec.tags),
        "domains": list(spec.domains),
        "level": spec.level.value if spec.level else None,
        "active": spec.active,
    }


async def by_slug(session: AsyncSession, slug: str) -> Credential | None:
    return (
        await session.scalars(sa.select(Credential).where(col(Credential.slug) == slug))
    ).first()


async def by_id(session: AsyncSession, key: uuid.UUID) -> Credential | None:
    return await session.get(Credential, key)


async def by_ids(session: AsyncSession, keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, Credential]:
    rows = await session.scalars(sa.select(Credential).where(col(Credential.id).in_(keys)))
    return {row.id: row for row in rows}


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Credential)) or 0)


async def upsert(session: AsyncSession, spec: CredentialSpec) -> tuple[Credential, Outcome]:
    row = await by_slug(session, spec.slug)
    columns = spec_columns(spec)
    if row is None:
        row = Credential(slug=spec.slug, **columns)
        session.add(row)
        await session.flush()
        return row, "created"
    changed = False
    for name, value in columns.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
        await session.flush()
    return row, "updated" if changed else "unchanged"


async def active(session: AsyncSession) -> list[Credential]:
    return list(
        await session.scalars(sa.select(Credential).where(col(Credential.active).is_(True)))
    )
