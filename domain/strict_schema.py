"""The JSON-schema subset the LLM prompts use for structured output, chosen so that the schema
alone makes an answer complete.

A server that follows a schema (OpenAI strict mode, vLLM or llama.cpp guided decoding, Ollama's
`format`) guarantees only what the schema says. So every object here is closed and lists every
property as required (OpenAI strict mode demands both, and with them a decoder can neither leave
a key out nor invent one), and what the service needs one of each of (an essay, a rubric
criterion, a credential) is a property named after it, not an item of an array: "every id
exactly once" is not expressible for arrays in the subset those servers share (no uniqueItems,
no prefixItems in OpenAI strict mode), while required property names say it. The only other
keywords used are `type`, `minimum` and `maximum`, which all of them accept."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TEXT: dict[str, Any] = {"type": "string"}
# Guided decoders that ignore the bounds of a number are still safe: parsers clamp to 0..1.
UNIT_SCORE: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": 1}


def closed_object(properties: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """An object with exactly these properties, all required, in this order (decoders write
    them in schema order, so the order is the order the model thinks in)."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def named(names: Iterable[str], schema: dict[str, Any]) -> dict[str, Any]:
    """A closed object with one required property per name (duplicates once), each `schema`."""
    return closed_object({name: schema for name in dict.fromkeys(names)})
