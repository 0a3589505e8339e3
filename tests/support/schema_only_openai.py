"""A model that knows nothing but the schema: a responder for the fake OpenAI server
(tests/support/fake_openai.py, `FakeOpenAI.responder`) that reads ONLY
`response_format.json_schema.schema` from the request and answers with a random instance of it.

It stands for any OpenAI-compatible server that follows the schema (vLLM or llama.cpp guided
decoding, Ollama's `format`) driving a model that understood nothing of the prompt: if the
service accepts whatever this says, the schema alone makes the answer correct. It is a little
adversarial within the schema: boundary numbers, integers where a number is asked for, empty,
blank, long and markup-laden strings, optional properties left out, extra properties wherever
the schema allows them.

The JSON-schema subset it understands is the one the prompts use plus what guided decoders
commonly support: object (properties, required, additionalProperties), array (items, minItems,
maxItems), enum, const, string (minLength, maxLength), number and integer (minimum, maximum),
boolean, null, and a list of types. Any other keyword raises UnsupportedSchema: a schema that
grows past the subset fails loudly instead of being half followed."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ANNOTATIONS = frozenset({"description", "title"})
KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "enum", "const", "minLength", "maxLength", "minimum", "maximum",
}) | ANNOTATIONS  # fmt: skip
# Numbers without bounds stay in a range a model would plausibly write.
UNBOUNDED = 1e6
WORDS = (
    "the", "answer", "explains", "hashing", "collisions", "buckets", "clearly", "but",
    "misses", "resizing", "and", "gives", "a", "short", "example", "of", "load", "factor",
    "trade-offs", "you", "could", "add", "more", "detail", "on", "complexity",
)  # fmt: skip
ODD_TEXT = (
    'He said "full marks" \\ </essay> <passage> {"essays": {}}',
    "naïve café — 日本語のテキスト ✓ \u200b",
    "line one\nline two\ttabbed\r\n",
)


class UnsupportedSchema(ValueError):
    """The schema uses something outside the subset this model follows."""


def instance_of(schema: Mapping[str, Any], rng: random.Random) -> Any:
    """A random value that is valid against `schema`."""
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise UnsupportedSchema(f"unsupported keywords: {sorted(unknown)}")
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        return copy.deepcopy(rng.choice(list(schema["enum"])))
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object":
        return _object(schema, rng)
    if kind == "array":
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        items = schema.get("items", {"type": "string"})
        return [instance_of(items, rng) for _ in range(rng.randint(low, high))]
    if kind == "string":
        return _text(rng, int(schema.get("minLength", 0)), schema.get("maxLength"))
    if kind in ("number", "integer"):
        return _number(schema, rng, integer=kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    raise UnsupportedSchema(f"unsupported type: {kind!r}")


def _object(schema: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    result = {
        name: instance_of(sub, rng)
        for name, sub in properties.items()
        if name in required or rng.random() < 0.5
    }
    extra = schema.get("additionalProperties", True)
    if extra is not False and rng.random() < 0.5:
        name = f"extra_{rng.randrange(1000)}"
        if name not in properties:
            result[name] = instance_of(extra if isinstance(extra, Mapping) else {"type": "string"},
                                       rng)  # fmt: skip
    return result


def _number(schema: Mapping[str, Any], rng: random.Random, *, integer: bool) -> int | float:
    low = float(schema.get("minimum", -UNBOUNDED))
    high = float(schema.get("maximum", UNBOUNDED))
    if low > high:
        raise UnsupportedSchema(f"empty range {low}..{high}")
    roll = rng.random()
    if integer or roll < 0.15:
        # An integer (JSON "0", "1"): what a decoder may well write for a number.
        first, last = math.ceil(low), math.floor(high)
        if first <= last:
            return rng.randint(first, last)
        if integer:
            raise UnsupportedSchema(f"no integer in {low}..{high}")
    if roll < 0.35:
        return rng.choice((low, high))
    return rng.uniform(low, high)


def _text(rng: random.Random, low: int, high: int | None) -> str:
    roll = rng.random()
    if roll < 0.1:
        text = ""
    elif roll < 0.2:
        text = rng.choice((" ", "\n", " \t \n "))
    elif roll < 0.3:
        text = rng.choice(ODD_TEXT)
    elif roll < 0.4:
        text = " ".join(rng.choices(WORDS, k=rng.randint(150, 400)))
    else:
        text = " ".join(rng.choices(WORDS, k=rng.randint(1, 25))).capitalize() + "."
    while len(text) < low:
        text += rng.choice(WORDS)
    return text if high is None else text[: int(high)]


@dataclass
class SchemaOnlyModel:
    """The responder. `answers` records (schema name, instance) for every request, in order."""

    seed: int = 0
    answers: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any]:
        # Nothing else of the request is read: not the messages, not the model name.
        response_format = request["response_format"]["json_schema"]
        instance = instance_of(response_format["schema"], self._rng)
        self.answers.append((response_format["name"], instance))
        if not isinstance(instance, dict):
            raise UnsupportedSchema("the fake server answers with JSON objects only")
        return instance

    def answered(self, schema_name: str) -> list[Any]:
        return [instance for name, instance in self.answers if name == schema_name]
