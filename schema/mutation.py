"""The root Mutation. Every payload carries `errors: [UserError!]!`."""

from __future__ import annotations

import strawberry

from resolvers import auth as auth_resolvers
from schema.errors import payload_or_errors
from schema.types.common import OkPayload
from schema.types.users import (
    AuthPayload,
    LoginInput,
    RegisterInput,
    RegisterPayload,
    UpdateMeInput,
    UpdateMePayload,
    User,
)


def _auth_payload(session: auth_resolvers.Session) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        user=User.from_row(session.user),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: strawberry.Info, input: RegisterInput) -> RegisterPayload:
        async def run() -> RegisterPayload:
            row = await auth_resolvers.register(
                info.context,
                email=input.email,
                password=input.password,
                name=input.name,
                invite_code=input.invite_code,
                interests=input.interests,
            )
            return RegisterPayload(user=User.from_row(row))

        return await payload_or_errors(info, RegisterPayload, run())

    @strawberry.mutation
    async def login(self, info: strawberry.Info, input: LoginInput) -> AuthPayload:
        async def run() -> AuthPayload:
            session = await auth_resolvers.login(
                info.context, email=input.email, password=input.password
            )
            return _auth_payload(session)

        return await payload_or_errors(info, AuthPayload, run())

    @strawberry.mutation(
        description="Rotates: the old refresh token stops working; reusing it revokes the "
        "whole token family."
    )
    async def refresh_token(self, info: strawberry.Info, refresh_token: str) -> AuthPayload:
        async def run() -> AuthPayload:
            session = await auth_resolvers.refresh(info.context, refresh_token=refresh_token)
            return _auth_payload(session)

        return await payload_or_errors(info, AuthPayload, run())

    @strawberry.mutation
    async def logout(self, info: strawberry.Info, refresh_token: str) -> OkPayload:
        async def run() -> OkPayload:
            await auth_resolvers.logout(info.context, refresh_token=refresh_token)
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation
    async def update_me(self, info: strawberry.Info, input: UpdateMeInput) -> UpdateMePayload:
        async def run() -> UpdateMePayload:
            changes: dict[str, object] = {}
            if input.name is not strawberry.UNSET:
                changes["name"] = input.name
            if input.interests is not strawberry.UNSET:
                changes["interests"] = input.interests
            row = await auth_resolvers.update_me(info.context, **changes)
            return UpdateMePayload(user=User.from_row(row))

        return await payload_or_errors(info, UpdateMePayload, run())
