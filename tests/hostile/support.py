"""Assertions shared by the hostile-input tests: what a clean refusal looks like."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

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
