"""The GraphQL surface: Strawberry types, inputs, payloads, errors and the root types.

`build_schema(settings)` builds the served schema; `schema` is one built with default settings
(for `make schema` and tools)."""

from schema.build import build_schema

schema = build_schema()

__all__ = ["build_schema", "schema"]
