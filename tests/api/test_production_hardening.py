"""Production mode tells a prober nothing it did not know, and guards /metrics (issue 15,
finding 9).

- graphql-core appends "Did you mean ...?" to validation and coercion errors; Strawberry's
  switch removed it for unknown fields only, so production still listed argument names, enum
  values, input fields and type names. Now no error carries a suggestion, over HTTP or a
  websocket; development keeps them (they help people writing queries).
- /metrics was open to anyone. With METRICS_TOKEN it needs `Authorization: Bearer <token>`;
  production without a token does not serve it (404).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.client import GraphQLClient, register_and_login
from tests.support.stacks import Server, StackConfig
from tests.support.ws import connect

STRONG_JWT_SECRET = secrets.token_hex(32)
METRICS_TOKEN = secrets.token_urlsafe(32)
CREATE = """mutation($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { errors { code } } }"""

# Each misspells one name that has a near neighbour graphql-core would suggest.
PROBES: list[tuple[str, str, dict[str, Any]]] = [
    ("unknown field", "{ mee { id } }", {}),
    ("unknown argument", "{ analytics(dayz: 30) { __typename } }", {}),
    ("unknown type", "query Q($i: WebhookEndpointInpt!) { __typename }", {}),
    (
        "unknown enum value (literal)",
        'mutation { createWebhookEndpoint(input: {url: "https://example.edu/h", '
        "events: [ASSESSMENT_COMPLETD]}) { errors { code } } }",
        {},
    ),
    (
        "unknown input field (literal)",
        'mutation { createWebhookEndpoint(input: {url: "https://example.edu/h", '
        "evnts: [ASSESSMENT_COMPLETED]}) { errors { code } } }",
        {},
    ),
    (
        "unknown enum value (variable)",
        CREATE,
        {"input": {"url": "https://example.edu/h", "events": ["ASSESSMENT_COMPLETD"]}},
    ),
    (
        "unknown input field (variable)",
        CREATE,
        {"input": {"url": "https://example.edu/h", "evnts": ["ASSESSMENT_COMPLETED"]}},
    ),
]


def _production(stack: StackConfig, **overrides: Any) -> Server:
    settings = stack.settings(
        app_env="production", jwt_secret=STRONG_JWT_SECRET, bcrypt_rounds=12, **overrides
    )
    return Server(settings, build_index=False)


@pytest.fixture(scope="module")
async def production(stack: StackConfig) -> AsyncIterator[tuple[Server, GraphQLClient]]:
    running = _production(stack, metrics_token=METRICS_TOKEN)
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        yield running, client
    finally:
        await client.aclose()
        await running.stop()


async def _messages(client: GraphQLClient, query: str, variables: dict[str, Any]) -> list[str]:
    response = await client.post(query, variables)
    body = response.json()
    assert body.get("errors"), (query, body)
    return [str(e["message"]) for e in body["errors"]]


async def test_production_errors_carry_no_suggestions(
    production: tuple[Server, GraphQLClient],
) -> None:
    _, client = production
    for what, query, variables in PROBES:
        response = await client.post(query, variables)
        assert "Did you mean" not in response.text, (what, response.text)
        errors = response.json()["errors"]
        assert errors, what
        assert all(e["extensions"]["code"] == "VALIDATION_ERROR" for e in errors), what
        assert all(not e["message"].endswith(" ") for e in errors)


async def test_production_websocket_errors_carry_no_suggestions(
    production: tuple[Server, GraphQLClient],
) -> None:
    server, client = production
    student = await register_and_login(client)
    async with connect(server.ws_url, student.token) as socket:
        received = await socket.events(
            'subscription { assessmentProgres(assessmentId: "x") { status } }', {}, timeout=10
        )
    assert received
    assert "errors" in received[0]
    assert "Did you mean" not in json.dumps(received)


async def test_development_keeps_its_suggestions(client: GraphQLClient) -> None:
    """The same probes on the development server: the hints are still there."""
    suggested = [
        what
        for what, query, variables in PROBES
        if any("Did you mean" in m for m in await _messages(client, query, variables))
    ]
    # At least every kind Strawberry's own switch (field names only) left in production.
    assert set(suggested) >= {what for what, _, _ in PROBES if what != "unknown field"}


async def test_metrics_need_the_bearer_token(production: tuple[Server, GraphQLClient]) -> None:
    _, client = production
    assert (await client.http.get("/metrics")).status_code == 401
    for wrong in ("Bearer nope", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"):
        response = await client.http.get("/metrics", headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert "graphql_requests" not in response.text
    allowed = await client.http.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert allowed.status_code == 200
    assert "# TYPE" in allowed.text


async def test_production_without_a_token_serves_no_metrics(stack: StackConfig) -> None:
    running = _production(stack)
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        response = await client.http.get("/metrics")
        assert response.status_code == 404
        assert "# TYPE" not in response.text
        assert (await client.http.get("/healthz")).status_code == 200
    finally:
        await client.aclose()
        await running.stop()
