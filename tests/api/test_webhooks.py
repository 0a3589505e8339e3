"""Signed webhooks: endpoints (ADMIN), delivery with signatures, retries, and the SSRF guard."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.webhooks import verify
from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, scalar, uuid_param
from tests.support.pipeline import completed
from tests.support.receiver import Receiver, receiver
from tests.support.stacks import Server, StackConfig

CREATE = """
mutation Create($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url events active createdAt } secret errors { field code message }
  }
}"""
DELETE = "mutation Delete($id: ID!) { deleteWebhookEndpoint(id: $id) { ok errors { code } } }"
LIST = "{ webhookEndpoints { id url events } }"
PRIVATE_URLS = (
    "http://127.0.0.1:9/hook",
    "http://10.1.2.3/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://localhost/hook",
)


@pytest.fixture
async def hook(client: GraphQLClient) -> AsyncIterator[tuple[Receiver, dict[str, Any], Any]]:
    admin = await register_and_login(client, role="ADMIN")
    async with receiver(fail_first=2) as target:
        body = await client.data(
            CREATE,
            {"input": {"url": target.url, "events": ["ASSESSMENT_COMPLETED", "ASSESSMENT_FAILED"]}},
            admin.token,
        )
        created = body["createWebhookEndpoint"]
        assert created["errors"] == []
        try:
            yield target, created, admin
        finally:
            await client.data(DELETE, {"id": created["endpoint"]["id"]}, admin.token)


async def test_completed_webhook_is_signed_and_retried_after_500s(
    client: GraphQLClient, server: Server, hook: tuple[Receiver, dict[str, Any], Any]
) -> None:
    target, created, _ = hook
    secret = created["secret"]
    assert secret.startswith("whsec_")
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    deliveries = await target.wait_for(assessment["id"], 3)  # two 500s, then success
    ids = {d.headers["x-webhook-id"] for d in deliveries}
    assert len(ids) == 1  # stable across retries
    last = deliveries[-1]
    assert last.headers["x-webhook-event"] == "assessment.completed"
    assert verify(secret, last.headers["x-webhook-signature"], last.body, int(time.time()))
    assert not verify("wrong-secret-0000000", last.headers["x-webhook-signature"], last.body,
                      int(time.time()))  # fmt: skip
    body = json.loads(last.body)
    assert body["type"] == "assessment.completed"
    assert body["id"] == ids.pop()
    assert body["data"]["assessmentId"] == assessment["id"]
    assert body["data"]["userId"] == student.id
    assert body["data"]["status"] == "COMPLETED"
    assert 0 <= body["data"]["overallScore"] <= 1
    assert body["data"]["band"] in ("BEGINNER", "INTERMEDIATE", "ADVANCED")
    event = body["id"] if not server.settings.is_sqlite else body["id"].replace("-", "")
    for _ in range(100):  # the receiver saw the request before the worker stored its outcome
        attempts = await rows(
            server,
            "SELECT attempt, status, response_status FROM webhook_deliveries "
            "WHERE event_id = :e AND endpoint_id = :endpoint ORDER BY attempt",
            e=event,
            endpoint=uuid_param(server, created["endpoint"]["id"]),
        )
        if len(attempts) == 3:
            break
        await asyncio.sleep(0.05)
    assert [(a["attempt"], a["status"], a["response_status"]) for a in attempts] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "succeeded", 200),
    ]


async def test_endpoints_are_admin_only_and_validated(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    student = await register_and_login(client)
    before = await scalar(server, "SELECT count(*) FROM webhook_endpoints")
    denied = await client.gql(
        CREATE, {"input": {"url": "https://example.edu/hook", "events": ["ASSESSMENT_COMPLETED"]}},
        student.token,
    )  # fmt: skip
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for variables, field in [
        ({"url": "ftp://example.edu/x", "events": ["ASSESSMENT_COMPLETED"]}, ["input", "url"]),
        ({"url": "https://example.edu/x", "events": []}, ["input", "events"]),
        ({"url": "https://example.edu/x", "events": ["ASSESSMENT_FAILED"], "secret": "short"},
         ["input", "secret"]),
        ({"url": "https://user:pw@example.edu/x", "events": ["ASSESSMENT_FAILED"]},
         ["input", "url"]),
    ]:  # fmt: skip
        body = await client.data(CREATE, {"input": variables}, admin.token)
        assert [e["field"] for e in body["createWebhookEndpoint"]["errors"]] == [field]
    assert await scalar(server, "SELECT count(*) FROM webhook_endpoints") == before
    listed = await client.gql(LIST, token=student.token)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_private_addresses_are_refused_in_production_mode(stack: StackConfig) -> None:
    from tests.support.stacks import Server as AppServer

    running = AppServer(stack.settings(webhook_allow_private_networks=False))
    await running.start()
    client = GraphQLClient(running.base_url)
    try:
        admin = await register_and_login(client, role="ADMIN")
        for url in PRIVATE_URLS:
            body = await client.data(
                CREATE, {"input": {"url": url, "events": ["ASSESSMENT_COMPLETED"]}}, admin.token
            )
            errors = body["createWebhookEndpoint"]["errors"]
            assert [e["field"] for e in errors] == [["input", "url"]], url
    finally:
        await client.aclose()
        await running.stop()


async def test_delivery_time_check_refuses_private_targets() -> None:
    from jobs.webhooks import RefusedAddress, check_destination

    with pytest.raises(RefusedAddress):
        await check_destination("http://127.0.0.1:8000/hook", allow_private=False)
    with pytest.raises(RefusedAddress):
        await check_destination("http://localhost/hook", allow_private=False)
    await check_destination("http://127.0.0.1:8000/hook", allow_private=True)
