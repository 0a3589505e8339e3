"""The served schema against the repository's own contract, schema/contract.graphql.

Both ways: every name of the file is served with its shape (clients are written against it),
and everything served is in the file (an addition is written down where clients read the
contract). So the file equals the served schema, ordering and descriptions aside."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as parse_sdl

from schema import schema as served_schema
from tests.support.contract import compare

CONTRACT = Path(__file__).resolve().parents[2] / "schema" / "contract.graphql"


def test_served_schema_has_every_name_of_the_contract() -> None:
    missing, conflicts = compare(parse_sdl(CONTRACT.read_text()), served_schema._schema)
    assert conflicts == [], "\n".join(conflicts)
    assert missing == [], "contract names missing from the served schema:\n" + "\n".join(missing)


def test_contract_lists_everything_served() -> None:
    unlisted, conflicts = compare(served_schema._schema, parse_sdl(CONTRACT.read_text()))
    assert conflicts == [], "\n".join(conflicts)
    assert unlisted == [], (
        "served but not in schema/contract.graphql (add them there; "
        "`python -m tests.support.contract` lists them):\n" + "\n".join(unlisted)
    )
