"""`python -m schema` prints the SDL of the served schema (make schema)."""

from schema import schema

print(schema.as_str())
