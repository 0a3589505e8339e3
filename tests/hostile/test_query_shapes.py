"""Documents shaped to make the server work hard are refused cheaply, with VALIDATION_ERROR.

Deep and wide selections, alias floods (also hidden in fragments), one field repeated hundreds
of times, fragment cycles and fragment "bombs" (each fragment spreading the previous one twice),
batched requests, thousands of variables, directive floods, and subscriptions over plain HTTP.
Every refusal must be cheap: a limit that is checked after the expensive work is no limit (the
fragment bomb below held the event loop for hours before schema/limits.py). Cheap is measured
in work done (function calls while the request runs), not seconds, so a loaded machine cannot
fail it and a slow limit cannot hide behind a fast one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hostile.support import WorkMeter, assert_handled, post_raw
from tests.support.client import Account, GraphQLClient, register_and_login

# A refusal is linear in the document: at most a fixed cost plus so many calls per character
# of GraphQL code (tests.hostile.support.WorkMeter). The refusals below cost 3,800-200,000
# calls, 5-105 per character, the short ones mostly the fixed cost of shaping the error. With
# the limits off the same documents cost superlinear work: seven hundred `health { api }`
# make the overlap rule compare 245,000 pairs, the fragment bomb 2^40 selections.
FIXED_CALLS = 10_000
CALLS_PER_CHARACTER = 80


@pytest.fixture(scope="module")
async def student(client: GraphQLClient) -> Account:
    return await register_and_login(client)


async def _refused(
    client: GraphQLClient, query: str, token: str | None = None, says: str = ""
) -> dict[str, Any]:
    """Posts the document; asserts a cheap VALIDATION_ERROR refusal with no data."""
    with WorkMeter() as meter:
        response = await client.post(query, token=token)
    body = assert_handled(response, query[:80])
    assert body is not None
    assert body.get("data") is None, body
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"VALIDATION_ERROR"}, body["errors"][:3]
    assert says.lower() in " ".join(e["message"] for e in body["errors"]).lower()
    budget = FIXED_CALLS + CALLS_PER_CHARACTER * len(query)
    assert meter.calls <= budget, f"{meter.calls} calls (budget {budget}) to refuse {query[:80]}"
    return body


# ---------------------------------------------------------------- depth and width


async def test_depth_over_the_limit_is_refused_however_it_is_reached(
    client: GraphQLClient, student: Account
) -> None:
    step = "assessments {{ edges {{ node {{ owner {{ {} }} }} }} }}"
    inner = "id"
    for _ in range(4):
        inner = step.format(inner)
    await _refused(client, f"{{ me {{ {inner} }} }}", student.token, says="depth")
    # The same depth reached through fragments and inline fragments.
    fragments = (
        "fragment A on User { assessments { edges { node { owner { ...B } } } } } "
        "fragment B on User { assessments { edges { node { owner { ... on User { ...C } } } } } } "
        "fragment C on User { assessments { edges { node { owner { id } } } } } "
    )
    await _refused(client, fragments + "{ me { ...A } }", student.token, says="depth")
    # Past what the parser will nest at all.
    nested = "{ me " + "{ me " * 1200 + "{ id }" + " }" * 1200 + " }"
    await _refused(client, nested, student.token, says="nested too deeply")
    # Introspection is exempt from the depth rule, but not from its own nesting limit.
    deep_type = '{ __type(name: "Query") { ' + "fields { type { ofType { " * 12 + "name"
    deep_type += " } } }" * 12 + " } }"
    await _refused(client, deep_type, says="introspection depth")


async def test_a_document_within_the_limits_still_works(
    client: GraphQLClient, student: Account
) -> None:
    # The limits must not refuse what clients send: GraphiQL's full introspection query and a
    # modest query with a few fragments and aliases.
    from graphql import get_introspection_query

    introspection = await client.data(get_introspection_query(descriptions=True))
    assert introspection["__schema"]["queryType"]["name"] == "Query"
    fragments = "fragment U on User { id email } fragment V on User { id ...U }"
    body = await client.data(
        fragments + " { a: me { ...V } b: me { ...U id } health { api } }", token=student.token
    )
    assert body["a"]["id"] == body["b"]["id"] == student.id


async def test_alias_floods_are_refused_also_inside_fragments(
    client: GraphQLClient, student: Account
) -> None:
    aliased = " ".join(f"a{i}: health {{ api }}" for i in range(40))
    await _refused(client, f"{{ {aliased} }}", says="aliases")
    # Aliases spread out through a chain of fragments count where they land.
    chain = ["fragment F0 on User { id }"] + [
        f"fragment F{i} on User {{ x{i}: id ...F{i - 1} }}" for i in range(1, 45)
    ]
    await _refused(client, " ".join(chain) + " { me { ...F44 } }", student.token, says="aliases")
    # Aliased copies of a fragment full of aliases.
    inner = "fragment L on User { " + " ".join(f"l{i}: id" for i in range(20)) + " }"
    await _refused(
        client, inner + " { m1: me { ...L } m2: me { ...L } }", student.token, says="aliases"
    )


async def test_one_field_repeated_hundreds_of_times_is_refused(client: GraphQLClient) -> None:
    # Without aliases these are "the same field" and merge, but graphql-core's overlap check
    # compares every pair: 700 copies cost it over a second before the repeat limit.
    await _refused(client, "{ " + "health { api } " * 700 + "}", says="selected 700 times")
    await _refused(client, "{ " + "__typename " * 2900 + "}", says="__typename")
    # Repeats hidden in fragments and inline fragments count as well.
    spread = " ".join(f"fragment F{i} on Query {{ health {{ api }} }}" for i in range(100))
    everywhere = " ".join(f"...F{i}" for i in range(100))
    await _refused(client, spread + f" {{ {everywhere} }}", says="health")
    inline = " ".join("... on Query { health { api } }" for _ in range(300))
    await _refused(client, f"{{ {inline} }}", says="health")


async def test_token_floods_are_refused_by_the_parser(client: GraphQLClient) -> None:
    wide = "{ " + " ".join(f"f{i}" for i in range(5000)) + " }"
    await _refused(client, wide, says="tokens")


# ---------------------------------------------------------------- fragments


async def test_fragment_cycles_are_refused(client: GraphQLClient, student: Account) -> None:
    await _refused(client, "fragment A on Query { ...A } { ...A }", says="within itself")
    await _refused(
        client, "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }",
        says="within itself",
    )  # fmt: skip
    await _refused(
        client,
        "fragment A on User { assessments { edges { node { owner { ...A } } } } } { me { ...A } }",
        student.token,
        says="within itself",
    )


@pytest.mark.parametrize("levels", [20, 40, 64])
async def test_fragment_bombs_are_refused_before_they_explode(
    client: GraphQLClient, levels: int
) -> None:
    # F_n spreads F_(n-1) twice: 2^levels selections from a few hundred bytes.
    fragments = ["fragment F0 on Query { __typename }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)
    ]
    document = " ".join(fragments) + f" {{ ...F{levels - 1} }}"
    assert len(document) < 4000
    await _refused(client, document, says="spreads out to more than")


async def test_a_wide_fragment_bomb_is_refused(client: GraphQLClient) -> None:
    # Ten copies per level instead of two: 10^8 selections in five levels.
    fragments = ["fragment F0 on Query { __typename }"] + [
        f"fragment F{i} on Query {{ {' '.join(f'...F{i - 1}' for _ in range(10))} }}"
        for i in range(1, 9)
    ]
    await _refused(client, " ".join(fragments) + " { ...F8 }", says="spreads out")


# ---------------------------------------------------------------- batching and variables


async def test_batched_requests_are_refused_whole(client: GraphQLClient) -> None:
    for size in (1, 2, 100, 5000):
        body = b"[" + b",".join([b'{"query":"{ health { api } }"}'] * size) + b"]"
        response = await post_raw(client.http, body)
        assert response.status_code == 400, size
        assert "batching is not enabled" in response.text.lower()
    # Several operations in one document run at most one, and only when it is named.
    many = " ".join(f"query Q{i} {{ health {{ api }} }}" for i in range(200))
    one = await client.gql(many, operation_name="Q7")
    assert one == {"data": {"health": {"api": "ok"}}}
    unknown = await client.post(many, operation_name="Nope")
    assert_handled(unknown)
    assert unknown.status_code == 400


async def test_thousands_of_variables_are_harmless(client: GraphQLClient) -> None:
    declared = ", ".join(f"$v{i}: String" for i in range(700))
    body = await _refused(client, f"query Many({declared}) {{ __typename }}", says="never used")
    assert len(body["errors"]) <= 101  # graphql-core stops at 100 errors
    await _refused(client, "query D($a: Int, $a: Int) { __typename }", says="only one variable")
    # Undeclared variables are ignored, however many.
    extra = await client.gql("{ __typename }", {f"k{i}": [i] * 3 for i in range(20_000)})
    assert extra == {"data": {"__typename": "Query"}}


async def test_directive_floods_are_refused(client: GraphQLClient) -> None:
    await _refused(
        client, "{ __typename " + "@include(if: true) " * 40 + "}", says="only be used once"
    )
    await _refused(client, "{ __typename " + "@include(if: true) " * 600 + "}", says="tokens")
    await _refused(client, "{ __typename @nope @deprecated @specifiedBy(url: 1) }")
    await _refused(client, "query @skip(if: true) { __typename }", says="may not be used")


async def test_subscriptions_over_plain_http_are_a_400(
    client: GraphQLClient, student: Account
) -> None:
    # Subscriptions run over websockets; over HTTP the resolver's generator used to be run as an
    # ordinary field and fail as INTERNAL.
    subscription = 'subscription { assessmentProgress(assessmentId: "asmt_x") { status } }'
    posted = await client.post(subscription, token=student.token)
    assert posted.status_code == 400
    assert "subscriptions are not allowed" in posted.text
    fetched = await client.http.get("/graphql", params={"query": subscription})
    assert fetched.status_code == 400
