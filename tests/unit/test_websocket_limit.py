"""The request middleware's own websocket message limit (app.RequestMiddleware), for servers
other than the one app.uvicorn_config sets up (whose ws_max_size refuses first; that path is
tested in tests/api/test_security_network.py)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from app import RequestMiddleware


async def _run(message: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    incoming = [{"type": "websocket.connect"}, message]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())
        await send({"type": "websocket.close", "code": 1000})

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(out: MutableMapping[str, Any]) -> None:
        sent.append(dict(out))

    scope = {"type": "websocket", "path": "/graphql", "headers": [], "client": ("1.2.3.4", 5)}
    await RequestMiddleware(app, max_body_bytes=1024)(scope, receive, send)
    return seen, sent


async def test_an_oversized_message_closes_1009_and_never_reaches_the_app() -> None:
    seen, sent = await _run({"type": "websocket.receive", "text": "é" * 600})  # 1200 bytes
    assert seen == [{"type": "websocket.disconnect", "code": 1009}]
    assert [m for m in sent if m["type"] == "websocket.close"] == [
        {"type": "websocket.close", "code": 1009, "reason": "Message too big."}
    ]


async def test_a_message_within_the_limit_is_passed_on() -> None:
    message = {"type": "websocket.receive", "bytes": b"x" * 1024}
    seen, sent = await _run(message)
    assert seen == [message]
    assert sent[-1] == {"type": "websocket.close", "code": 1000}
