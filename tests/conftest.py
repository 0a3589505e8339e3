"""Fixtures shared by the whole suite. Integration and API tests run once per stack."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.support.client import GraphQLClient
from tests.support.stacks import Server, StackConfig, provision, selected_stacks
from tests.support.worker import running_worker

os.environ.setdefault("APP_ENV", "development")


@pytest.fixture(scope="session", params=selected_stacks())
async def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StackConfig]:
    async with provision(request.param, tmp_path_factory.mktemp(request.param)) as config:
        yield config


@pytest.fixture(scope="session")
async def server(stack: StackConfig) -> AsyncIterator[Server]:
    """The app under uvicorn; on the PostgreSQL stack with a real arq worker beside it (the
    SQLite stack runs jobs in-process, as `make run` does)."""
    settings = stack.settings()
    running = Server(settings)
    await running.start()
    try:
        if settings.redis_url:
            async with running_worker(settings) as worker:
                running.worker = worker
                yield running
        else:
            yield running
    finally:
        await running.stop()


@pytest.fixture(scope="session")
async def client(server: Server) -> AsyncIterator[GraphQLClient]:
    graphql = GraphQLClient(server.base_url)
    try:
        yield graphql
    finally:
        await graphql.aclose()
