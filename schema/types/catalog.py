from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from db.tables import Credential as CredentialRow
from domain import ids
from domain.catalog import CredentialDraft, Level
from domain.profile import Band
from schema.errors import UserError
from schema.types.common import Node, PageInfo

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


@strawberry.type
class CredentialEdge:
    node: Credential
    cursor: str


@strawberry.type
class CredentialConnection:
    edges: list[CredentialEdge]
    page_info: PageInfo
    total_count: int


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


@strawberry.input
class CredentialInput:
    slug: str = strawberry.field(description="Stable key; upserts match on it.")
    title: str
    provider: str | None = strawberry.UNSET
    url: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.field(default_factory=list)
    domains: list[str] | None = strawberry.field(default_factory=list)
    level: Band | None = strawberry.UNSET
    active: bool | None = True

    def to_draft(self) -> CredentialDraft:
        """An upsert replaces the whole credential: what is left out (or null) is cleared, and
        a null `active` means the default, active."""
        level = _given(self.level)
        return CredentialDraft(
            slug=self.slug,
            title=self.title,
            provider=_given(self.provider),
            url=_given(self.url),
            description=_given(self.description),
            tags=self.tags or [],
            domains=self.domains or [],
            # The API speaks score bands; the catalog stores the matching level (same values).
            level=Level(level.value) if level else None,
            active=self.active is not False,
        )


@strawberry.type
class CredentialPayload:
    credential: Credential | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
