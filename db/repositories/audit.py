from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
