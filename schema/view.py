"""The Strawberry ASGI view: builds the per-request context and authenticates websockets."""

from __future__ import annotations

import json
import re
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message as TransportMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage, StartMessage

from domain.errors import AccessDenied
from jobs.observability import request_id_var
from resolvers.context import CLOSE_UNAUTHENTICATED, Context


async def _admit_operation(context: Context) -> bool:
    """Each operation over a socket re-resolves its caller as an HTTP request does; a token
    that expired or an account that is gone closes the socket (4401) with the reason. Clients
    renew by reconnecting with a fresh token."""
    context.begin_operation()
    try:
        caller = await context.caller()
    except AccessDenied as exc:
        await context.end_session(CLOSE_UNAUTHENTICATED, str(exc))
        return False
    if caller is None:
        await context.end_session(CLOSE_UNAUTHENTICATED, "Sign in first.")
        return False
    return True


def _closed(context: Context) -> bool:
    socket = context.request
    return isinstance(socket, WebSocket) and socket.application_state is WebSocketState.DISCONNECTED


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def forget_id(self, id: str) -> None:
        # A client that leaves just as an operation completes has had the operation cleaned
        # up already; Strawberry's `del` then raises and logs a traceback for a normal event.
        self.operations.pop(id, None)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not await _admit_operation(self.context):
            return
        await super().handle_subscribe(message)

    async def send_message(self, message: TransportMessage) -> None:
        # After Context.end_session closed the socket, the operations still finishing have
        # nobody to tell (and a send would raise).
        if not _closed(self.context):
            await super().send_message(message)


class _LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged and not await _admit_operation(self.context):
            return
        await super().handle_start(message)

    async def send_message(self, message: OperationMessage) -> None:
        if not _closed(self.context):
            await super().send_message(message)


# A JSON escape of a UTF-16 surrogate (paired or not): only then can a decoded string hold a lone
# surrogate, which no database driver can encode.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _NotJSON(json.JSONDecodeError):
    """Input json.loads fails on with something other than JSONDecodeError. Raised as one, so
    Strawberry's websocket handlers close the socket (4400) as for any bad message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason


def _loads(data: str | bytes) -> object:
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError:
        raise _NotJSON("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise _NotJSON("The JSON is nested too deeply.") from None
    except ValueError:  # sys.int_info.default_max_str_digits
        raise _NotJSON("A number in the JSON has too many digits.") from None


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler
    # The IDE page the composition root gives (GraphiQL on the service's own assets, see
    # static/graphiql.py); None keeps Strawberry's, which loads its assets from a CDN.
    ide_page: str | None = None

    # Browser origins allowed beside allowed_origins (settings.cors_allowed_origin_pattern).
    allowed_origin_pattern: str | None = None

    @property
    def graphql_ide_html(self) -> str:
        return self.ide_page or super().graphql_ide_html

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        if super().is_websocket_origin_allowed(request, origin):
            return True
        pattern = self.allowed_origin_pattern
        return pattern is not None and re.fullmatch(pattern, origin) is not None

    def decode_json(self, data: str | bytes) -> object:
        return _loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """An HTTP body (or GET variables): every way a hostile one can break decoding is a 400
        that says what is wrong.

        Strawberry turns only JSONDecodeError into a 400; bytes that are not UTF-8, nesting deeper
        than the recursion limit, integers of more than 4300 digits, a body that is not an object
        (`"x"`, `1`, `null`: Strawberry then calls `.get` on it) and lone surrogates ("\\ud800",
        which reach a resolver as a str no database can store) were each a 500."""
        try:
            decoded = _loads(data)
        except _NotJSON as exc:
            raise HTTPException(400, exc.reason) from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(decoded, (dict, list)):
            raise HTTPException(400, "Expected a JSON object.")
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if _SURROGATE_ESCAPE.search(raw):
            try:
                json.dumps(decoded, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise HTTPException(
                    400, "The JSON holds a lone UTF-16 surrogate (\\ud800-\\udfff)."
                ) from None
            except RecursionError:
                raise HTTPException(400, "The JSON is nested too deeply.") from None
        return decoded

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
            cache_callers=not isinstance(request, WebSocket),
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
