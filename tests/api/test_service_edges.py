"""Request ids, error masking, query limits, body limit, rate limits, probes and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.client import LOGIN, PASSWORD, REGISTER, GraphQLClient, unique_email
from tests.support.db import audit_actions, scalar
from tests.support.stacks import Server, StackConfig


async def test_every_response_carries_a_request_id(client: GraphQLClient) -> None:
    fresh = await client.post("{ __typename }")
    assert len(fresh.headers["x-request-id"]) >= 16
    echoed = await client.post("{ __typename }", headers={"X-Request-ID": "client-req-42"})
    assert echoed.headers["x-request-id"] == "client-req-42"
    # A hostile id (newlines, huge) is replaced, not echoed into logs and headers.
    hostile = await client.post("{ __typename }", headers={"X-Request-ID": "a" * 500})
    assert hostile.headers["x-request-id"] != "a" * 500
    health = await client.http.get("/healthz")
    assert health.headers["x-request-id"]


async def test_unexpected_failures_are_masked_with_the_request_id(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers import ops

    async def broken(_: object) -> dict[str, str]:
        raise RuntimeError("secret internals: connection string postgres://user:pw@host")

    monkeypatch.setattr(ops, "dependency_states", broken)
    response = await client.post("{ health { api } }", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Internal server error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["health"],
            "extensions": {"code": "INTERNAL", "requestId": "trace-me-1"},
        }
    ]
    assert "secret" not in response.text


async def test_documents_that_are_invalid_get_validation_codes(client: GraphQLClient) -> None:
    syntax = await client.gql("{ health { api ")
    assert syntax["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    unknown = await client.gql("{ nope }")
    assert unknown["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    bad_variable = await client.gql(LOGIN, {"input": {"email": 5}})
    assert bad_variable["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_alias_and_token_floods_are_refused(client: GraphQLClient) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    body = await client.gql(f"{{ {aliases} }}")
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "alias" in body["errors"][0]["message"].lower()

    huge = "{ " + " ".join("__typename" for _ in range(4000)) + " }"
    body = await client.gql(huge)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_oversized_bodies_get_a_clear_413(client: GraphQLClient) -> None:
    big = "{ __typename }" + " " * 1_100_000
    response = await client.post(big)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-request-id"]


async def test_introspection_is_on(client: GraphQLClient) -> None:
    body = await client.data("{ __schema { queryType { name } } }")
    assert body == {"__schema": {"queryType": {"name": "Query"}}}


async def test_probes_and_metrics(client: GraphQLClient, server: Server) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["db"] == "ok"
    assert ready.json()["redis"] == ("ok" if server.settings.redis_url else "disabled")
    await client.post("query Probe { __typename }")
    text = (await client.http.get("/metrics")).text
    assert "graphql_requests_total{" in text
    assert 'operation="Probe"' in text
    assert "graphql_request_duration_seconds_bucket" in text


# ---------------------------------------------------------------- rate limits


@pytest.fixture(scope="module")
async def strict_server(stack: StackConfig) -> AsyncIterator[Server]:
    """A second app on the same database with small limits (the shared one has them high)."""
    running = Server(
        stack.settings(
            login_failures_per_email=3,
            login_failure_window_seconds=900,
            auth_requests_per_ip=1000,
        )
    )
    await running.start()
    yield running
    await running.stop()


async def test_failed_logins_per_email_are_limited(strict_server: Server) -> None:
    client = GraphQLClient(strict_server.base_url)
    try:
        email = unique_email()
        registered = await client.data(REGISTER, {"input": {"email": email, "password": PASSWORD}})
        user_id = registered["register"]["user"]["id"]
        for _ in range(3):
            body = await client.data(LOGIN, {"input": {"email": email, "password": "wrong one"}})
            assert body["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
        response = await client.post(LOGIN, {"input": {"email": email, "password": PASSWORD}})
        body = response.json()
        error = body["data"]["login"]["errors"][0]
        assert body["data"]["login"]["accessToken"] is None
        assert error["code"] == "RATE_LIMITED"
        assert 0 < error["retryAfterSeconds"] <= 900
        assert f"{error['retryAfterSeconds']} seconds" in error["message"]
        assert body["extensions"] == {"retryAfterSeconds": error["retryAfterSeconds"]}
        assert response.headers["retry-after"] == str(error["retryAfterSeconds"])
        tokens = await scalar(
            strict_server,
            "SELECT count(*) FROM refresh_tokens rt JOIN users u ON u.id = rt.user_id "
            "WHERE u.email = :e",
            e=email,
        )
        assert tokens == 0
        assert (await audit_actions(strict_server, user_id)).count("auth.login_failed") == 3
    finally:
        await client.aclose()


async def test_requests_per_ip_are_limited(stack: StackConfig) -> None:
    # Its own Redis namespace: the IP counter is shared by every process of one deployment,
    # and the other servers of this run have counted plenty from 127.0.0.1 already.
    running = Server(
        stack.settings(
            auth_requests_per_ip=3,
            auth_ip_window_seconds=60,
            redis_namespace=f"{stack.namespace}-ip",
        ),
        # Built at start as every test server's is: unbuilt, the app's own startup check
        # queues an index job that no worker of this namespace takes, and it stays open in
        # the shared database (tests that wait for index jobs to end would wait on it).
    )
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        emails = [unique_email() for _ in range(4)]
        results = []
        for email in emails:
            body = await client.data(REGISTER, {"input": {"email": email, "password": PASSWORD}})
            results.append(body["register"])
        assert [r["errors"] for r in results[:3]] == [[], [], []]
        assert results[3]["user"] is None
        assert results[3]["errors"][0]["code"] == "RATE_LIMITED"
        assert (
            await scalar(running, "SELECT count(*) FROM users WHERE email = :e", e=emails[3]) == 0
        )
    finally:
        await client.aclose()
        await running.stop()


async def test_deep_queries_are_refused(client: GraphQLClient) -> None:
    inner = "id"
    for _ in range(5):
        inner = f"assessments {{ edges {{ node {{ owner {{ {inner} }} }} }} }}"
    body = await client.gql(f"{{ me {{ {inner} }} }}")
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "depth" in body["errors"][0]["message"].lower()
