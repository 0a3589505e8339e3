"""Authentication through the real app: every error path also checks nothing was changed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.support.client import (
    LOGIN,
    PASSWORD,
    REGISTER,
    GraphQLClient,
    register_and_login,
    unique_email,
)
from tests.support.db import audit_actions, rows, scalar, uuid_param
from tests.support.stacks import TEST_JWT_SECRET, Server

ME = "{ me { id email name role interests } }"
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) {
    accessToken refreshToken expiresIn user { id } errors { field code message }
  }
}
"""
LOGOUT = """
mutation Logout($token: String!) { logout(refreshToken: $token) { ok errors { code message } } }
"""
UPDATE_ME = """
mutation Update($input: UpdateMeInput!) {
  updateMe(input: $input) { user { name interests } errors { field code message } }
}
"""


async def _user_count(server: Server, email: str) -> int:
    return int(
        await scalar(server, "SELECT count(*) FROM users WHERE lower(email) = :e", e=email.lower())
    )


async def _token_count(server: Server, user_id: str) -> int:
    return int(
        await scalar(
            server,
            "SELECT count(*) FROM refresh_tokens WHERE user_id = :u",
            u=uuid_param(server, user_id),
        )
    )


# ---------------------------------------------------------------- register


async def test_register_creates_a_student_with_normalised_email(
    client: GraphQLClient, server: Server
) -> None:
    email = unique_email()
    body = await client.gql(
        REGISTER,
        {
            "input": {
                "email": f"  {email.upper()} ",
                "password": PASSWORD,
                "name": "  Pandu ",
                "interests": ["Data", "web", "data"],
            }
        },
    )
    payload = body["data"]["register"]
    assert payload["errors"] == []
    user = payload["user"]
    assert user["id"].startswith("usr_")
    assert user["email"] == email
    assert user["name"] == "Pandu"
    assert user["role"] == "STUDENT"
    assert user["interests"] == ["data", "web"]
    assert user["createdAt"].endswith("+00:00")
    stored = await rows(server, "SELECT password_hash FROM users WHERE email = :e", e=email)
    assert stored[0]["password_hash"].startswith("$2b$")  # bcrypt, never the password
    assert await audit_actions(server, user["id"]) == ["auth.register"]


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, ["input", "email"]),
        ("a@b", PASSWORD, ["input", "email"]),
        (None, "short", ["input", "password"]),
        (None, "é" * 37, ["input", "password"]),  # 74 bytes: over bcrypt's 72
    ],
)
async def test_register_refuses_invalid_input_and_saves_nothing(
    client: GraphQLClient, server: Server, email: str | None, password: str, field: list[str]
) -> None:
    address = email or unique_email()
    body = await client.gql(REGISTER, {"input": {"email": address, "password": password}})
    payload = body["data"]["register"]
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION_ERROR", field)]
    assert payload["errors"][0]["message"]
    assert await _user_count(server, address.strip().lower()) == 0


async def test_register_reports_every_problem_at_once(client: GraphQLClient) -> None:
    body = await client.gql(
        REGISTER, {"input": {"email": "nope", "password": "x", "name": "n" * 500}}
    )
    fields = sorted(tuple(e["field"]) for e in body["data"]["register"]["errors"])
    assert fields == [("input", "email"), ("input", "name"), ("input", "password")]


async def test_password_of_exactly_72_bytes_is_accepted(client: GraphQLClient) -> None:
    email = unique_email()
    password = "p" * 72
    body = await client.gql(REGISTER, {"input": {"email": email, "password": password}})
    assert body["data"]["register"]["errors"] == []
    login = await client.gql(LOGIN, {"input": {"email": email, "password": password}})
    assert login["data"]["login"]["accessToken"]


async def test_taken_email_is_a_conflict_case_insensitively(
    client: GraphQLClient, server: Server
) -> None:
    account = await register_and_login(client)
    body = await client.gql(
        REGISTER, {"input": {"email": account.email.upper(), "password": "another password"}}
    )
    errors = body["data"]["register"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("CONFLICT", ["input", "email"])]
    assert await _user_count(server, account.email) == 1


async def test_invite_codes_grant_roles_and_a_wrong_code_is_an_error(
    client: GraphQLClient, server: Server
) -> None:
    admin = await register_and_login(client, role="ADMIN")
    advisor = await register_and_login(client, role="ADVISOR")
    assert (await client.data(ME, token=admin.token))["me"]["role"] == "ADMIN"
    assert (await client.data(ME, token=advisor.token))["me"]["role"] == "ADVISOR"

    email = unique_email()
    body = await client.gql(
        REGISTER, {"input": {"email": email, "password": PASSWORD, "inviteCode": "guess-1234"}}
    )
    errors = body["data"]["register"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("VALIDATION_ERROR", ["input", "inviteCode"])
    ]
    assert await _user_count(server, email) == 0


# ---------------------------------------------------------------- login


async def test_login_issues_tokens_and_audits(client: GraphQLClient, server: Server) -> None:
    account = await register_and_login(client)
    claims = jwt.decode(
        account.token, TEST_JWT_SECRET, algorithms=["HS256"], audience="microcred-assess-api"
    )
    assert set(claims) >= {"sub", "role", "iat", "exp", "iss", "aud", "jti"}
    assert claims["role"] == "student"
    assert claims["exp"] - claims["iat"] == 900
    assert await audit_actions(server, account.id) == ["auth.register", "auth.login"]


async def test_wrong_password_and_unknown_email_look_the_same(
    client: GraphQLClient, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain import passwords

    checks: list[str] = []
    real_check = passwords.check_password

    def counting_check(password: str, password_hash: str) -> bool:
        checks.append(password_hash[:7])
        return bool(real_check(password, password_hash))

    monkeypatch.setattr(passwords, "check_password", counting_check)
    account = await register_and_login(client)
    checks.clear()
    wrong = await client.gql(LOGIN, {"input": {"email": account.email, "password": "wrong pw!"}})
    unknown = await client.gql(LOGIN, {"input": {"email": unique_email(), "password": "wrong pw!"}})
    assert wrong["data"]["login"] == unknown["data"]["login"]
    assert wrong["data"]["login"] == {
        "accessToken": None,
        "refreshToken": None,
        "expiresIn": None,
        "user": None,
        "errors": [
            {
                "field": None,
                "code": "INVALID_CREDENTIALS",
                "message": "Email or password is incorrect.",
                "retryAfterSeconds": None,
            }
        ],
    }
    # Both paths ran one bcrypt check (the unknown email against a dummy hash).
    assert len(checks) == 2
    assert all(c.startswith("$2b$") for c in checks)
    assert await _token_count(server, account.id) == 1  # only the first login's
    assert (await audit_actions(server, account.id))[-1] == "auth.login_failed"


# ---------------------------------------------------------------- access tokens


def _forge(claims_patch: dict[str, object], key: str = TEST_JWT_SECRET, alg: str = "HS256") -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "00000000-0000-7000-8000-000000000000",
        "role": "admin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iss": "microcred-assess",
        "aud": "microcred-assess-api",
        "jti": "x",
    }
    claims.update(claims_patch)
    return jwt.encode(claims, key, algorithm=alg)


async def _token_for(client: GraphQLClient) -> tuple[str, dict[str, object]]:
    account = await register_and_login(client)
    claims = jwt.decode(
        account.token, TEST_JWT_SECRET, algorithms=["HS256"], audience="microcred-assess-api"
    )
    return account.token, claims


async def test_bad_access_tokens_are_refused_as_unauthenticated(client: GraphQLClient) -> None:
    token, claims = await _token_for(client)
    header, payload, signature = token.split(".")
    tampered_signature = f"{header}.{payload}.{signature[:-4]}AAAA"
    none_alg = jwt.encode({**claims}, key=None, algorithm="none")
    hs512 = _forge({"sub": claims["sub"]}, alg="HS512")
    other_key = _forge({"sub": claims["sub"]}, key="another-secret-" + "y" * 40)
    wrong_audience = _forge({"sub": claims["sub"], "aud": "someone-else"})
    expired = _forge(
        {
            "sub": claims["sub"],
            "iat": int(time.time()) - 3600,
            "exp": int(time.time()) - 10,
        }
    )
    missing_jti = jwt.encode(
        {k: v for k, v in claims.items() if k != "jti"}, TEST_JWT_SECRET, algorithm="HS256"
    )
    for bad in (
        tampered_signature,
        none_alg,
        hs512,
        other_key,
        wrong_audience,
        expired,
        missing_jti,
        "garbage",
    ):
        body = await client.gql(ME, token=bad)
        assert body["data"] == {"me": None}, bad
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], bad


async def test_me_without_a_token_is_unauthenticated(client: GraphQLClient) -> None:
    body = await client.gql(ME)
    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert body["errors"][0]["path"] == ["me"]


# ---------------------------------------------------------------- refresh and logout


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: GraphQLClient, server: Server
) -> None:
    account = await register_and_login(client)
    first = (await client.data(REFRESH, {"token": account.refresh_token}))["refreshToken"]
    assert first["errors"] == []
    assert first["refreshToken"] != account.refresh_token
    assert first["user"] == {"id": account.id}
    assert (await client.data(ME, token=first["accessToken"]))["me"]["id"] == account.id
    second = (await client.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert second["errors"] == []

    # The original token again: reuse. Refused, and every descendant stops working.
    reuse = (await client.data(REFRESH, {"token": account.refresh_token}))["refreshToken"]
    assert reuse["accessToken"] is None
    assert [e["code"] for e in reuse["errors"]] == ["UNAUTHENTICATED"]
    latest = (await client.data(REFRESH, {"token": second["refreshToken"]}))["refreshToken"]
    assert latest["accessToken"] is None
    assert [e["code"] for e in latest["errors"]] == ["UNAUTHENTICATED"]

    active = await scalar(
        server,
        "SELECT count(*) FROM refresh_tokens WHERE user_id = :u AND revoked_at IS NULL",
        u=uuid_param(server, account.id),
    )
    assert active == 0
    assert "auth.refresh_reuse" in await audit_actions(server, account.id)


async def test_unknown_refresh_token_changes_nothing(client: GraphQLClient, server: Server) -> None:
    account = await register_and_login(client)
    body = (await client.data(REFRESH, {"token": "not-a-token"}))["refreshToken"]
    assert body["accessToken"] is None
    assert [(e["code"], e["field"]) for e in body["errors"]] == [
        ("UNAUTHENTICATED", ["refreshToken"])
    ]
    assert await _token_count(server, account.id) == 1
    still = (await client.data(REFRESH, {"token": account.refresh_token}))["refreshToken"]
    assert still["errors"] == []


async def test_logout_revokes_the_session(client: GraphQLClient, server: Server) -> None:
    account = await register_and_login(client)
    out = (await client.data(LOGOUT, {"token": account.refresh_token}))["logout"]
    assert out == {"ok": True, "errors": []}
    again = (await client.data(LOGOUT, {"token": account.refresh_token}))["logout"]
    assert again == {"ok": True, "errors": []}  # idempotent
    after = (await client.data(REFRESH, {"token": account.refresh_token}))["refreshToken"]
    assert after["accessToken"] is None
    assert "auth.logout" in await audit_actions(server, account.id)

    unknown = (await client.data(LOGOUT, {"token": "nope"}))["logout"]
    assert unknown["ok"] is False
    assert [e["code"] for e in unknown["errors"]] == ["UNAUTHENTICATED"]


# ---------------------------------------------------------------- updateMe


async def test_update_me_changes_only_given_fields(client: GraphQLClient, server: Server) -> None:
    account = await register_and_login(client, name="Before", interests=["web"])
    only_interests = (
        await client.data(UPDATE_ME, {"input": {"interests": ["ML", "cloud"]}}, account.token)
    )["updateMe"]
    assert only_interests == {
        "user": {"name": "Before", "interests": ["ml", "cloud"]},
        "errors": [],
    }
    cleared = (await client.data(UPDATE_ME, {"input": {"name": None}}, account.token))["updateMe"]
    assert cleared["user"] == {"name": None, "interests": ["ml", "cloud"]}
    assert (await audit_actions(server, account.id)).count("user.update_me") == 2


async def test_update_me_refuses_bad_input_and_anonymous_callers(
    client: GraphQLClient, server: Server
) -> None:
    account = await register_and_login(client, name="Keep")
    bad = (
        await client.data(
            UPDATE_ME, {"input": {"name": "x" * 121, "interests": [""]}}, account.token
        )
    )["updateMe"]
    assert bad["user"] is None
    assert sorted(tuple(e["field"]) for e in bad["errors"]) == [
        ("input", "interests", "0"),
        ("input", "name"),
    ]
    assert (await client.data(ME, token=account.token))["me"]["name"] == "Keep"

    anonymous = await client.gql(UPDATE_ME, {"input": {"name": "x"}})
    assert anonymous["data"] is None or anonymous["data"]["updateMe"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await audit_actions(server, account.id)).count("user.update_me") == 0
