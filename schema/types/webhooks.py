from __future__ import annotations

from datetime import datetime

import strawberry

from db.tables import WebhookEndpoint as EndpointRow
from domain import ids
from domain.webhooks import WebhookEvent as DomainWebhookEvent
from schema.errors import UserError
from schema.types.common import Node

strawberry.enum(DomainWebhookEvent, name="WebhookEvent")


@strawberry.type
class WebhookEndpoint(Node):
    id: strawberry.ID
    url: str
    events: list[DomainWebhookEvent]
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: EndpointRow) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.WEBHOOK, row.id)),
            url=row.url,
            events=[DomainWebhookEvent(e) for e in row.events_json or []],
            active=row.active,
            created_at=row.created_at,
        )


@strawberry.input
class WebhookEndpointInput:
    url: str
    events: list[DomainWebhookEvent]
    secret: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Shared secret for the HMAC-SHA256 signature; generated when omitted and "
        "returned once.",
    )


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(default=None, description="Only returned on creation.")
    errors: list[UserError] = strawberry.field(default_factory=list)
