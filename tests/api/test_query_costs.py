"""The number of SQL statements of important queries does not grow with the data (no N+1)."""

from __future__ import annotations

from resolvers.context import forget_callers
from resolvers.loaders import SNAPSHOTS
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import StatementCounter
from tests.support.flows import start
from tests.support.stacks import Server

MY_ASSESSMENTS = """
{ myAssessments(first: 20) { totalCount edges { node {
    id status answeredCount totalCount owner { id email }
    questions { id answered answer options { key } }
} } } }
"""


async def _statements(client: GraphQLClient, server: Server, token: str) -> int:
    # Both measurements start from cold process caches, so they compare like with like.
    forget_callers()
    SNAPSHOTS.clear()
    with StatementCounter(server) as counter:
        body = await client.gql(MY_ASSESSMENTS, token=token)
    assert "errors" not in body, body
    return counter.count


async def test_my_assessments_costs_the_same_for_one_or_five(
    client: GraphQLClient, server: Server
) -> None:
    few = await register_and_login(client)
    await start(client, few.token, "general")
    many = await register_and_login(client)
    for track in ("general", "data", "web", "cloud", "security"):
        await start(client, many.token, track)
    one = await _statements(client, server, few.token)
    five = await _statements(client, server, many.token)
    assert one == five
    # caller, page + count, questions, responses (the owner is the primed caller row)
    assert five <= 6
