"""The root Query. Thin: each field hands over to a resolver function and maps the result."""

from __future__ import annotations

import strawberry

from resolvers import auth as auth_resolvers
from resolvers import nodes as node_resolvers
from resolvers import ops as ops_resolvers
from schema.types.common import Node
from schema.types.ops import Health
from schema.types.users import User


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        row = await node_resolvers.node(info.context, str(id))
        return _to_node(row)

    @strawberry.field
    async def me(self, info: strawberry.Info) -> User | None:
        return User.from_row(await auth_resolvers.me(info.context))

    @strawberry.field(description="Public.")
    async def health(self, info: strawberry.Info) -> Health:
        states = await ops_resolvers.health(info.context)
        return Health(**states)


def _to_node(row: object) -> Node | None:
    from db.tables import User as UserRow

    if isinstance(row, UserRow):
        return User.from_row(row)
    return None
