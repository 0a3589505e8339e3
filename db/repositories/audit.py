from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db import like
from db.pagination import Page, paginate
from db.tables import AuditEvent


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    resource: str | None = None,
    subject_id: uuid.UUID | None = None,
    request_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            resource=resource,
            subject_id=subject_id,
            request_id=request_id,
            meta_json=meta,
        )
    )
    await session.flush()


async def page(
    session: AsyncSession, *, actor: str | None, action: str | None, first: int, after: str | None
) -> Page[AuditEvent]:
    """Newest first. `action` matches exactly, or as a prefix when it ends with "*"
    ("account.*")."""
    statement = sa.select(AuditEvent)
    if actor is not None:
        statement = statement.where(col(AuditEvent.actor) == actor)
    if action is not None:
        if action.endswith("*"):
            prefix = like.literal(action[:-1])
            statement = statement.where(
                col(AuditEvent.action).like(f"{prefix}%", escape=like.ESCAPE)
            )
        else:
            statement = statement.where(col(AuditEvent.action) == action)
    return await paginate(session, statement, col(AuditEvent.id), first, after)
