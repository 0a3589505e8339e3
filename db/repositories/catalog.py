from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.json_queries import holds
from db.pagination import Page, check_first
from db.tables import Credential
from db.types import utcnow
from domain.catalog import SLUG, CredentialSpec
from domain.errors import validation

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


async def set_active(session: AsyncSession, row: Credential, active: bool) -> bool:
    """Whether the flag changed (a no-op leaves updated_at alone)."""
    if row.active == active:
        return False
    row.active = active
    row.updated_at = utcnow()
    await session.flush()
    return True


# ---------------------------------------------------------------- listing


async def page(
    session: AsyncSession,
    *,
    active: bool | None,
    tag: str | None,
    domain: str | None,
    first: int,
    after: str | None,
) -> Page[Credential]:
    """A page of the catalog in slug order, filtered by the active flag and by exact membership
    of `tag` in tags and `domain` in domains."""
    statement = sa.select(Credential)
    if active is not None:
        statement = statement.where(col(Credential.active).is_(active))
    if tag is not None:
        statement = statement.where(holds(session, col(Credential.tags), tag))
    if domain is not None:
        statement = statement.where(holds(session, col(Credential.domains), domain))
    return await _page_by_slug(session, statement, first, after)


async def _page_by_slug(
    session: AsyncSession, statement: sa.Select[Any], first: int, after: str | None
) -> Page[Credential]:
    """Keyset pagination on the slug. db.pagination.paginate keys on UUIDv7 ids (creation
    order), which means nothing to someone browsing a catalog; the slug is unique and never
    changes (upserts match on it), so it orders pages just as stably and alphabetically."""
    check_first(first)
    total = await session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    if after is not None:
        statement = statement.where(col(Credential.slug) > _slug_of_cursor(after))
    ordered = statement.order_by(col(Credential.slug).asc()).limit(first + 1)
    rows = list((await session.scalars(ordered)).all())
    shown = rows[:first]
    return Page(
        items=shown,
        cursors=[_slug_cursor(row.slug) for row in shown],
        has_next_page=len(rows) > first,
        total_count=int(total or 0),
    )


def _slug_cursor(slug: str) -> str:
    return base64.urlsafe_b64encode(slug.encode()).decode().rstrip("=")


def _slug_of_cursor(cursor: str) -> str:
    try:
        slug = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        slug = ""
    if not SLUG.match(slug):
        raise validation("This cursor is not valid; use a pageInfo.endCursor.", "after")
    return slug
