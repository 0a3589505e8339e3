"""Retention: rows that outlived their purpose are deleted (the README's "Personal data" says
what is kept how long and why). Batched, so a first run over a large backlog never holds long
locks; the sweeper comes back for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import AuditEvent, RefreshToken, WebhookDelivery

BATCH = 1000


@dataclass(frozen=True)
class RetentionPolicy:
    audit_days: int
    webhook_delivery_days: int


async def purge(session: AsyncSession, now: datetime, policy: RetentionPolicy) -> dict[str, int]:
    """Delete one batch of each kind of expired row; counts per table."""
    return {
        # An expired refresh token can do nothing, not even prove a reuse: its family is
        # refused for expiry first.
        "refresh_tokens": await _delete_batch(
            session, RefreshToken, col(RefreshToken.expires_at) < now
        ),
        "webhook_deliveries": await _delete_batch(
            session,
            WebhookDelivery,
            col(WebhookDelivery.created_at) < now - timedelta(days=policy.webhook_delivery_days),
        ),
        "audit_events": await _delete_batch(
            session,
            AuditEvent,
            col(AuditEvent.created_at) < now - timedelta(days=policy.audit_days),
        ),
    }


async def _delete_batch(session: AsyncSession, model: Any, expired: sa.ColumnElement[bool]) -> int:
    # DELETE ... WHERE id IN (SELECT id ... LIMIT n): portable to SQLite, which has no
    # DELETE ... LIMIT in its default build.
    batch = sa.select(model.id).where(expired).limit(BATCH)
    result = await session.execute(
        sa.delete(model)
        .where(col(model.id).in_(batch))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
