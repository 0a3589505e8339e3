from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.tables import WebhookDelivery, WebhookEndpoint


async def add(session: AsyncSession, url: str, events: list[str], secret: str) -> WebhookEndpoint:
    row = WebhookEndpoint(url=url, events_json=events, secret=secret)
    session.add(row)
    await session.flush()
    return row


async def by_id(session: AsyncSession, key: uuid.UUID) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, key)


async def all_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list(await session.scalars(sa.select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))))


async def subscribed(session: AsyncSession, event: str) -> list[WebhookEndpoint]:
    return [
        e
        for e in await session.scalars(
            sa.select(WebhookEndpoint).where(col(WebhookEndpoint.active).is_(True))
        )
        if event in (e.events_json or [])
    ]


async def delete(session: AsyncSession, key: uuid.UUID) -> bool:
    result = await session.execute(sa.delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == key))
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def record_attempt(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    event_id: uuid.UUID,
    event_type: str,
    payload: dict[str, object],
    attempt: int,
    status: str,
    response_status: int | None,
    error: str | None,
    now: datetime,
) -> None:
    from db.upsert import insert_for

    table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    values = {
        "status": status, "response_status": response_status,
        "error": (error or "")[:1000] or None,
        "delivered_at": now if status == "succeeded" else None,
    }  # fmt: skip
    statement = insert_for(session, table).values(
        id=uuid.uuid4(), endpoint_id=endpoint_id, event_id=event_id, event_type=event_type,
        payload_json=payload, attempt=attempt, created_at=now, **values,
    )  # fmt: skip
    # A re-run of the same attempt (a worker killed after sending) overwrites, never adds.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["endpoint_id", "event_id", "attempt"], set_=values
        )
    )


async def deliveries(session: AsyncSession, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    return list(
        await session.scalars(
            sa.select(WebhookDelivery)
            .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
            .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.attempt))
        )
    )
