"""Hostile HTTP bodies: every one gets a clear 4xx (413 for size) and never runs anything.

Over-sized bodies however they are framed (chunked without a Content-Length, a Content-Length
that lies either way), bytes that are not UTF-8, the wrong content type, an empty body, JSON
that is not an object, JSON built to exhaust the decoder (deep nesting, 5000-digit numbers,
lone surrogates) and GET carrying a mutation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from tests.hostile.support import (
    assert_handled,
    graphql_body,
    post_raw,
    raw_http,
    row_counts,
    status_of,
)
from tests.support.client import PASSWORD, REGISTER, GraphQLClient, unique_email
from tests.support.db import scalar
from tests.support.stacks import Server

SMALL = b'{"query":"{ __typename }"}'


def _post(headers: bytes, body: bytes = SMALL) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + headers
        + b"\r\n"
        + body
    )


def _chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


async def _users_with(server: Server, email: str) -> int:
    return int(await scalar(server, "SELECT count(*) FROM users WHERE email = :e", e=email))


# ---------------------------------------------------------------- size


async def test_a_chunked_body_over_the_limit_is_a_413(
    client: GraphQLClient, server: Server
) -> None:
    limit = server.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        # A valid-looking start, so only the size can be what is refused.
        yield b'{"query":"{ __typename }","variables":{"pad":"'
        for _ in range(limit // 50_000 + 2):
            yield b"a" * 50_000
        yield b'"}}'

    # An async iterator has no length: httpx sends it chunked, without a Content-Length.
    response = await client.http.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_content_lengths_that_lie_are_refused(server: Server) -> None:
    limit = server.settings.max_body_bytes
    # Declared over the limit: refused before a byte of the body is read.
    declared_huge = await raw_http(server.port, _post(b"Content-Length: %d\r\n" % (limit + 1)))
    assert status_of(declared_huge) == 413
    assert b"PAYLOAD_TOO_LARGE" in declared_huge
    # Declared under the limit, then more sent in chunks of a chunked body: counted as it
    # arrives, refused at the limit.
    oversized_chunks = await raw_http(
        server.port,
        _post(b"Transfer-Encoding: chunked\r\n", _chunked(b"a" * (limit + 10))),
        half_close=True,
    )
    assert status_of(oversized_chunks) == 413
    # Declared shorter than what follows: the rest is not a request; uvicorn says so.
    declared_short = await raw_http(server.port, _post(b"Content-Length: 5\r\n"))
    assert status_of(declared_short) == 400
    # Malformed framing is refused by the HTTP parser before the app sees it.
    for framing in (
        b"Content-Length: abc\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 99999999999999999999999\r\n",
        b"Content-Length: 24\r\nContent-Length: 5\r\n",
        b"Content-Length: 24\r\nTransfer-Encoding: chunked\r\n",  # request smuggling
    ):
        answer = await raw_http(server.port, _post(framing))
        assert status_of(answer) == 400, framing
    bad_chunk = await raw_http(
        server.port, _post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n")
    )
    assert status_of(bad_chunk) == 400


async def test_a_body_shorter_than_its_content_length_is_no_server_error(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # The client promises 500 bytes, sends 26 and stops sending: the app reads until the
    # connection says goodbye. Nobody is left to answer; it must not be logged as a crash.
    caplog.set_level(logging.INFO)
    answer = await raw_http(server.port, _post(b"Content-Length: 500\r\n"), half_close=True)
    assert status_of(answer) in (None, 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    lines = [r for r in caplog.records if r.name == "app.request" and r.getMessage() == "request"]
    assert [getattr(r, "status", None) for r in lines] == [499]


# ---------------------------------------------------------------- encoding and shape


async def test_bytes_that_are_not_utf8_are_a_400(client: GraphQLClient, server: Server) -> None:
    email = unique_email()
    for body in (
        b'{"query":"{ __typename \xff\xfe }"}',
        # A well-formed register whose email holds an invalid UTF-8 sequence.
        b'{"query":' + json.dumps(REGISTER).encode() + b',"variables":{"input":{"email":"'
        + email.encode() + b'\xc3\x28","password":"' + PASSWORD.encode() + b'"}}}',
        b"\xef\xbb\xbf\x80\x80",
    ):  # fmt: skip
        response = await post_raw(client.http, body)
        assert response.status_code == 400, body
        assert "UTF-8" in response.text
    assert await _users_with(server, email) == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data",
     "application/graphql", ""],
)  # fmt: skip
async def test_a_content_type_other_than_json_is_a_400(
    client: GraphQLClient, content_type: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.http.post("/graphql", content=SMALL, headers=headers)
    assert response.status_code == 400
    assert "content type" in response.text.lower()


@pytest.mark.parametrize(
    "body",
    [b"", b" ", b"{", b'{"query":"{ __typename }"} trailing', b'"{ __typename }"', b"1", b"null",
     b"true", b"NaN", b"Infinity", b'{"query": 5}', b'{"query": ["{ __typename }"]}',
     b'{"query": null}', b"{}", b'{"query":"{ __typename }","variables":[1]}',
     b'{"query":"{ __typename }","variables":"{}"}', b'{"query":"{ __typename }","extensions":1}',
     b'{"query":"{ __typename }","operationName":{"a":1}}'],
)  # fmt: skip
async def test_bodies_that_are_not_a_graphql_request_object_are_a_400(
    client: GraphQLClient, body: bytes
) -> None:
    response = await post_raw(client.http, body)
    assert_handled(response, body)
    assert response.status_code == 400, (body, response.text)


async def test_json_built_to_exhaust_the_decoder_is_a_400(
    client: GraphQLClient, server: Server
) -> None:
    deep_array = b'{"query":"{ __typename }","variables":{"a":' + b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"query":"{ __typename }","variables":' + b'{"a":' * 50_000 + b"1"
    deep_object += b"}" * 50_001
    many_digits = b'{"query":"query($n: Int) { __typename }","variables":{"n":' + b"9" * 5000
    many_digits += b"}}"
    for body, reason in (
        (deep_array + b"}}", "nested too deeply"),
        (deep_object, "nested too deeply"),
        (many_digits, "too many digits"),
    ):
        response = await post_raw(client.http, body)
        assert response.status_code == 400, reason
        assert reason in response.text

    # A lone surrogate is valid JSON but no text: a resolver could never store it.
    before = await row_counts(server, ("users", "audit_events"))
    for email, password in ((unique_email() + "\ud800", PASSWORD), (unique_email(), "\udfff" * 9)):
        response = await post_raw(
            client.http, graphql_body(REGISTER, {"input": {"email": email, "password": password}})
        )
        assert response.status_code == 400
        assert "surrogate" in response.text
    # A well-formed pair (an emoji written as two escapes) is text and passes.
    paired = await post_raw(
        client.http, b'{"query":"{ __typename }","variables":{"e":"\\ud83d\\ude00"}}'
    )
    assert paired.status_code == 200
    assert paired.json() == {"data": {"__typename": "Query"}}
    assert await row_counts(server, ("users", "audit_events")) == before


# ---------------------------------------------------------------- methods


async def test_get_cannot_run_a_mutation(client: GraphQLClient, server: Server) -> None:
    email = unique_email()
    variables = json.dumps({"input": {"email": email, "password": PASSWORD}})
    response = await client.http.get("/graphql", params={"query": REGISTER, "variables": variables})
    assert response.status_code == 400
    assert "mutations are not allowed" in response.text.lower()
    assert await _users_with(server, email) == 0
    # A query over GET is fine, and bad GET variables are a 400 like a bad POST body.
    ok = await client.http.get("/graphql", params={"query": "{ __typename }"})
    assert ok.json() == {"data": {"__typename": "Query"}}
    for bad in ("{", "[1]", "1", '"x"', '{"a":"\\udc00"}'):
        response = await client.http.get(
            "/graphql", params={"query": "{ __typename }", "variables": bad}
        )
        assert response.status_code == 400, bad


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_are_a_405(client: GraphQLClient, method: str) -> None:
    response = await client.http.request(method, "/graphql", content=SMALL)
    assert response.status_code == 405
