"""LIKE patterns built from text people typed (or ids, which contain `_`): their wildcards are
taken literally. Use with `.like(pattern, escape=ESCAPE)`."""

from __future__ import annotations

ESCAPE = "\\"


def literal(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
