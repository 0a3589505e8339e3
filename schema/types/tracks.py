"""Track blueprints: what a role's assessment draws on."""

from __future__ import annotations

import strawberry

from db.repositories.tracks import to_blueprint
from db.tables import Track as TrackRow
from domain.tracks import BlueprintDraft
from schema.errors import UserError


@strawberry.type
class TrackDomain:
    domain: str
    weight: int = strawberry.field(description="Positive; higher weights get more items.")


@strawberry.type(
    description="A track and its blueprint. The core is the top 3 domains by weight (equal "
    "weights: listing order): at least 60% of an assessment's scored items come from it, and "
    "each core domain gets at least 2 when the form has room."
)
class Track:
    name: str
    title: str
    description: str
    domains: list[TrackDomain] = strawberry.field(description="In the blueprint's own order.")

    @classmethod
    def from_row(cls, row: TrackRow) -> Track:
        blueprint = to_blueprint(row)
        return cls(
            name=blueprint.name,
            title=blueprint.title,
            description=blueprint.description,
            domains=[TrackDomain(domain=d.domain, weight=d.weight) for d in blueprint.domains],
        )


@strawberry.input
class TrackDomainInput:
    domain: str
    weight: int


@strawberry.input
class TrackInput:
    name: str = strawberry.field(description="Stable key; upserts match on it.")
    title: str
    description: str | None = ""
    domains: list[TrackDomainInput]

    def to_draft(self) -> BlueprintDraft:
        return BlueprintDraft(
            name=self.name,
            title=self.title,
            description=self.description or "",
            domains=[(d.domain, d.weight) for d in self.domains],
        )


@strawberry.type
class TrackPayload:
    track: Track | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
