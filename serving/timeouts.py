"""Slow clients: a deadline for the request headers (in the HTTP protocol) and one for the body
(ASGI middleware).

uvicorn has no header timeout: a connection that sends half a request line and then nothing is
held until the client goes away (400 such connections were held 106 s in the review), and its
keep-alive timer is disarmed by the first byte of the next request. The headers never reach
the ASGI app, so the deadline has to live in the protocol: `HeaderTimeoutProtocol` extends
uvicorn's httptools protocol (what uvicorn picks by default with `uvicorn[standard]`) with a
timer armed when the connection opens and when a new request begins, and disarmed when its
headers are complete; when it fires the connection is closed (nothing has reached the app, so
there is nothing to answer). Idle time between keep-alive requests stays uvicorn's
`timeout_keep_alive`.

The body is read by the app, so its deadline is ASGI middleware: `BodyReadTimeoutMiddleware`
counts from the moment the headers are in, and if the body is not complete by then the request
is answered 408 with a JSON error (code REQUEST_TIMEOUT) and the connection closed. The app never
sees the body, so the operation does not run.
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header read deadline (see the module docstring).
    Use `header_timeout_protocol(seconds)` to get a class with the deadline set."""

    header_timeout_seconds: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        # Armed once per request: a request that began at connection time keeps the deadline
        # counted from the connection, not from its first byte.
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.header_timeout_seconds, self._header_timeout
            )

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        # After a websocket upgrade the transport belongs to the websocket protocol.
        if self.transport.get_protocol() is self and not self.transport.is_closing():
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for uvicorn.Config(http=...), with the deadline set."""
    return type(
        "HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_seconds": seconds}
    )


class _BodyReadTimeout(Exception):
    pass


class BodyReadTimeoutMiddleware:
    """408 when the request body is not complete `seconds` after the app was called (that is,
    after the headers). Only the body is timed: once it is complete, receive() is passed
    through untouched (a streaming response waits on it for the disconnect)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_complete = False
        response_started = False

        async def timed_receive() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyReadTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except _BodyReadTimeout:
            if response_started:
                raise
            await self._timed_out(scope, receive, send)

    async def _timed_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": (
                            f"The request body was not received within {self.seconds:g} "
                            "seconds; the request was not run."
                        ),
                        "extensions": {"code": "REQUEST_TIMEOUT"},
                    }
                ]
            },
            status_code=408,
            # The rest of the body may still arrive: this connection cannot carry another
            # request.
            headers={"connection": "close"},
        )
        await response(scope, receive, send)
