"""Compares a served GraphQL schema with the contract: what is missing, and what conflicts.

Adding is allowed; renaming, dropping or changing a type or a default is not. Descriptions do
not count."""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    is_non_null_type,
)


def _default(value: object) -> object:
    # A nullable argument without a default and one defaulting to null mean the same to clients.
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
        elif _default(mine.default_value) != _default(arg.default_value):
            conflicts.append(
                f"{where}({name}): default {mine.default_value!r} instead of {arg.default_value!r}"
            )
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
        if not isinstance(actual, type(expected)):
            conflicts.append(f"{name}: a {type(actual).__name__}, not a {type(expected).__name__}")
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
                elif _default(mine_input.default_value) != _default(field.default_value):
                    conflicts.append(
                        f"{where}: default {mine_input.default_value!r} instead of "
                        f"{field.default_value!r}"
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
