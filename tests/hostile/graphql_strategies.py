"""Hypothesis strategies that write GraphQL requests against the served schema.

`operations()` picks a root field of Query or Mutation, fills its arguments with literals or
variables of the right type, the wrong type, or random JSON, and selects a few fields of what it
returns: syntactically valid documents that reach validation, coercion and the resolvers.
`garbage_documents()` is text that only looks like GraphQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)
from hypothesis import strategies as st

HUGE_INTS = st.sampled_from([2**31, -(2**31) - 1, 2**53 + 1, 10**30, -(10**40)])
NASTY_STRINGS = st.sampled_from(
    ["", " ", "NaN", "Infinity", "-0", "1e309", "null", "undefined", "true", "0x7f", "\x00",
     "\u202e", "a" * 5000, "<script>", "'; DROP TABLE users; --", "%s%n", "../../etc/passwd",
     "asmt_" + "Z" * 26, "usr_00000000000000000000000000", "\ud800", "\U0001f600"],
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=40), NASTY_STRINGS)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    HUGE_INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def deep_nesting(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


ODD_VARIABLE_VALUES: st.SearchStrategy[Any] = st.one_of(
    JSON_VALUES, st.integers(5, 60).map(deep_nesting), st.just([{}] * 50), st.just({"": None})
)


@dataclass
class Request:
    """A document with its variables, written by the strategies below."""

    query: str
    variables: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.query}\nvariables: {json.dumps(self.variables)[:500]}"


class _Writer:
    """Collects variable definitions while a document is written."""

    def __init__(self, draw: st.DrawFn, ids: list[str], hostile: bool) -> None:
        self.draw = draw
        self.ids = ids
        # A well-typed request reaches the resolvers (hostile only in its string contents and
        # ids); a hostile one also breaks types, leaves out required arguments and so on.
        self.hostile = hostile
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}

    # -------------------------------------------------------------- arguments

    def argument(self, type_: GraphQLInputType) -> str:
        choices = ["literal", "literal", "variable", "wrong", "null"]
        choice = self.draw(st.sampled_from(choices if self.hostile else choices[:3]))
        if choice == "literal":
            return self.literal(type_, depth=0)
        if choice == "variable":
            return self.variable(type_)
        if choice == "null":
            return "null"
        return self.draw(_wrong_literals(self.ids))

    def variable(self, type_: GraphQLInputType) -> str:
        name = f"v{len(self.definitions)}"
        declared = str(type_)
        if self.hostile and self.draw(st.integers(0, 9)) == 0:  # a type that does not fit
            declared = self.draw(st.sampled_from(["Int", "[String!]!", "Boolean!", "ID", "Float"]))
        self.definitions.append(f"${name}: {declared}")
        if not self.hostile or self.draw(st.booleans()):
            self.variables[name] = self.value(type_, depth=0)
        elif self.draw(st.booleans()):
            self.variables[name] = self.draw(ODD_VARIABLE_VALUES)
        # else: left out, which a non-null variable must refuse
        return f"${name}"

    def literal(self, type_: GraphQLInputType, depth: int) -> str:
        if isinstance(type_, GraphQLNonNull):
            return self.literal(type_.of_type, depth)
        if isinstance(type_, GraphQLList):
            items = self.draw(st.integers(0, 3))
            return (
                "[" + ", ".join(self.literal(type_.of_type, depth + 1) for _ in range(items)) + "]"
            )
        if isinstance(type_, GraphQLEnumType):
            wrong = ["NOT_A_VALUE"] if self.hostile else []
            return str(self.draw(st.sampled_from([*type_.values, *wrong])))
        if isinstance(type_, GraphQLInputObjectType):
            if depth > 3:
                return "{}"
            parts = []
            for name, input_field in type_.fields.items():
                required = isinstance(input_field.type, GraphQLNonNull)
                if required or self.draw(st.booleans()):
                    parts.append(f"{name}: {self.literal(input_field.type, depth + 1)}")
            if self.hostile and self.draw(st.integers(0, 9)) == 0:
                parts.append("unknownField: 1")
            return "{" + ", ".join(parts) + "}"
        return _scalar_literal(self.draw(_scalar_values(type_, self.ids, self.hostile)))

    def value(self, type_: GraphQLInputType, depth: int) -> Any:
        """A JSON value for a variable of this type (mostly fitting, now and then not)."""
        if isinstance(type_, GraphQLNonNull):
            return self.value(type_.of_type, depth)
        if isinstance(type_, GraphQLList):
            return [
                self.value(type_.of_type, depth + 1) for _ in range(self.draw(st.integers(0, 3)))
            ]
        if isinstance(type_, GraphQLEnumType):
            wrong = ["not_a_value", 3] if self.hostile else []
            return self.draw(st.sampled_from([*type_.values, *wrong]))
        if isinstance(type_, GraphQLInputObjectType):
            if depth > 3:
                return {}
            value = {}
            for name, input_field in type_.fields.items():
                if isinstance(input_field.type, GraphQLNonNull) or self.draw(st.booleans()):
                    value[name] = self.value(input_field.type, depth + 1)
            return value
        if self.hostile and self.draw(st.integers(0, 7)) == 0:
            return self.draw(JSON_VALUES)
        return self.draw(_scalar_values(type_, self.ids, self.hostile))

    # -------------------------------------------------------------- selections

    def selection(self, output: Any, depth: int = 0) -> str:
        named = get_named_type(output)
        if is_leaf_type(named):
            return ""
        if isinstance(named, GraphQLUnionType):
            return "{ __typename }"
        assert isinstance(named, (GraphQLObjectType, GraphQLInterfaceType))
        chosen = ["__typename"]
        if "errors" in named.fields:  # payloads: their problems must carry codes
            chosen.append("errors { field code message }")
        candidates = [
            (name, f)
            for name, f in named.fields.items()
            if not any(isinstance(a.type, GraphQLNonNull) for a in f.args.values())
        ]
        if candidates:
            picked = self.draw(
                st.lists(st.sampled_from(candidates), max_size=4, unique_by=lambda c: c[0])
            )
            for name, sub in picked:
                if is_leaf_type(get_named_type(sub.type)):
                    chosen.append(name)
                elif depth < 2:
                    chosen.append(f"{name} {self.selection(sub.type, depth + 1)}")
        if isinstance(named, GraphQLInterfaceType):
            chosen.append("... on Node { id }")
        return "{ " + " ".join(chosen) + " }"

    def field(self, name: str, definition: GraphQLField) -> str:
        arguments = []
        for arg_name, arg in definition.args.items():
            required = isinstance(arg.type, GraphQLNonNull)
            if required or self.draw(st.integers(0, 2)) == 0:
                if required and self.hostile and self.draw(st.integers(0, 11)) == 0:
                    continue  # a required argument left out
                arguments.append(f"{arg_name}: {self.argument(arg.type)}")
        if self.hostile and self.draw(st.integers(0, 15)) == 0:
            arguments.append(f"notAnArgument: {self.draw(_wrong_literals(self.ids))}")
        args = f"({', '.join(arguments)})" if arguments else ""
        return f"{name}{args} {self.selection(definition.type)}"


def _scalar_values(
    type_: GraphQLScalarType, ids: list[str], hostile: bool
) -> st.SearchStrategy[Any]:
    name = type_.name
    if name == "Int":
        return st.one_of(st.integers(-5, 100), HUGE_INTS) if hostile else st.integers(-5, 100)
    if name == "Float":
        return st.one_of(st.floats(-1e6, 1e6), st.just(1e308), st.just(-0.0))
    if name == "Boolean":
        return st.booleans()
    if name == "ID":
        return st.one_of(st.sampled_from(ids), TEXT)
    return TEXT


def _scalar_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if value is None:
        return "null"
    # JSON string escapes are GraphQL string escapes (a lone surrogate escape is a syntax error
    # in GraphQL, which is what a hostile client gets).
    return json.dumps(str(value))


def _wrong_literals(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(10**40), 10**40).map(str),
        TEXT.map(json.dumps),
        st.sampled_from(["true", "null", "[]", "{}", "[[[]]]", "{a: {b: {c: 1}}}", "$undeclared",
                         "ENUM_LIKE", "1.5e400", '"""block\nstring"""', "[1, \"a\", null]"]),
        st.sampled_from(ids).map(json.dumps),
    )  # fmt: skip


@st.composite
def operations(
    draw: st.DrawFn, schema: GraphQLSchema, ids: list[str], skip: frozenset[str] = frozenset()
) -> Request:
    """One or two root fields of Query or Mutation with fuzzed arguments."""
    kind = draw(st.sampled_from(["query", "mutation"]))
    root = schema.query_type if kind == "query" else schema.mutation_type
    assert root is not None
    names = sorted(n for n in root.fields if n not in skip)
    writer = _Writer(draw, ids, hostile=draw(st.booleans()))
    picked = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    fields = [writer.field(name, root.fields[name]) for name in picked]
    definitions = f"({', '.join(writer.definitions)})" if writer.definitions else ""
    query = f"{kind} Fuzz{definitions} {{ {' '.join(fields)} }}"
    return Request(query, writer.variables)


GRAPHQL_TOKENS = st.sampled_from(
    ["{", "}", "(", ")", "[", "]", ":", "$", "@", "!", "=", "|", "&", "...", "query", "mutation",
     "subscription", "fragment", "on", "me", "node", "health", "id", "__typename", "__schema",
     "input", '"', '"""', "\\u0000", "1", "-0", "1e999", "true", "null", "#", ",", "\n", "\ufeff",
     "\x00", "\U0001f600"],
)  # fmt: skip


def garbage_documents() -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(GRAPHQL_TOKENS, max_size=60).map(" ".join),
        st.text(max_size=200),
        st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    )
