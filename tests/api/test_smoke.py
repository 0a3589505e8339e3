from __future__ import annotations

from tests.support.client import GraphQLClient, register_and_login
from tests.support.stacks import Server


async def test_health_and_me(client: GraphQLClient, server: Server) -> None:
    body = await client.gql("{ health { api db redis chroma } }")
    expected_redis = "ok" if server.settings.redis_url else "disabled"
    assert body == {
        "data": {"health": {"api": "ok", "db": "ok", "redis": expected_redis, "chroma": "ok"}}
    }
    account = await register_and_login(client)
    me = await client.data("{ me { id email role } }", token=account.token)
    assert me == {"me": {"id": account.id, "email": account.email, "role": "STUDENT"}}
