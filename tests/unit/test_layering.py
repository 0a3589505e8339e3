"""The dependency direction of ARCHITECTURE.md: domain <- db, jobs <- resolvers <- schema <- app.

domain never imports a framework or an I/O library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["domain", "db", "jobs", "resolvers", "schema", "app"]
# What each layer may not import (its own and lower layers are fine).
FORBIDDEN: dict[str, set[str]] = {
    "domain": {"db", "jobs", "resolvers", "schema", "app", "settings", "seeds"},
    "db": {"jobs", "resolvers", "schema", "app", "seeds"},
    "jobs": {"resolvers", "schema", "app", "seeds"},
    "resolvers": {"schema", "app", "seeds"},
    "schema": {"app", "seeds"},
    # The network edge (forwarded headers, timeouts) sits beside settings: every layer above
    # domain may read the client address from it, and it imports none of them.
    "serving": {"db", "jobs", "resolvers", "schema", "app", "seeds"},
}
DOMAIN_ALLOWED_THIRD_PARTY = {"bcrypt", "jwt", "email_validator"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _files(layer: str) -> list[Path]:
    if layer == "app":
        return [ROOT / "app.py"]
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_down(layer: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files(layer)
        for name in _imports(path) & FORBIDDEN[layer]
    }
    assert not offenders, sorted(offenders)


def test_domain_is_pure() -> None:
    stdlib = set(sys.stdlib_module_names)
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files("domain")
        for name in _imports(path)
        if name not in stdlib
        and name != "domain"
        and name not in DOMAIN_ALLOWED_THIRD_PARTY
        and name != "__future__"
    }
    assert not offenders, sorted(offenders)
