from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.tables import AuditEvent as AuditEventRow
from domain import ids
from schema.types.common import PageInfo


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    actor: str | None = strawberry.field(
        description='Public id of who acted ("usr_..."), "anonymous", "system", or '
        '"erased-user" once that person was erased.'
    )
    action: str
    resource: str | None
    meta: JSON | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.AUDIT_EVENT, row.id)),
            actor=row.actor,
            action=row.action or "",
            resource=row.resource,
            meta=JSON(row.meta_json) if row.meta_json is not None else None,
            created_at=row.created_at,
        )


@strawberry.type
class AuditEventEdge:
    node: AuditEvent
    cursor: str


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int
