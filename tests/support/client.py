"""A GraphQL client over real HTTP, and helpers for the common journeys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.stacks import ADMIN_CODE, ADVISOR_CODE


class GraphQLClient:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The whole response body; asserts HTTP 200."""
        response = await self.post(query, variables, token, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a response that must have no GraphQL errors."""
        body = await self.gql(query, variables, token)
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.http.aclose()


REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    user { id email name role interests createdAt }
    errors { field code message }
  }
}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken refreshToken expiresIn
    user { id email role }
    errors { field code message retryAfterSeconds }
  }
}
"""

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: str
    email: str
    token: str
    refresh_token: str
    role: str


def unique_email(prefix: str = "student") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.edu"


async def register_and_login(
    client: GraphQLClient, role: str = "STUDENT", name: str | None = "Test Student", **extra: Any
) -> Account:
    email = unique_email(role.lower())
    invite = {"ADMIN": ADMIN_CODE, "ADVISOR": ADVISOR_CODE}.get(role)
    payload = {"email": email, "password": PASSWORD, "name": name, **extra}
    if invite:
        payload["inviteCode"] = invite
    registered = (await client.data(REGISTER, {"input": payload}))["register"]
    assert registered["errors"] == [], registered
    logged_in = (await client.data(LOGIN, {"input": {"email": email, "password": PASSWORD}}))[
        "login"
    ]
    assert logged_in["errors"] == [], logged_in
    return Account(
        id=registered["user"]["id"],
        email=email,
        token=logged_in["accessToken"],
        refresh_token=logged_in["refreshToken"],
        role=role,
    )
