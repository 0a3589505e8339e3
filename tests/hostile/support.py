"""Assertions shared by the hostile-input tests: what a clean refusal looks like."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import graphql
import httpx
import strawberry

from tests.support.db import scalar
from tests.support.stacks import Server

# Tables only requests write (the pipeline writes jobs, scores, stages...): on the quiet server
# their row counts move only when a request saves something.
REQUEST_TABLES = (
    "users",
    "refresh_tokens",
    "advisor_assignments",
    "questions",
    "assessment_forms",
    "credentials",
    "assessments",
    "assessment_questions",
    "responses",
    "recommendation_feedback",
    "webhook_endpoints",
    "audit_events",
    "jobs",
)


def error_codes(body: dict[str, Any]) -> list[str]:
    """extensions.code of every GraphQL error, plus the code of every payload `errors` entry."""
    codes = [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            codes += [str(e.get("code")) for e in payload["errors"]]
    return codes


def assert_handled(response: httpx.Response, context: object = "") -> dict[str, Any] | None:
    """Never a 500, never INTERNAL, and every GraphQL error carries a code. Returns the JSON
    body when there is one."""
    assert response.status_code != 500, (context, response.text[:500])
    assert response.status_code < 500, (context, response.status_code, response.text[:500])
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        assert response.status_code >= 400, (context, response.text[:500])
        return None
    if not isinstance(body, dict):
        return None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, (context, error)
        assert code != "INTERNAL", (context, error)
    return body


def assert_refused(response: httpx.Response, context: object = "") -> dict[str, Any] | None:
    """Handled as above, and visibly refused: a 4xx or at least one error code."""
    body = assert_handled(response, context)
    if response.status_code >= 400:
        return body
    assert body is not None, context
    assert error_codes(body), (context, body)
    return body


def graphql_body(query: str, variables: object = None, operation_name: str | None = None) -> bytes:
    """A request body as bytes, encoded by json.dumps: it escapes lone surrogates ("\\ud800")
    where httpx's own encoder would fail on them."""
    document: dict[str, Any] = {"query": query}
    if variables is not None:
        document["variables"] = variables
    if operation_name is not None:
        document["operationName"] = operation_name
    return json.dumps(document).encode()


async def post_raw(
    http: httpx.AsyncClient, body: bytes, token: str | None = None, **headers: str
) -> httpx.Response:
    sent = {"content-type": "application/json", **headers}
    if token:
        sent["authorization"] = f"Bearer {token}"
    return await http.post("/graphql", content=body, headers=sent)


async def row_counts(server: Server, tables: tuple[str, ...] = REQUEST_TABLES) -> dict[str, int]:
    return {t: int(await scalar(server, f"SELECT count(*) FROM {t}")) for t in tables}  # noqa: S608


async def raw_http(
    port: int, request: bytes, half_close: bool = False, timeout: float = 5.0
) -> bytes:
    """Bytes on a plain socket, for what an HTTP client library refuses to send (a lying
    Content-Length, two of them, a bad chunk size). Returns what the server answered, b"" when
    it closed without answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        if half_close:
            writer.write_eof()
        async with asyncio.timeout(timeout):
            return await reader.read(-1) if half_close else await reader.read(65536)
    finally:
        writer.close()


def status_of(raw: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 answer (None when there was none)."""
    if not raw.startswith(b"HTTP/1.1 "):
        return None
    return int(raw.split(b" ", 2)[1])


def _package_dir(module: ModuleType) -> str:
    return str(Path(module.__file__ or "").parent) + os.sep


# Where the work of answering a document happens: the parser, validation and execution
# (graphql-core), Strawberry's extensions and view, and this service's schema/ limits.
GRAPHQL_CODE = (
    _package_dir(graphql),
    _package_dir(strawberry),
    str(Path(__file__).resolve().parents[2] / "schema") + os.sep,
)


class WorkMeter:
    """Counts the function calls GraphQL code makes (GRAPHQL_CODE) in this thread while it is
    active. The server runs in the test's event loop, so this is the work one request costs
    it: the same on an idle or a loaded machine, unlike a stopwatch, and blind to the client and
    to background tasks (the sweeper, a pipeline job still running) that share the loop. A
    limit checked after the expensive work shows as millions of calls."""

    def __init__(self) -> None:
        self.calls = 0

    def _profile(self, frame: FrameType, event: str, arg: object) -> None:
        # c_call: a builtin called from GraphQL code (the frame is the caller's).
        if event in ("call", "c_call") and frame.f_code.co_filename.startswith(GRAPHQL_CODE):
            self.calls += 1

    def __enter__(self) -> WorkMeter:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)
