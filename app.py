"""Composition root: settings -> Starlette app serving /graphql (HTTP + websockets), /healthz,
/readyz and /metrics. The lifespan opens and closes every long-lived client.

Run with `python -m app` (make run): it serves with `uvicorn_config`, which the tests use too.
A bare `uvicorn app:create_app --factory` lacks the header timeout and the websocket message
limit and trusts X-Forwarded-For from loopback (uvicorn's defaults); see README "Security notes".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobs.observability import configure_logging, metrics, prometheus_text, request_id_var
from jobs.rag_index import ensure_index_current
from jobs.services import Services, open_services
from jobs.sweeper import run_periodically
from resolvers.ops import dependency_states
from resolvers.rate_limit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from schema.build import build_schema
from schema.view import GraphQLView
from serving.forwarded import ForwardedHeadersMiddleware
from serving.timeouts import BodyReadTimeoutMiddleware, header_timeout_protocol
from settings import Settings, load_settings
from static import graphiql as graphiql_assets

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("app")
access_log = logging.getLogger("app.request")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Client-chosen operation names become metric labels: keep the set of label values bounded.
_MAX_OPERATION_LABELS = 300


class RequestMiddleware:
    """Request id (echoed if the client sent a sane one), body size limit, one structured log
    line and the request metrics for every HTTP request, and one log line per websocket."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._operations: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        # The GraphQL context writes the operation, user and outcome here for the log line.
        state["notes"] = {}
        try:
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
                return
            await self._http(scope, receive, send, headers, request_id)
        finally:
            request_id_var.reset(token)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], request_id: str
    ) -> None:
        started = time.perf_counter()
        status = 500
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send, request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send, request_id)
            status = 413
        except ClientDisconnect:
            # The client left before its body was complete (a Content-Length larger than what
            # it sent, a dropped upload): nobody is left to answer, and it is not a server
            # error, so no traceback and no 500 in the log line and metrics. 499 as in nginx.
            status = 499
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One log line per websocket session when it ends: who (set at connection_init), the
        last operation it ran, and the close code with the side that closed (4403: refused at
        connection_init, 4400: a bad message, 1000/1001: a normal end)."""
        started = time.perf_counter()
        closed: dict[str, Any] = {}

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive" and (
                _websocket_message_bytes(message) > self.max_body_bytes
            ):
                # uvicorn refuses such a message before it reaches us (ws_max_size in
                # uvicorn_config); this keeps the limit under any other server. The app gets a
                # disconnect instead of the message, so it never runs it.
                await watched_send(
                    {"type": "websocket.close", "code": 1009, "reason": "Message too big."}
                )
                message = {"type": "websocket.disconnect", "code": 1009}
            if message["type"] == "websocket.disconnect" and not closed:
                closed.update(code=message.get("code", 1005), by="client")
            return message

        async def watched_send(message: Message) -> None:
            if closed.get("by") == "server" and message["type"] in (
                "websocket.send",
                "websocket.close",
            ):
                return  # closed already (an oversized message): the app's own close is moot
            if message["type"] == "websocket.close" and not closed:
                closed.update(code=message.get("code", 1000), by="server")
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            notes: dict[str, Any] = scope.get("state", {}).get("notes") or {}
            access_log.info(
                "websocket session",
                extra={
                    "path": scope.get("path", ""),
                    "user_id": notes.get("user_id"),
                    "operation": notes.get("operation"),
                    "close_code": closed.get("code"),
                    "closed_by": closed.get("by"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"Request body larger than {self.max_body_bytes} bytes.",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                    }
                ]
            },
            status_code=413,
            headers={"x-request-id": rid},
        )
        await response(scope, receive, send)

    def _record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        notes: dict[str, Any] = scope.get("state", {}).get("notes") or {}
        path = scope.get("path", "")
        if path == "/graphql":
            operation = self._operation_label(str(notes.get("operation") or "none"))
            outcome = str(notes.get("outcome") or ("ok" if status < 400 else "error"))
            labels = {"operation": operation, "outcome": outcome}
            metrics().graphql_requests.add(1, labels)
            metrics().graphql_duration.record(seconds, labels)
        if path in ("/healthz", "/metrics", "/readyz") and status < 400:
            return  # probes would drown the log
        access_log.info(
            "request",
            extra={
                "method": scope.get("method"),
                "path": path,
                "status": status,
                "operation": notes.get("operation"),
                "user_id": notes.get("user_id"),
                "outcome": notes.get("outcome") or ("ok" if status < 400 else "error"),
                "duration_ms": round(seconds * 1000, 2),
            },
        )

    def _operation_label(self, name: str) -> str:
        if name in self._operations:
            return name
        if len(self._operations) >= _MAX_OPERATION_LABELS or len(name) > 80:
            return "other"
        self._operations.add(name)
        return name


class _BodyTooLarge(Exception):
    pass


def _websocket_message_bytes(message: Message) -> int:
    text = message.get("text")
    if text is not None:
        return len(text.encode())
    return len(message.get("bytes") or b"")


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        states = await asyncio.wait_for(dependency_states(services), timeout=5)
    except TimeoutError:
        states = {"db": "down", "redis": "down", "chroma": "down"}
    # Chroma being down degrades recommendations (the catalog lookup stands in) but loses no
    # work, so it is reported without taking the API out of rotation.
    ready = states["db"] != "down" and states["redis"] != "down"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **states}, status_code=200 if ready else 503
    )


async def metrics_endpoint(request: Request) -> Response:
    """METRICS_TOKEN set: a scraper sends `Authorization: Bearer <token>`. Unset: open in
    development, not served at all in production (404, as if there were no such route), since
    the metrics name operations, users' activity levels and the LLM spend."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None and settings.is_production:
        return PlainTextResponse("Not Found", status_code=404)
    if token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), token.encode()
        ):
            return PlainTextResponse(
                "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
    # A plain route: prometheus_client's ASGI app answers with a redirect when mounted.
    return PlainTextResponse(prometheus_text(), media_type="text/plain; version=0.0.4")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    metrics()
    graphql = GraphQLView(
        build_schema(settings),
        graphql_ide="graphiql",
        allowed_origins=settings.cors_allowed_origins,
        keep_alive=True,
        keep_alive_interval=15,
    )
    graphql.ide_page = graphiql_assets.page_html()  # offline: assets from static/graphiql
    graphql.allowed_origin_pattern = settings.cors_allowed_origin_pattern

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            limiter: RateLimiter = (
                RedisRateLimiter(services.redis, settings.redis_namespace)
                if services.redis is not None
                else MemoryRateLimiter()
            )
            app.state.limiter = limiter
            periodic = asyncio.create_task(
                run_periodically(services, full_sweep=services.redis is None), name="sweeper"
            )
            # A fresh database (make run seeds it) has an empty vector index: ask for a build
            # now rather than at the first sweep.
            with contextlib.suppress(Exception):
                await ensure_index_current(services)
            log.info(
                "started",
                extra={
                    "env": settings.app_env,
                    "database": settings.database_url.split("://", 1)[0],
                    "redis": bool(settings.redis_url),
                },
            )
            try:
                yield
            finally:
                periodic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await periodic
        log.info("stopped")

    middleware = [
        # Outermost: everything inside sees the client address it resolves.
        Middleware(ForwardedHeadersMiddleware, trusted=settings.forwarded_allow_ips),
        Middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes),
        Middleware(BodyReadTimeoutMiddleware, seconds=settings.body_read_timeout_seconds),
    ]
    if settings.cors_allowed_origins or settings.cors_allowed_origin_pattern:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_origin_regex=settings.cors_allowed_origin_pattern,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id", "retry-after"],
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Mount(graphiql_assets.URL_PREFIX, StaticFiles(directory=graphiql_assets.DIRECTORY)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def _print_development_codes(settings: Settings) -> None:
    """The invite codes of a development server, for the README's advisor and admin recipes
    (generated once and kept under VAR_DIR, like the JWT secret)."""
    codes = (("ADMIN", settings.admin_invite_code), ("ADVISOR", settings.advisor_invite_code))
    print(f"Development invite codes (kept in {settings.var_dir}/):")
    for role, code in codes:
        if code is not None:
            print(f"  {role:<8} {code.get_secret_value()}")


def uvicorn_config(
    app: ASGIApp, settings: Settings, *, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    """How the app is served, the same for `python -m app` and the tests' server (which pass
    their own host and port)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host if host is None else host,
        port=settings.port if port is None else port,
        log_config=None,
        lifespan="on",
        # Forwarded headers are read by serving.forwarded with FORWARDED_ALLOW_IPS; uvicorn's
        # own middleware would trust 127.0.0.1 and ::1 by default.
        proxy_headers=False,
        forwarded_allow_ips=[],
        # uvicorn has no header timeout: its httptools protocol with one (serving.timeouts).
        http=header_timeout_protocol(settings.header_read_timeout_seconds),
        # Named rather than "auto" (which picks it today): the message limit below is enforced
        # by this implementation, closing with 1009.
        ws="websockets-sansio",
        # A websocket message may be no larger than an HTTP body (uvicorn's default: 16 MiB).
        ws_max_size=settings.max_body_bytes,
        # Longer than uvicorn's 5 s default, so clients and proxies that reuse connections
        # (most keep them 15-60 s) rarely race a server-side close.
        timeout_keep_alive=30,
    )


def main() -> None:
    import uvicorn

    settings = load_settings()
    if not settings.is_production:
        _print_development_codes(settings)
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    server.run()
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run: startup failed (the error is in the log)


if __name__ == "__main__":
    main()
