from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.tables import User as UserRow
from domain import ids
from domain.roles import Role as DomainRole
from resolvers import assessments as assessment_resolvers
from resolvers.access import can_see_user
from resolvers.context import Context
from schema.errors import UserError
from schema.types.common import Node, PageInfo, connection

if TYPE_CHECKING:
    from schema.types.assessments import AssessmentConnection
    from schema.types.results import SkillProfile

strawberry.enum(DomainRole, name="Role")


@strawberry.type(name="User")
class User(Node):
    id: strawberry.ID
    email: str
    name: str | None
    role: DomainRole
    interests: list[str]
    created_at: datetime
    _row: strawberry.Private[UserRow]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(ids.encode(ids.Kind.USER, row.id)),
            email=row.email,
            name=row.name,
            role=DomainRole(row.role),
            interests=list(row.interests_json or []),
            created_at=row.created_at,
            _row=row,
        )

    @strawberry.field(description="Visible to the user, their advisor and admins.")
    async def assessments(
        self, info: strawberry.Info[Context, None], first: int | None = 20, after: str | None = None
    ) -> Annotated[AssessmentConnection, strawberry.lazy("schema.types.assessments")]:
        from schema.types.assessments import Assessment, AssessmentConnection, AssessmentEdge

        page = await assessment_resolvers.of_user(
            info.context, self._row.id, 20 if first is None else first, after
        )
        return connection(AssessmentConnection, AssessmentEdge, page, Assessment.from_row)

    @strawberry.field(
        description="The skill profile of the user's latest DONE assessment (null before the "
        "first; an admin's custom try-out never counts). Visible to the user, their advisor and "
        "admins."
    )
    async def latest_profile(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[SkillProfile, strawberry.lazy("schema.types.results")] | None:
        from domain.profile import SkillProfile as DomainProfile
        from schema.types.results import SkillProfile

        context = info.context
        caller = await context.require_caller()
        if not await can_see_user(context, caller, self._row.id):
            return None
        found = await context.loaders.latest_profile.load(self._row.id)
        if found is None:
            return None
        assessment_id, stored = found
        return SkillProfile.from_domain(assessment_id, DomainProfile.from_dict(stored))

    @strawberry.field(description="Set for students who have an assigned advisor.")
    async def advisor(self, info: strawberry.Info[Context, None]) -> User | None:
        advisor_id = await info.context.loaders.advisor_id.load(self._row.id)
        if advisor_id is None:
            return None
        row = await info.context.loaders.user.load(advisor_id)
        return User.from_row(row) if row else None


@strawberry.type
class UserEdge:
    node: User
    cursor: str


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str | None = None
    invite_code: str | None = strawberry.field(
        default=None,
        description="Grants ADVISOR or ADMIN when it matches a configured or issued invite "
        "code; otherwise STUDENT.",
    )
    interests: list[str] | None = None


@strawberry.type
class RegisterPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the access token expires."
    )
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateMeInput:
    name: str | None = strawberry.UNSET
    interests: list[str] | None = strawberry.UNSET


@strawberry.type
class UpdateMePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
