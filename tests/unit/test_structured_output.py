"""Structured output that a schema alone makes correct (issue 12, point 3): the essay-scoring and
explanation schemas are built per request, stay valid for OpenAI strict mode, and every
instance of them is an answer the parsers accept; and the schema-only model the api test uses
really produces schema-valid instances of the subset it claims."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from domain import fusion_prompt
from domain.essay_prompt import (
    PROMPT_VERSION,
    MalformedAnswer,
    parse_answer,
    response_schema,
)
from domain.essays import EssayTask, clamp01
from domain.questions import Criterion
from tests.support.schema_only_openai import SchemaOnlyModel, UnsupportedSchema, instance_of

SEEDS = range(300)
# What OpenAI strict mode accepts (its Structured Outputs guide, "Supported schemas").
OPENAI_STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "anyOf", "$defs", "$ref", "description", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "pattern", "format",
}  # fmt: skip
OPENAI_MAX_DEPTH = 10


def _subschemas(schema: dict[str, Any], depth: int = 1) -> Iterator[tuple[dict[str, Any], int]]:
    yield schema, depth
    for sub in schema.get("properties", {}).values():
        yield from _subschemas(sub, depth + 1)
    if "items" in schema:
        yield from _subschemas(schema["items"], depth + 1)


def _strict_problems(schema: dict[str, Any]) -> list[str]:
    problems = [] if schema.get("type") == "object" else ["the root is not an object"]
    for sub, depth in _subschemas(schema):
        problems += [f"keyword {k}" for k in set(sub) - OPENAI_STRICT_KEYWORDS]
        if depth > OPENAI_MAX_DEPTH:
            problems.append(f"nested {depth} deep")
        if sub.get("type") == "object":
            if sub.get("additionalProperties") is not False:
                problems.append(f"open object {sorted(sub['properties'])}")
            if sub.get("required") != list(sub["properties"]):
                problems.append(f"not all required: {sub.get('required')}")
    return problems


def _rubric(rng: random.Random) -> tuple[Criterion, ...]:
    names = rng.sample(["clarity", "accuracy", "coherence", "depth", "examples", "security-risks",
                        "trade_offs", "terminology", "structure"], rng.randint(1, 8))  # fmt: skip
    return tuple(Criterion(n, f"About {n}.", rng.choice([0.5, 1.0, 2.0])) for n in names)


def _tasks(rng: random.Random) -> tuple[list[EssayTask], list[str]]:
    tasks = [
        EssayTask(f"q{n}", f"Question {n}?", f"Answer {n}.", rubric=_rubric(rng))
        for n in range(rng.randint(1, 5))
    ]
    return tasks, [f"E{n}" for n in range(1, len(tasks) + 1)]


TASKS = [
    EssayTask("q1", "What is a stack?", "LIFO.",
              rubric=(Criterion("clarity"), Criterion("accuracy", weight=2.0))),
    EssayTask("q2", "What is DNS?", "Names to addresses.", rubric=(Criterion("depth"),)),
]  # fmt: skip


def test_the_essay_schema_names_every_essay_and_every_criterion_of_that_essay() -> None:
    schema = response_schema(TASKS, ["E1", "E2"])
    essays = schema["properties"]["essays"]
    assert essays["required"] == ["E1", "E2"]
    assert essays["additionalProperties"] is False
    first = essays["properties"]["E1"]["properties"]["criteria"]
    second = essays["properties"]["E2"]["properties"]["criteria"]
    assert first["required"] == ["clarity", "accuracy"]
    assert second["required"] == ["depth"]  # each essay its own rubric
    assert first["properties"]["clarity"]["properties"]["score"] == {
        "type": "number", "minimum": 0, "maximum": 1,
    }  # fmt: skip
    assert _strict_problems(schema) == []
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_explanation_schema_names_every_credential_given() -> None:
    schema = fusion_prompt.response_schema(["net-basics", "sec-intro", "net-basics"])
    reasons = schema["properties"]["reasons"]
    assert reasons["required"] == ["net-basics", "sec-intro"]
    assert reasons["additionalProperties"] is False
    assert schema["required"] == ["summary", "reasons"]
    assert _strict_problems(schema) == []
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_instance_of_the_essay_schema_is_accepted(seed: int) -> None:
    rng = random.Random(seed)
    tasks, ids = _tasks(rng)
    schema = response_schema(tasks, ids)
    assert _strict_problems(schema) == []
    instance = instance_of(schema, rng)
    jsonschema.validate(instance, schema)
    results = parse_answer(json.dumps(instance), tasks, ids, "any-model")
    assert [r.key for r in results] == [t.key for t in tasks]
    for essay_id, task, result in zip(ids, tasks, results, strict=True):
        given = instance["essays"][essay_id]["criteria"]
        assert [c.name for c in result.criteria] == [c.name for c in task.rubric]
        assert [c.score for c in result.criteria] == [
            round(clamp01(given[c.name]["score"]), 4) for c in task.rubric
        ]
        assert 0.0 <= result.score <= 1.0
        assert result.feedback.strip()
        assert (result.scored_by, result.degraded, result.prompt_version) == (
            "llm", False, PROMPT_VERSION,
        )  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_every_instance_of_the_explanation_schema_is_accepted(seed: int) -> None:
    rng = random.Random(seed)
    slugs = rng.sample(["net-basics", "sec-intro", "cloud-101", "py-data", "k8s-admin"],
                       rng.randint(1, 5))  # fmt: skip
    schema = fusion_prompt.response_schema(slugs)
    instance = instance_of(schema, rng)
    jsonschema.validate(instance, schema)
    answer = fusion_prompt.parse_answer(json.dumps(instance), slugs)
    assert set(answer.reasons) == set(slugs)
    assert answer.summary.strip()
    assert all(r.strip() and len(r) <= fusion_prompt.REASON_MAX for r in answer.reasons.values())


def test_blank_explanation_text_is_accepted_with_a_neutral_sentence() -> None:
    raw = json.dumps({"summary": " ", "reasons": {"a": "", "b": "Fits you."}})
    answer = fusion_prompt.parse_answer(raw, ["a", "b"])
    assert answer.summary == fusion_prompt.NO_SUMMARY
    assert answer.reasons == {"a": fusion_prompt.NO_REASON, "b": "Fits you."}


@pytest.mark.parametrize(
    "document",
    [
        {"summary": "S.", "reasons": {"a": "R."}},  # b left out
        {"summary": "S.", "reasons": {"a": "R.", "b": "R.", "made-up": "R."}},
        {"summary": "S.", "reasons": {"a": "R.", "b": 3}},
        {"summary": "S.", "reasons": ["a", "b"]},
    ],
)
def test_explanations_outside_the_schema_are_still_refused(document: dict[str, Any]) -> None:
    with pytest.raises(MalformedAnswer):
        fusion_prompt.parse_answer(json.dumps(document), ["a", "b"])


def _keyed(**essays: Any) -> str:
    return json.dumps({"essays": essays})


GOOD_E1 = {
    "criteria": {"clarity": {"justification": "ok", "score": 0.5},
                 "accuracy": {"justification": "ok", "score": 1}},
    "feedback": "Fine.",
}  # fmt: skip
GOOD_E2 = {"criteria": {"depth": {"justification": "", "score": 0}}, "feedback": "Fine."}


def test_keyed_essays_are_scored_and_capitalised_names_are_matched() -> None:
    shouting = {**GOOD_E1, "criteria": {"Clarity": {"justification": "", "score": 0.5},
                                        "ACCURACY": {"justification": "", "score": 1}}}  # fmt: skip
    first, second = parse_answer(_keyed(E1=shouting, E2=GOOD_E2), TASKS, ["E1", "E2"], "m")
    assert first.score == pytest.approx((0.5 + 2 * 1.0) / 3, abs=1e-4)
    assert second.score == 0.0


@pytest.mark.parametrize(
    "raw",
    [
        _keyed(E1=GOOD_E1),  # E2 left out
        _keyed(E1=GOOD_E1, E2={**GOOD_E2, "criteria": {}}),  # a criterion left out
        _keyed(E1=GOOD_E1, E2={**GOOD_E2, "criteria": {"depth": {"score": True}}}),
        _keyed(E1=GOOD_E1, E2={"criteria": GOOD_E2["criteria"]}),  # no feedback
        _keyed(E1=GOOD_E1, E2={**GOOD_E2, "criteria": [0.5]}),
        json.dumps({"essays": "E1"}),
    ],
)
def test_keyed_answers_outside_the_schema_are_still_refused(raw: str) -> None:
    with pytest.raises(MalformedAnswer):
        parse_answer(raw, TASKS, ["E1", "E2"], "m")


# The generator itself: a schema using every keyword of its subset.
EVERYTHING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["a", "b", 3]},
        "fixed": {"const": {"x": [1, 2]}},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 5},
                 "minItems": 1, "maxItems": 4},
        "count": {"type": "integer", "minimum": -3, "maximum": 7},
        "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.5},
        "free": {"type": "number"},
        "flag": {"type": "boolean"},
        "maybe": {"type": ["string", "null"]},
        "open": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "typed_extra": {"type": "object", "properties": {},
                        "additionalProperties": {"type": "boolean"}},
    },
    "required": ["kind", "tags", "count"],
    "additionalProperties": False,
    "description": "annotations are ignored",
}  # fmt: skip


def test_the_generator_output_validates_against_its_schema() -> None:
    instances = [instance_of(EVERYTHING, random.Random(seed)) for seed in SEEDS]
    for instance in instances:
        jsonschema.validate(instance, EVERYTHING)
    # It explores what the schema allows: optional properties both present and absent, extra
    # keys where objects are open, integers and boundaries where numbers are asked for.
    assert {("ratio" in i) for i in instances} == {True, False}
    assert any(set(i.get("open", {})) - {"n"} for i in instances)
    assert {0.25, 0.5} <= {i["ratio"] for i in instances if "ratio" in i}
    assert {-3, 7} <= {i["count"] for i in instances}
    assert any(isinstance(i.get("free"), int) for i in instances)


def test_the_generator_is_seeded() -> None:
    assert instance_of(EVERYTHING, random.Random(5)) == instance_of(EVERYTHING, random.Random(5))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^a$"},
        {"type": "object", "properties": {"a": {"anyOf": [{}]}}, "required": ["a"]},
        {"properties": {}},
        {"type": "integer", "minimum": 0.2, "maximum": 0.8},
    ],
)
def test_the_generator_refuses_what_it_does_not_follow(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        instance_of(schema, random.Random(0))


def test_the_schema_only_model_reads_nothing_but_the_schema() -> None:
    schema = response_schema(TASKS, ["E1", "E2"])
    response_format = {"type": "json_schema",
                       "json_schema": {"name": "essay_scores", "schema": schema}}  # fmt: skip
    request = {"response_format": response_format}
    model = SchemaOnlyModel(seed=3)
    answer = model(request)  # no messages, no model name: it needs neither
    assert model.answered("essay_scores") == [answer]
    assert SchemaOnlyModel(seed=3)({**request, "messages": [{"content": "E9"}]}) == answer
    jsonschema.validate(answer, schema)
