"""A webhook receiver for tests: a real HTTP server on loopback that records every request and
can be told to fail the first N."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.local_http import serving
from tests.support.stacks import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def about(self, assessment_id: str) -> list[Received]:
        import json

        return [
            r for r in self.requests if json.loads(r.body)["data"]["assessmentId"] == assessment_id
        ]

    async def wait_for(self, assessment_id: str, count: int, timeout: float = 30) -> list[Received]:
        for _ in range(int(timeout * 20)):
            found = self.about(assessment_id)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.about(assessment_id))} deliveries, wanted {count}")


@asynccontextmanager
async def receiver(fail_first: int = 0) -> AsyncIterator[Receiver]:
    state = Receiver(port=free_port(), fail_first=fail_first)

    async def hook(request: Request) -> Response:
        state.requests.append(Received(dict(request.headers), await request.body()))
        if len(state.requests) <= state.fail_first:
            return Response("try again", status_code=500)
        return Response("ok")

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with serving(app, state.port):
        yield state
