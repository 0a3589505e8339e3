"""Feedback read back from storage, checked against the answer key before anyone sees it.

Rows written before the feedback guard existed (domain/feedback_guard.py) may quote the key;
whatever shows or exports stored feedback passes it through here, so old rows cannot leak it."""

from __future__ import annotations

from collections.abc import Mapping

from domain.feedback_guard import guard_feedback


def guarded(
    feedback: str | None, *, prompt: str, answer_key: Mapping[str, object], answer: str | None
) -> str | None:
    """`answer_key` is an assessment question's snapshot of the key (referenceAnswer,
    keyPoints); what the student wrote and the question they saw may be repeated freely."""
    if not feedback:
        return feedback
    reference = answer_key.get("referenceAnswer")
    points = answer_key.get("keyPoints")
    secrets = [reference if isinstance(reference, str) else ""]
    if isinstance(points, list | tuple):
        secrets += [p for p in points if isinstance(p, str)]
    return guard_feedback(feedback, answer=answer or "", question=prompt, secrets=secrets)
