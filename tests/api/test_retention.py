"""Retention: rows past their time are purged by the sweeper, rows within it are kept."""

from __future__ import annotations

import uuid
from datetime import timedelta

from db.tables import AuditEvent, RefreshToken, WebhookDelivery, WebhookEndpoint
from db.types import utcnow
from domain import ids
from jobs.sweeper import purge_if_due
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, uuid_param
from tests.support.stacks import Server


async def test_the_sweeper_purges_rows_past_their_retention(
    client: GraphQLClient, server: Server
) -> None:
    settings = server.settings
    now = utcnow()
    account = await register_and_login(client)
    user = uuid_param(server, account.id)
    user_key = ids.decode(ids.Kind.USER, account.id)
    assert user_key is not None
    past_audit = now - timedelta(days=settings.audit_retention_days + 1)
    past_delivery = now - timedelta(days=settings.webhook_delivery_retention_days + 1)
    async with server.services.db.transaction() as uow:
        session = uow.session
        endpoint = WebhookEndpoint(url="https://hooks.example.edu/r", secret="s" * 32, active=False)
        session.add(endpoint)
        await session.flush()
        old_event, new_event = uuid.uuid4(), uuid.uuid4()
        session.add_all([
            WebhookDelivery(endpoint_id=endpoint.id, event_id=old_event, event_type="x",
                            payload_json={}, created_at=past_delivery),
            WebhookDelivery(endpoint_id=endpoint.id, event_id=new_event, event_type="x",
                            payload_json={}),
            AuditEvent(actor="system", action="retention.old", created_at=past_audit),
            AuditEvent(actor="system", action="retention.recent",
                       created_at=now - timedelta(days=settings.audit_retention_days - 1)),
            RefreshToken(user_id=user_key,
                         family_id=uuid.uuid4(), token_hash=uuid.uuid4().hex,
                         expires_at=now - timedelta(seconds=1)),
        ])  # fmt: skip

    purged = await purge_if_due(server.services, utcnow(), force=True)
    assert purged >= 3  # other tests' expired tokens may go too

    deliveries = await rows(server, "SELECT event_id FROM webhook_deliveries "
                            "WHERE endpoint_id = :e", e=_key(server, endpoint.id))  # fmt: skip
    assert [str(uuid.UUID(str(r["event_id"]))) for r in deliveries] == [str(new_event)]
    actions = await rows(server, "SELECT action FROM audit_events WHERE action LIKE 'retention.%'")
    assert [r["action"] for r in actions] == ["retention.recent"]
    tokens = await rows(server, "SELECT expires_at FROM refresh_tokens WHERE user_id = :u", u=user)
    assert len(tokens) == 1  # the live session of the login above stays
    me = await client.data("{ me { id } }", token=account.token)
    assert me["me"]["id"] == account.id
    # Within the hour nothing runs again.
    assert await purge_if_due(server.services, utcnow()) == 0


def _key(server: Server, key: uuid.UUID) -> object:
    return key.hex if server.settings.is_sqlite else key
