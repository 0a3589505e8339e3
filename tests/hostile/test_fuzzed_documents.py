"""Hypothesis writes GraphQL requests against the served schema; none may crash the server.

Operations are built from the schema's own root fields (tests/hostile/graphql_strategies.py)
with arguments of the right type, the wrong type and random JSON variables (deep nesting, huge
integers, "NaN"-like strings, nulls, lists where objects belong, lone surrogates), plus text that
only looks like GraphQL. They are sent over HTTP to an app on a database of its own (the fuzzed
admin may create questions or credentials no other test should see), as a student and as an
admin. Every answer must be a handled one: no 500 and no INTERNAL error; every error carries a
code. The examples are derandomized, so a failure reproduces on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from graphql import GraphQLNonNull
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import ids
from schema import schema as served_schema
from tests.hostile.graphql_strategies import (
    ODD_VARIABLE_VALUES,
    Request,
    garbage_documents,
    operations,
)
from tests.hostile.support import assert_handled, graphql_body, post_raw
from tests.support.client import Account, GraphQLClient
from tests.support.flows import START

SCHEMA = served_schema._schema
# No arguments to fuzz, and a rebuild of the vector index per example would only burn CPU.
SKIPPED_FIELDS = frozenset({"rebuildRagIndex"})
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass
class Targets:
    student: Account
    admin: Account
    ids: list[str]

    def token(self, caller: str) -> str:
        return self.student.token if caller == "student" else self.admin.token


@pytest.fixture(scope="module")
async def targets(
    quiet_client: GraphQLClient, quiet_student: Account, quiet_admin: Account
) -> Targets:
    """Real ids for the fuzzer to aim at, next to ids of every kind that exist nowhere. User ids
    stay out of the pool: a fuzzed deleteUser must not erase the accounts doing the fuzzing."""
    started = await quiet_client.data(START, {"input": {}}, quiet_student.token)
    assessment = started["startAssessment"]["assessment"]
    real = [assessment["id"], *(q["id"] for q in assessment["questions"][:3])]
    made_up = [ids.encode(kind, ids.new_uuid()) for kind in ids.Kind]
    malformed = ["asmt_", "asmt_" + "!" * 26, "usr_" + "Z" * 27, "_", "q_0", "x" * 300]
    return Targets(quiet_student, quiet_admin, real + made_up + malformed)


async def _send(client: GraphQLClient, request: Request, token: str) -> None:
    body = graphql_body(request.query, request.variables)
    response = await post_raw(client.http, body, token)
    assert_handled(response, request.describe())


@settings(FUZZ, max_examples=80)
@given(data=st.data())
async def test_fuzzed_operations_are_always_handled(
    quiet_client: GraphQLClient, targets: Targets, data: st.DataObject
) -> None:
    request = data.draw(operations(SCHEMA, targets.ids, SKIPPED_FIELDS), label="request")
    caller = data.draw(st.sampled_from(["student", "admin"]), label="caller")
    await _send(quiet_client, request, targets.token(caller))


@st.composite
def _random_variables(draw: st.DrawFn) -> Request:
    """Every argument of one mutation declared as a variable, each given random JSON (or left
    out): the whole variables object is hostile, the document itself is fine."""
    mutation = SCHEMA.mutation_type
    assert mutation is not None
    name = draw(st.sampled_from(sorted(set(mutation.fields) - SKIPPED_FIELDS)))
    definition = mutation.fields[name]
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in definition.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in definition.args)
    query = f"mutation Vars({declared}) {{ {name}({passed}) {{ __typename }} }}"
    if not definition.args:
        query = f"mutation Vars {{ {name} {{ __typename }} }}"
    variables = {}
    for arg_name, arg in definition.args.items():
        if draw(st.integers(0, 4)) or isinstance(arg.type, GraphQLNonNull):
            variables[arg_name] = draw(ODD_VARIABLE_VALUES)
    return Request(query, variables)


@settings(FUZZ, max_examples=40)
@given(request=_random_variables(), caller=st.sampled_from(["student", "admin"]))
async def test_random_variables_are_always_handled(
    quiet_client: GraphQLClient, targets: Targets, request: Request, caller: str
) -> None:
    await _send(quiet_client, request, targets.token(caller))


@settings(FUZZ, max_examples=30)
@given(document=garbage_documents(), caller=st.sampled_from(["student", "admin"]))
async def test_garbage_documents_are_always_handled(
    quiet_client: GraphQLClient, targets: Targets, document: str, caller: str
) -> None:
    await _send(quiet_client, Request(document), targets.token(caller))
