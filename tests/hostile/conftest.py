"""Fixtures of the hostile-input tests.

`quiet_server` is an app on a database of its own: fuzzed mutations run there as an admin
(they may create questions, credentials or forms that other tests must never see), and with no
other test writing to it, "nothing was saved" can be proved by plain row counts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.client import Account, GraphQLClient, register_and_login
from tests.support.stacks import Server, StackConfig, provision


@pytest.fixture(scope="session")
async def quiet_server(
    stack: StackConfig, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    async with provision(stack.name, tmp_path_factory.mktemp(f"quiet-{stack.name}")) as own:
        # No arq worker beside it: jobs a fuzzed mutation enqueues stay queued, which is all
        # these tests need (they prove what a request saves, not what the pipeline does).
        running = Server(own.settings(), build_index=False)
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


@pytest.fixture(scope="session")
async def quiet_client(quiet_server: Server) -> AsyncIterator[GraphQLClient]:
    graphql = GraphQLClient(quiet_server.base_url)
    try:
        yield graphql
    finally:
        await graphql.aclose()


@pytest.fixture(scope="session")
async def quiet_student(quiet_client: GraphQLClient) -> Account:
    return await register_and_login(quiet_client)


@pytest.fixture(scope="session")
async def quiet_admin(quiet_client: GraphQLClient) -> Account:
    return await register_and_login(quiet_client, role="ADMIN")
