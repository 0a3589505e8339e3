"""A minimal GraphQL websocket client for both protocols: graphql-transport-ws (current) and
graphql-ws (the legacy subscriptions-transport-ws)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Subscription:
    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol

    async def _receive(self, deadline: float) -> dict[str, Any]:
        """The next message that is not a keep-alive, by `deadline` (loop time). A deadline,
        not a per-message timeout: the server's keep-alive pings every 15 s would otherwise
        reset the wait for ever (a subscription that never completed hung the suite)."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("the subscription sent nothing but keep-alives in time")
            raw = await asyncio.wait_for(self.connection.recv(), remaining)
            message = json.loads(raw)
            if message.get("type") in ("ka", "ping", "pong"):
                if message["type"] == "ping":
                    await self.connection.send(json.dumps({"type": "pong"}))
                continue
            return message  # type: ignore[no-any-return]

    async def events(
        self,
        query: str,
        variables: dict[str, Any],
        timeout: float = 30,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Subscribe and collect every payload until the server completes the operation, or
        until `limit` payloads arrived; all within `timeout` seconds."""
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        data = "next" if self.protocol == TRANSPORT_WS else "data"
        await self.connection.send(
            json.dumps({"id": "1", "type": start,
                        "payload": {"query": query, "variables": variables}})
        )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + timeout
        received: list[dict[str, Any]] = []
        while True:
            message = await self._receive(deadline)
            if message["type"] == data:
                received.append(message["payload"])
                if limit is not None and len(received) >= limit:
                    return received
            elif message["type"] == "complete":
                return received
            elif message["type"] == "error":
                received.append({"errors": message["payload"]})
                return received


@asynccontextmanager
async def connect(
    url: str, token: str | None, protocol: str = TRANSPORT_WS, key: str = "Authorization"
) -> AsyncIterator[Subscription]:
    async with websockets.connect(url, subprotocols=[protocol]) as connection:  # type: ignore[list-item]
        payload = {key: f"Bearer {token}"} if token else {}
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield Subscription(connection, protocol)
