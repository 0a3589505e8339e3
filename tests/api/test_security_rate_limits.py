"""Issue 15, finding 2: the per-account failure limit holds under a concurrent burst (it is
reserved before the password check), for login and for deleteMyAccount."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests.support.client import LOGIN, GraphQLClient, register_and_login
from tests.support.stacks import Server, StackConfig

LIMIT = 5
BURST = 25
DELETE_ME = """mutation DeleteMe($password: String!) {
  deleteMyAccount(password: $password) { ok errors { code } } }"""


@pytest.fixture(scope="module")
async def limited(stack: StackConfig) -> AsyncIterator[GraphQLClient]:
    running = Server(stack.settings(login_failures_per_email=LIMIT), build_index=False)
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        yield client
    finally:
        await client.aclose()
        await running.stop()


async def test_a_concurrent_burst_of_wrong_logins_gets_at_most_the_limit_checked(
    limited: GraphQLClient,
) -> None:
    account = await register_and_login(limited)

    async def guess(n: int) -> str:
        body = await limited.data(LOGIN, {"input": {"email": account.email,
                                                    "password": f"wrong guess {n}"}})  # fmt: skip
        return str(body["login"]["errors"][0]["code"])

    codes = Counter(await asyncio.gather(*(guess(n) for n in range(BURST))))
    assert codes["INVALID_CREDENTIALS"] <= LIMIT, codes
    assert codes["INVALID_CREDENTIALS"] + codes["RATE_LIMITED"] == BURST, codes


async def test_a_concurrent_burst_of_wrong_delete_passwords_is_limited_too(
    limited: GraphQLClient,
) -> None:
    account = await register_and_login(limited)

    async def guess(n: int) -> str:
        body = await limited.data(DELETE_ME, {"password": f"wrong guess {n}"}, account.token)
        return str(body["deleteMyAccount"]["errors"][0]["code"])

    codes = Counter(await asyncio.gather(*(guess(n) for n in range(BURST))))
    assert codes["INVALID_CREDENTIALS"] <= LIMIT, codes
    assert codes["INVALID_CREDENTIALS"] + codes["RATE_LIMITED"] == BURST, codes
