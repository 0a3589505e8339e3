"""Fixed-window rate limits: in Redis when REDIS_URL is set (shared by every API process), in
memory otherwise. A window is `window` seconds long; `retry_after` is the wait until it ends."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        """Count one event and say whether it is within the limit."""

    async def peek(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        """Say whether one more event would be within the limit, without counting it."""

    async def reset(self, bucket: str, key: str, window: int) -> None: ...


def hashed(key: str) -> str:
    """Keys such as emails are personal data: store a digest, never the value."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _window(window: int, now: float) -> tuple[int, int]:
    index = int(now // window)
    retry_after = max(1, math.ceil((index + 1) * window - now))
    return index, retry_after


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}

    async def hit(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        index, retry_after = _window(window, time.time())
        self._forget_old(index, window)
        slot = (bucket, hashed(key), index)
        self._counts[slot] = self._counts.get(slot, 0) + 1
        count = self._counts[slot]
        return Decision(count <= limit, count, retry_after)

    async def peek(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        index, retry_after = _window(window, time.time())
        count = self._counts.get((bucket, hashed(key), index), 0)
        return Decision(count < limit, count, retry_after)

    async def reset(self, bucket: str, key: str, window: int) -> None:
        index, _ = _window(window, time.time())
        self._counts.pop((bucket, hashed(key), index), None)

    def _forget_old(self, index: int, window: int) -> None:
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if k[2] >= index}


class RedisRateLimiter:
    """Shared by every API process. While Redis is unreachable each process limits on its own
    (a per-process memory window): sign-in keeps working through a Redis restart (found by
    `make chaos`: it answered INTERNAL), and a burst of guesses is still bounded."""

    def __init__(self, redis: ArqRedis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._fallback = MemoryRateLimiter()

    def _key(self, bucket: str, key: str, index: int) -> str:
        return f"{self._namespace}:rl:{bucket}:{hashed(key)}:{index}"

    async def hit(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        index, retry_after = _window(window, time.time())
        redis_key = self._key(bucket, key, index)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, window + 1)
                count, _ = await pipe.execute()
        except UNREACHABLE:
            _warn_unreachable()
            return await self._fallback.hit(bucket, key, limit, window)
        return Decision(int(count) <= limit, int(count), retry_after)

    async def peek(self, bucket: str, key: str, limit: int, window: int) -> Decision:
        index, retry_after = _window(window, time.time())
        try:
            raw = await self._redis.get(self._key(bucket, key, index))
        except UNREACHABLE:
            _warn_unreachable()
            return await self._fallback.peek(bucket, key, limit, window)
        count = int(raw or 0)
        return Decision(count < limit, count, retry_after)

    async def reset(self, bucket: str, key: str, window: int) -> None:
        index, _ = _window(window, time.time())
        await self._fallback.reset(bucket, key, window)
        try:
            await self._redis.delete(self._key(bucket, key, index))
        except UNREACHABLE:
            _warn_unreachable()


UNREACHABLE = (RedisError, OSError)
_last_warning = [0.0]


def _warn_unreachable() -> None:
    """Once a minute at most: an outage must show in the log without flooding it."""
    now = time.monotonic()
    if now - _last_warning[0] > 60:
        _last_warning[0] = now
        log.warning("Redis unreachable: rate limits are per process until it is back")
