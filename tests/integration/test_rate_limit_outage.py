"""Rate limits while Redis is unreachable: a real client against a closed port, no mocks."""

from __future__ import annotations

from arq.connections import ArqRedis

from resolvers.rate_limit import RedisRateLimiter
from tests.support.stacks import free_port


async def test_limits_fall_back_to_this_process_while_redis_is_down() -> None:
    redis = ArqRedis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    limiter = RedisRateLimiter(redis, "outage")
    try:
        decisions = [await limiter.hit("login-fail", "ada@example.edu", 2, 60) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert not (await limiter.peek("login-fail", "ada@example.edu", 2, 60)).allowed
        await limiter.reset("login-fail", "ada@example.edu", 60)
        assert (await limiter.peek("login-fail", "ada@example.edu", 2, 60)).allowed
    finally:
        await redis.aclose()
