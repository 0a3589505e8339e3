"""Compares a served GraphQL schema with the contract: what is missing, and what conflicts.

Adding is allowed; renaming, dropping or changing a type or a default is not. Descriptions do
not count."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    is_non_null_type,
    value_from_ast,
)

_KINDS = (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)


def _kind(named: GraphQLNamedType) -> type:
    """The GraphQL kind, not the Python class: Strawberry subclasses graphql-core's (its enums
    are CustomGraphQLEnumType), so comparing classes would fail one way round."""
    return next(kind for kind in _KINDS if isinstance(named, kind))


def _default(field: Any) -> object:
    """The default as a Python value, whether the schema came from SDL (graphql-core keeps the
    literal) or from code (a value). No default and a null default mean the same to clients."""
    if field.default_value is not Undefined:
        return field.default_value
    default = getattr(field, "default", None)
    if default is None:
        return None
    literal = getattr(default, "literal", None)
    if literal is not None:
        return value_from_ast(literal, field.type)
    value = getattr(default, "value", Undefined)
    return None if value is Undefined else value


def _args(
    where: str, contract: dict[str, GraphQLArgument], served: dict[str, GraphQLArgument]
) -> tuple[list[str], list[str]]:
    missing: list[str] = []
    conflicts: list[str] = []
    for name, arg in contract.items():
        mine = served.get(name)
        if mine is None:
            missing.append(f"{where}({name})")
            continue
        if str(mine.type) != str(arg.type):
            conflicts.append(f"{where}({name}): {mine.type} instead of {arg.type}")
        elif _default(mine) != _default(arg):
            conflicts.append(f"{where}({name}): default {_default(mine)!r} not {_default(arg)!r}")
    for name, arg in served.items():
        if name not in contract and is_non_null_type(arg.type) and arg.default_value is Undefined:
            conflicts.append(f"{where}({name}): added as required, which breaks clients")
    return missing, conflicts


def compare(contract: GraphQLSchema, served: GraphQLSchema) -> tuple[list[str], list[str]]:
    missing: list[str] = []
    conflicts: list[str] = []
    for name, expected in contract.type_map.items():
        if name.startswith("__"):
            continue
        actual: GraphQLNamedType | None = served.type_map.get(name)
        if actual is None:
            missing.append(name)
            continue
        if _kind(actual) is not _kind(expected):
            conflicts.append(
                f"{name}: a {_kind(actual).__name__}, not a {_kind(expected).__name__}"
            )
            continue
        if isinstance(expected, GraphQLEnumType):
            assert isinstance(actual, GraphQLEnumType)
            missing += [f"{name}.{v}" for v in expected.values if v not in actual.values]
        elif isinstance(expected, (GraphQLObjectType, GraphQLInterfaceType)):
            assert isinstance(actual, (GraphQLObjectType, GraphQLInterfaceType))
            wanted = {i.name for i in expected.interfaces}
            have = {i.name for i in actual.interfaces}
            conflicts += [f"{name} does not implement {i}" for i in sorted(wanted - have)]
            for field_name, field in expected.fields.items():
                mine = actual.fields.get(field_name)
                where = f"{name}.{field_name}"
                if mine is None:
                    missing.append(where)
                    continue
                if str(mine.type) != str(field.type):
                    conflicts.append(f"{where}: {mine.type} instead of {field.type}")
                more_missing, more_conflicts = _args(where, field.args, mine.args)
                missing += more_missing
                conflicts += more_conflicts
        elif isinstance(expected, GraphQLInputObjectType):
            assert isinstance(actual, GraphQLInputObjectType)
            for field_name, field in expected.fields.items():
                mine_input = actual.fields.get(field_name)
                where = f"{name}.{field_name}"
                if mine_input is None:
                    missing.append(where)
                    continue
                if str(mine_input.type) != str(field.type):
                    conflicts.append(f"{where}: {mine_input.type} instead of {field.type}")
                elif _default(mine_input) != _default(field):
                    conflicts.append(
                        f"{where}: default {_default(mine_input)!r} not {_default(field)!r}"
                    )
            for field_name, field in actual.fields.items():
                if (
                    field_name not in expected.fields
                    and is_non_null_type(field.type)
                    and field.default_value is Undefined
                ):
                    conflicts.append(f"{name}.{field_name}: added as required")
        elif isinstance(expected, GraphQLScalarType):
            pass
    return sorted(missing), sorted(conflicts)


if __name__ == "__main__":
    # `python -m tests.support.contract`: what the served schema and schema/contract.graphql
    # disagree on, both ways (tests/unit/test_contract.py asserts both lists are empty).
    from pathlib import Path

    from graphql import build_schema as parse_sdl

    from schema import schema as served

    root = Path(__file__).resolve().parents[2]
    contract = parse_sdl((root / "schema" / "contract.graphql").read_text())
    missing_names, conflict_lines = compare(contract, served._schema)
    unlisted_names, _ = compare(served._schema, contract)
    for title, lines in (
        ("conflicts", conflict_lines),
        ("in the contract, not served", missing_names),
        ("served, not in the contract", unlisted_names),
    ):
        print(f"{title}: {len(lines)}", *(f"  {line}" for line in lines), sep="\n")
