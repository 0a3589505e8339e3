"""The Strawberry ASGI view: builds the per-request context and authenticates websockets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from domain.errors import AccessDenied
from jobs.observability import request_id_var
from resolvers.context import Context


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def forget_id(self, id: str) -> None:
        # A client that leaves just as an operation completes has had the operation cleaned
        # up already; Strawberry's `del` then raises and logs a traceback for a normal event.
        self.operations.pop(id, None)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        app_state = request.app.state
        services = app_state.services
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            services=services,
            limiter=app_state.limiter,
            request_id=request_id_var.get() or "",
            release_reads=isinstance(request, WebSocket),
            # Shared with the request middleware, which writes the log line and metrics.
            notes=request.scope.setdefault("state", {}).setdefault("notes", {}),
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate at connection_init from {"Authorization": "Bearer <token>"}; a missing or
        bad token closes the socket with 4403 before any subscription starts."""
        if context.connection_params is None:
            context.connection_params = {}
        if not context.bearer_token():
            raise ConnectionRejectionError(
                {"reason": 'Send {"Authorization": "Bearer <accessToken>"} in connection_init.'}
            )
        try:
            caller = await context.caller()
        except AccessDenied as exc:
            raise ConnectionRejectionError({"reason": str(exc)}) from None
        assert caller is not None
        return None
