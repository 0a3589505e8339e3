"""The plumbing of essay review that needs no database: what a scorer is told about the other
questions of the bank, and how a human override enters the result's essays and profile."""

from __future__ import annotations

import uuid

from db.tables import AssessmentQuestion, EssayScore, EssayScoreOverride
from domain import ids
from domain.essay_flags import EssayFlag
from domain.essays import OtherQuestion
from jobs.pipeline import essay_items, essay_task, profile_from


def _question(bank_id: uuid.UUID | None, prompt: str = "Explain hashing.") -> AssessmentQuestion:
    return AssessmentQuestion(
        id=uuid.uuid4(), assessment_id=uuid.uuid4(), question_id=bank_id, type="essay",
        order_no=1, domain="databases", prompt_snapshot=prompt,
        answer_key_json={"referenceAnswer": "Buckets.", "keyPoints": ["collisions"]},
    )  # fmt: skip


def test_the_task_carries_the_other_essay_questions_but_not_its_own() -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    bank = [(own, "Explain hashing.", "Buckets."), (other, "What is a join?", "Rows matched.")]
    task = essay_task(_question(own), "An answer.", bank)
    assert task.other_questions == (OtherQuestion("What is a join?", "Rows matched."),)
    # A snapshot whose bank question was deleted is recognised by its prompt.
    assert essay_task(_question(None), "An answer.", bank).other_questions == (
        OtherQuestion("What is a join?", "Rows matched."),
    )
    assert essay_task(_question(own), "An answer.").other_questions == ()


def test_an_override_replaces_the_machine_score_and_resolves_the_review() -> None:
    question = _question(uuid.uuid4())
    row = EssayScore(
        id=uuid.uuid4(), assessment_id=question.assessment_id,
        assessment_question_id=question.id, answer_hash="h", score=0.8,
        rubric_json=[{"name": "accuracy", "score": 0.8, "justification": ""}],
        feedback="Fine.", scored_by="llm", flags=[EssayFlag.OFF_TOPIC.value, "FROM_THE_FUTURE"],
        local_score=0.2, needs_review=True,
    )  # fmt: skip
    answered = {question.id: "An answer."}
    [flagged] = essay_items([question], answered, {question.id: row}, {})
    assert flagged["flags"] == ["OFF_TOPIC"]  # unknown stored values are skipped
    assert flagged["needsReview"] is True
    assert flagged["essayScoreId"] == ids.encode(ids.Kind.ESSAY_SCORE, row.id)
    unsure = profile_from([], [flagged], [])
    assert any("awaiting human review" in r for r in unsure.confidence.reasons)

    human = EssayScoreOverride(
        id=uuid.uuid4(), essay_score_id=row.id, assessment_id=row.assessment_id,
        reviewer_id=None, score=0.1, rubric_json=[{"name": "accuracy", "score": 0.1}],
        reason="Off topic.",
    )  # fmt: skip
    [reviewed] = essay_items([question], answered, {question.id: row}, {row.id: human})
    assert reviewed["score"] == 0.1
    assert reviewed["machineScore"] == 0.8
    assert reviewed["localScore"] == 0.2
    assert reviewed["rubric"] == [{"name": "accuracy", "score": 0.1}]
    assert reviewed["needsReview"] is False
    assert reviewed["override"]["reason"] == "Off topic."
    assert reviewed["override"]["reviewerId"] is None
    profile = profile_from([], [reviewed], [])
    assert profile.overall == 0.1
    assert not any("review" in r for r in profile.confidence.reasons)
