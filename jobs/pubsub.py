"""Progress events: published by whoever runs a stage, delivered to every websocket watching.

One Redis pub/sub connection per process (RedisHub), shared by all local subscribers through
per-subscriber queues, so 500 watchers cost one Redis connection; an in-memory hub for the
embedded default. Subscribing is a context manager: leaving it always unsubscribes.

Redis drops a message published while nobody listens, so subscribers start from the stored
state and use events only to learn of changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

QUEUE_SIZE = 64


class Hub(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any:
        """An async context manager yielding an asyncio.Queue of messages."""

    @property
    def subscriber_count(self) -> int: ...

    async def close(self) -> None: ...


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    """Progress messages are snapshots: when a slow subscriber's queue is full, the oldest can
    go, the newest must stay."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(message)


class MemoryHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            _offer(queue, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[channel].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def close(self) -> None:
        self._subscribers.clear()


class RedisHub:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, json.dumps(message, default=str))

    async def _ensure_reader(self) -> None:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="pubsub-reader")

    async def _read(self) -> None:
        backoff = 0.5
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis went away: wait and resubscribe every channel we still serve.
                log.warning("pub/sub connection lost; resubscribing", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            try:
                payload = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            for queue in list(self._subscribers.get(channel, ())):
                _offer(queue, payload)

    async def _resubscribe(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            channels = [c for c, subs in self._subscribers.items() if subs]
            if channels:
                with contextlib.suppress(Exception):
                    await self._pubsub.subscribe(*channels)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        async with self._lock:
            await self._ensure_reader()
            first = not self._subscribers[channel]
            self._subscribers[channel].add(queue)
            if first:
                await self._pubsub.subscribe(channel)
        try:
            yield queue
        finally:
            async with self._lock:
                self._subscribers[channel].discard(queue)
                if not self._subscribers[channel]:
                    del self._subscribers[channel]
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(channel)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
