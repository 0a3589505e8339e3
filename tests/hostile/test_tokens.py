"""Tampered, forged and misused tokens: every one is UNAUTHENTICATED and nothing is saved.

Access tokens with alg "none", signed with another secret, with an RS256 header (algorithm
confusion), with a payload changed under the original signature, expired, not yet valid,
without a subject, of a deleted account, or a refresh token where an access token belongs;
Authorization headers that are not "Bearer <token>" or are 10 KB long. Each one is sent with a
mutation that would write (startAssessment), and the victim's rows are counted afterwards.
Refresh tokens: an access token presented as one, and the same refresh token presented by
several clients at once (only one may win, and the family can still be revoked).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from tests.hostile.support import assert_handled, raw_http, status_of
from tests.support.client import PASSWORD, Account, GraphQLClient, register_and_login
from tests.support.db import scalar, uuid_param
from tests.support.flows import START
from tests.support.stacks import TEST_JWT_SECRET, Server

ISSUER, AUDIENCE = "microcred-assess", "microcred-assess-api"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken errors { field code } }
}"""
DELETE_ME = "mutation D($p: String!) { deleteMyAccount(password: $p) { ok errors { code } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(account: Account) -> dict[str, Any]:
    return dict(jwt.decode(account.token, TEST_JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE))


def _sign(
    claims: dict[str, Any], key: str = TEST_JWT_SECRET, digest: str = "sha256", **header: Any
) -> str:
    """An HMAC signature over any header: what an attacker holding `key` could produce."""
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256", **header}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{_b64(signature)}"


def forged_tokens(victim: Account) -> dict[str, str]:
    claims = _claims(victim)
    now = int(time.time())
    head, _, signature = victim.token.split(".")
    as_admin = _b64(json.dumps({**claims, "role": "admin"}).encode())
    without = {k: v for k, v in claims.items() if k != "sub"}
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return {
        "alg none": jwt.encode(claims, key=None, algorithm="none"),
        "alg none, signature kept": f"{none_header}.{victim.token.split('.')[1]}.{signature}",
        "another secret": jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
        "RS256 header, HMAC signature": _sign(claims, alg="RS256"),
        "HS512": _sign(claims, digest="sha512", alg="HS512"),
        "payload changed, signature kept": f"{head}.{as_admin}.{signature}",
        "signature stripped": f"{head}.{victim.token.split('.')[1]}.",
        "expired": _sign({**claims, "iat": now - 3600, "exp": now - 1}),
        "not yet valid (nbf)": _sign({**claims, "nbf": now + 3600}),
        "issued in the future": _sign({**claims, "iat": now + 3600, "exp": now + 7200}),
        "no sub": _sign(without),
        "sub not a uuid": _sign({**claims, "sub": "1 OR 1=1"}),
        "sub of nobody": _sign({**claims, "sub": str(uuid.uuid4())}),
        "unknown role": _sign({**claims, "role": "superuser"}),
        "wrong issuer": _sign({**claims, "iss": "someone-else"}),
        "wrong audience": _sign({**claims, "aud": "another-api"}),
        "exp as a string": _sign({**claims, "exp": "never"}),
        "refresh token as access token": victim.refresh_token,
        "10 KB": "a" * 10_240,
        "10 KB of dots": ".".join(["a" * 3400] * 3),
    }


@pytest.fixture
async def victim(client: GraphQLClient) -> Account:
    return await register_and_login(client)


async def _footprint(server: Server, account: Account) -> tuple[int, int]:
    """The victim's assessments and audit events: what a successful start would add to."""
    key = uuid_param(server, account.id)
    assessments = await scalar(server, "SELECT count(*) FROM assessments WHERE user_id = :u", u=key)
    audits = await scalar(server, "SELECT count(*) FROM audit_events WHERE subject_id = :u", u=key)
    return int(assessments), int(audits)


async def _start_with(client: GraphQLClient, headers: dict[str, str]) -> list[str]:
    response = await client.http.post(
        "/graphql", json={"query": START, "variables": {"input": {}}}, headers=headers
    )
    body = assert_handled(response)
    assert body is not None
    assert body["data"] is None or body["data"]["startAssessment"] is None, body
    return [e["extensions"]["code"] for e in body["errors"]]


async def test_forged_access_tokens_are_unauthenticated(
    client: GraphQLClient, server: Server, victim: Account
) -> None:
    before = await _footprint(server, victim)
    for label, token in forged_tokens(victim).items():
        codes = await _start_with(client, {"Authorization": f"Bearer {token}"})
        assert codes == ["UNAUTHENTICATED"], label
    assert await _footprint(server, victim) == before
    # The genuine token still works: the refusals were about the forgeries.
    assert (await client.data("{ me { id } }", token=victim.token))["me"]["id"] == victim.id


async def test_the_role_comes_from_the_database_not_the_token(
    client: GraphQLClient, victim: Account
) -> None:
    # Even correctly signed (a stale token after a demotion), a role claim grants nothing.
    claims = {**_claims(victim), "role": "admin"}
    body = await client.gql("{ webhookEndpoints { id } }", token=_sign(claims))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer  {token}x", "bearer {token}x", "Basic dXNlcjpwdw==",
     "Token {token}", "{token}", "Bearer {token} extra", "Bearer\t{token}x", "Bearer null",
     "Bearer undefined", "Bearer " + "a" * 10_240, "Bearer {token}" + "A" * 10_000],
)  # fmt: skip
async def test_malformed_authorization_headers_change_nothing(
    client: GraphQLClient, server: Server, victim: Account, header: str
) -> None:
    before = await _footprint(server, victim)
    codes = await _start_with(client, {"Authorization": header.format(token=victim.token)})
    assert codes == ["UNAUTHENTICATED"]
    assert await _footprint(server, victim) == before


async def test_several_spaces_after_bearer_are_allowed(
    client: GraphQLClient, victim: Account
) -> None:
    # RFC 6750: credentials = "Bearer" 1*SP token. Two spaces are no forgery.
    body = await client.gql("{ me { id } }", headers={"Authorization": f"Bearer  {victim.token}"})
    assert body == {"data": {"me": {"id": victim.id}}}


async def test_non_ascii_bytes_in_the_header_are_unauthenticated(
    server: Server, victim: Account
) -> None:
    # Bytes no HTTP client library would send; the app reads headers as latin-1.
    before = await _footprint(server, victim)
    body = json.dumps({"query": START, "variables": {"input": {}}}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer \xff\xfe" + victim.token.encode() + b"\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    ) + body
    answer = await raw_http(server.port, request, half_close=True)
    assert status_of(answer) == 200, answer[:200]
    assert b'"UNAUTHENTICATED"' in answer
    assert await _footprint(server, victim) == before


async def test_the_token_of_a_deleted_account_is_unauthenticated(
    client: GraphQLClient, server: Server, victim: Account
) -> None:
    deleted = await client.data(DELETE_ME, {"p": PASSWORD}, victim.token)
    assert deleted["deleteMyAccount"] == {"ok": True, "errors": []}
    codes = await _start_with(client, {"Authorization": f"Bearer {victim.token}"})
    assert codes == ["UNAUTHENTICATED"]
    key = uuid_param(server, victim.id)
    assert await scalar(server, "SELECT count(*) FROM assessments WHERE user_id = :u", u=key) == 0
    # Its refresh token died with it.
    refreshed = await client.data(REFRESH, {"token": victim.refresh_token})
    assert refreshed["refreshToken"]["accessToken"] is None


async def test_an_access_token_is_no_refresh_token(
    client: GraphQLClient, server: Server, victim: Account
) -> None:
    key = uuid_param(server, victim.id)
    tokens = "SELECT count(*) FROM refresh_tokens WHERE user_id = :u"
    before = await scalar(server, tokens, u=key)
    for presented in (
        victim.token,
        victim.token + victim.refresh_token,
        "",
        " " * 100,
        "a" * 10_000,
    ):
        body = await client.data(REFRESH, {"token": presented})
        payload = body["refreshToken"]
        assert payload["accessToken"] is None
        assert [e["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"]
    assert await scalar(server, tokens, u=key) == before


async def test_a_refresh_token_presented_concurrently_wins_at_most_once(
    client: GraphQLClient, server: Server, victim: Account
) -> None:
    # A thief and the owner (or five tabs) present one refresh token at the same moment.
    bodies = await asyncio.gather(
        *(client.data(REFRESH, {"token": victim.refresh_token}) for _ in range(5))
    )
    payloads = [b["refreshToken"] for b in bodies]
    winners = [p for p in payloads if p["accessToken"]]
    assert len(winners) <= 1
    assert all(
        [e["code"] for e in p["errors"]] == ["UNAUTHENTICATED"]
        for p in payloads
        if p not in winners
    )
    # Presented once more, the rotated token is reuse: the whole family goes, the winner's
    # new token with it.
    reuse = (await client.data(REFRESH, {"token": victim.refresh_token}))["refreshToken"]
    assert reuse["accessToken"] is None
    for winner in winners:
        after = (await client.data(REFRESH, {"token": winner["refreshToken"]}))["refreshToken"]
        assert after["accessToken"] is None
    active = await scalar(
        server,
        "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NULL",
        u=uuid_param(server, victim.id),
    )
    assert active == 0
