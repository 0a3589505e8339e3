"""The served schema against ../shared/contract/schema.graphql.

Names of the contract not served yet are listed in contract_pending.txt; the list only shrinks
(the test fails when a listed name is served, so the list stays honest) and is empty when every
issue of the contract is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema as parse_sdl

from schema import schema as served_schema
from tests.support.contract import compare

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "schema" / "contract.graphql"
SHARED = ROOT.parent / "shared" / "contract" / "schema.graphql"
PENDING = Path(__file__).with_name("contract_pending.txt")


def _pending() -> set[str]:
    if not PENDING.exists():
        return set()
    lines = (line.strip() for line in PENDING.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def test_vendored_contract_is_the_shared_one() -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside this checkout")
    assert VENDORED.read_text() == SHARED.read_text(), (
        "schema/contract.graphql differs from ../shared/contract/schema.graphql: copy it again"
    )


def test_served_schema_matches_the_contract() -> None:
    missing, conflicts = compare(parse_sdl(VENDORED.read_text()), served_schema._schema)
    assert conflicts == [], "\n".join(conflicts)
    pending = _pending()
    not_listed = sorted(set(missing) - pending)
    served_now = sorted(pending - set(missing))
    assert not not_listed, "contract names missing from the served schema:\n" + "\n".join(
        not_listed
    )
    assert not served_now, "served now, remove from contract_pending.txt:\n" + "\n".join(served_now)
