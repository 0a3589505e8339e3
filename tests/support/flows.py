"""GraphQL documents and small journeys shared by the lifecycle tests."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.client import GraphQLClient

QUESTION_FIELDS = """
id type prompt domain tracks difficulty active key
options { key text } correctOption referenceAnswer keyPoints interestArea
rubric { name description weight } scale { min max minLabel maxLabel }
"""
CREATE_QUESTION = f"""
mutation Create($input: QuestionInput!) {{
  createQuestion(input: $input) {{
    question {{ {QUESTION_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
UPDATE_QUESTION = f"""
mutation Update($id: ID!, $input: QuestionInput!) {{
  updateQuestion(id: $id, input: $input) {{
    question {{ {QUESTION_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
SET_ACTIVE = """
mutation Active($id: ID!, $active: Boolean!) {
  setQuestionActive(id: $id, active: $active) { question { id active } errors { code } }
}
"""
AQ_FIELDS = """
id orderNo type prompt domain answered answer
options { key text } rubric { name weight } scale { min max }
"""
ASSESSMENT_FIELDS = f"""
id track status createdAt expiresAt submittedAt completedAt answeredCount totalCount
composition {{ theoretical essay profile }} owner {{ id }}
questions {{ {AQ_FIELDS} }}
"""
START = f"""
mutation Start($input: StartAssessmentInput!) {{
  startAssessment(input: $input) {{
    assessment {{ {ASSESSMENT_FIELDS} }} reused errors {{ field code message }}
  }}
}}
"""
ANSWER = f"""
mutation Answer($input: AnswerInput!) {{
  answerQuestion(input: $input) {{
    assessment {{ id answeredCount status }}
    nextQuestion {{ {AQ_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
SAVE = """
mutation Save($input: SaveResponsesInput!) {
  saveResponses(input: $input) {
    saved assessment { id answeredCount status } job { id type status attempts }
    errors { field code message }
  }
}
"""
SUBMIT = """
mutation Submit($input: SubmitAssessmentInput!) {
  submitAssessment(input: $input) {
    assessment { id status submittedAt } job { id type status attempts createdAt }
    errors { field code message }
  }
}
"""
ASSESSMENT = f"query One($id: ID!) {{ assessment(id: $id) {{ {ASSESSMENT_FIELDS} }} }}"


SET_FORM = """
mutation Form($input: AssessmentFormInput!) {
  setAssessmentForm(input: $input) {
    form { name expiresInHours retakeCooldownHours composition { theoretical essay profile } }
    errors { field code message }
  }
}
"""


async def publish_form(
    client: GraphQLClient, admin_token: str, composition: dict[str, int], **extra: Any
) -> str:
    """An admin publishes a form of the test's own (a unique name); returns its name."""
    name = f"f-{uuid.uuid4().hex[:10]}"
    body = await client.data(
        SET_FORM, {"input": {"name": name, "composition": composition, **extra}}, admin_token
    )
    assert body["setAssessmentForm"]["errors"] == [], body
    return name


def track() -> str:
    """A track of the test's own, so the questions it creates stay out of other tests' way."""
    return f"t{uuid.uuid4().hex[:10]}"


async def start(
    client: GraphQLClient, token: str, track_name: str = "general", **extra: Any
) -> dict[str, Any]:
    body = await client.data(START, {"input": {"track": track_name, **extra}}, token)
    payload = body["startAssessment"]
    assert payload["errors"] == [], payload
    return payload["assessment"]  # type: ignore[no-any-return]


# An essay about nothing in particular: a non-answer the local scorer flags (OFF_TOPIC),
# for tests about what happens to flagged essays.
NON_ANSWER = "A reasoned answer that explains the idea, gives an example and its trade-offs."


@cache
def _reference_answers() -> dict[str, str]:
    """The shipped bank's essay prompts and reference answers: what a student who knows the
    subject would write (the test students answer genuinely; a non-answer is flagged)."""
    bank = yaml.safe_load((Path(__file__).resolve().parents[2] / "seeds" / "questions.yaml")
                          .read_text(encoding="utf-8"))  # fmt: skip
    return {
        q["prompt"].strip(): " ".join(q["reference_answer"].split())
        for q in bank["questions"]
        if q.get("type") == "ESSAY" and q.get("reference_answer")
    }


def genuine_essay(prompt: str) -> str:
    """A genuine answer to an essay question of the shipped bank (its reference answer), or
    for a question a test made, an answer built from the question's own words and more."""
    return _reference_answers().get(prompt.strip()) or (
        f"{prompt.strip().rstrip('?.')} works as follows: each step is explained with its "
        "reason, a concrete example shows how it behaves, and its trade-offs are compared."
    )


def valid_answer(question: dict[str, Any]) -> str:
    if question["type"] == "THEORETICAL":
        return str(question["options"][0]["key"])
    if question["type"] == "PROFILE":
        return str(question["scale"]["max"])
    return genuine_essay(str(question.get("prompt", "")))


async def answer_all(client: GraphQLClient, token: str, assessment: dict[str, Any]) -> None:
    responses = [
        {"questionId": q["id"], "answer": valid_answer(q)} for q in assessment["questions"]
    ]
    body = await client.data(
        SAVE, {"input": {"assessmentId": assessment["id"], "responses": responses}}, token
    )
    assert body["saveResponses"]["errors"] == [], body
