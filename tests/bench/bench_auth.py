"""Issue 2: with 20 clients logging in continuously, `me` stays fast (bcrypt never blocks the
event loop). Prints login throughput and `me` p50/p95 beside a bare `{ __typename }` query
measured in the same run, against uvicorn + PostgreSQL + Redis with bcrypt at cost 12."""

from __future__ import annotations

import asyncio
import time

from tests.bench.harness import (
    Samples,
    client,
    gql,
    header,
    loop_until,
    ok,
    paced,
    server_env,
    server_process,
    timed,
)
from tests.support.client import LOGIN, PASSWORD, REGISTER
from tests.support.stacks import StackConfig

LOGIN_CLIENTS = 20
DURATION_SECONDS = 20.0


async def run(stack: StackConfig) -> None:
    header("auth: 20 clients logging in continuously (bcrypt cost 12)")
    env = server_env(stack, BCRYPT_ROUNDS="12")
    async with server_process(env) as base, client(base) as http:
        emails = [f"bench-{i}-{time.time_ns()}@example.edu" for i in range(LOGIN_CLIENTS)]
        for email in emails:
            body = await gql(http, REGISTER, {"input": {"email": email, "password": PASSWORD}})
            assert ok(body), body
        token = (await gql(http, LOGIN, {"input": {"email": emails[0], "password": PASSWORD}}))[
            "data"
        ]["login"]["accessToken"]

        async def me() -> bool:
            return ok(await gql(http, "{ me { id } }", token=token))

        async def typename() -> bool:
            return ok(await gql(http, "{ __typename }"))

        # Idle figures first: one client at a time, each query on its own.
        idle_bare = Samples("__typename (idle, 1 client)")
        await loop_until(time.perf_counter() + 4, idle_bare, typename)
        idle_bare.stop()
        idle_me = Samples("me (idle, 1 client)")
        await loop_until(time.perf_counter() + 4, idle_me, me)
        idle_me.stop()

        logins = Samples("login (20 clients)")
        me_samples = Samples("me (under login load)")
        bare = Samples("__typename (under load)")
        deadline = time.perf_counter() + DURATION_SECONDS

        async def login_loop(email: str) -> None:
            async def call() -> bool:
                return ok(await gql(http, LOGIN, {"input": {"email": email, "password": PASSWORD}}))

            while time.perf_counter() < deadline:
                await timed(logins, call)

        await asyncio.gather(
            *(login_loop(e) for e in emails),
            # Probes at 20 per second each: they measure latency without adding load.
            paced(deadline, me_samples, me, 0.05),
            paced(deadline, bare, typename, 0.05),
        )
        for s in (logins, me_samples, bare):
            s.stop()
        for s in (idle_bare, idle_me, logins, me_samples, bare):
            print(s.row())
        print(
            f"me p95 under login load: {me_samples.pct(95):.1f} ms (target < 50 ms); "
            f"bare query p95 in the same run: {bare.pct(95):.1f} ms"
        )
