from __future__ import annotations

from datetime import datetime

import strawberry

from db.tables import Credential as CredentialRow
from domain import ids
from domain.profile import Band
from schema.types.common import Node

strawberry.enum(Band, name="ScoreBand")


@strawberry.type
class Credential(Node):
    id: strawberry.ID
    slug: str
    title: str
    provider: str | None
    url: str | None
    description: str | None
    tags: list[str]
    domains: list[str]
    level: Band | None
    active: bool
    updated_at: datetime

    @classmethod
    def from_row(cls, row: CredentialRow) -> Credential:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.CREDENTIAL, row.id)),
            slug=row.slug,
            title=row.title,
            provider=row.provider,
            url=row.url,
            description=row.description,
            tags=list(row.tags or []),
            domains=list(row.domains or []),
            level=Band(row.level) if row.level else None,
            active=row.active,
            updated_at=row.updated_at,
        )
