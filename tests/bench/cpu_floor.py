"""The floors `make bench-cpu` measures the service against, served by uvicorn like the service:
a bare Starlette JSON endpoint (the least this stack can do per request) and a stock Strawberry
schema with Strawberry's own ASGI app (what `{ __typename }` costs before any of our code)."""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from strawberry.asgi import GraphQL


async def _healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def _json(_: Request) -> JSONResponse:
    return JSONResponse({"data": {"__typename": "Query"}})


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


bare_app = Starlette(routes=[Route("/healthz", _healthz), Route("/json", _json, methods=["POST"])])

stock_strawberry_app = Starlette(
    routes=[
        Route("/healthz", _healthz),
        Mount("/graphql", GraphQL(strawberry.Schema(query=_Query))),
    ]
)
