"""Essay scorers: the offline one (MiniLM when its package is installed, else lexical), the LLM
one, and the policy that picks between them.

Policy: with OPENAI_API_KEY the LLM scores (one call for the essays of an assessment); when it
fails after its retries, is over the monthly budget or the assessment's call cap, the local
scorer stands in and the result says degraded=true (scoredBy LOCAL). Without a key the local
scorer is the configured scorer: not degraded."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

from domain import essay_local
from domain.essay_prompt import MalformedAnswer, build_messages, parse_answer, response_schema
from domain.essays import (
    CriterionScore,
    EssayResult,
    EssayTask,
    capped_for_flags,
    weighted_score,
)
from domain.feedback_guard import guard_feedback
from jobs.llm import LlmClient, LlmUnavailable
from jobs.minilm import MiniLMBackend, default_backend

log = logging.getLogger(__name__)


class EssayScorer(Protocol):
    name: str

    async def score(
        self, tasks: Sequence[EssayTask], *, assessment_id: uuid.UUID, call_key: str
    ) -> list[EssayResult]:
        """One result per task, in order. `call_key` identifies the job run for cost
        accounting, so a re-run of the same job never counts a call twice."""


# The encoder is CPU-bound numpy work: one thread of its own keeps it off the event loop and
# keeps concurrent essays from fighting over the cores.
_ENCODER_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm")


class LocalScorer:
    """Offline: the measured MiniLM alignment scorer, or its lexical fallback when the model
    package is not installed (see README: Essay scoring)."""

    def __init__(self, backend: MiniLMBackend | bool | None = True) -> None:
        self._backend: MiniLMBackend | None = (
            default_backend() if backend is True else (backend or None)
        )
        self.name = "local-minilm" if self._backend is not None else "local-lexical"
        self.version = f"{self.name}-1"

    def score_one(self, task: EssayTask) -> EssayResult:
        weights = {c.name: c.weight for c in task.rubric}
        scored = essay_local.score_essay(
            task.prompt,
            task.reference_answer or "",
            task.answer,
            key_points=list(task.key_points) or None,
            weights=weights,
            backend=self._backend,
            other_questions=task.other_questions,
        )
        measured = {"clarity": scored.clarity, "accuracy": scored.accuracy,
                    "coherence": scored.coherence}  # fmt: skip
        # Criteria the local model does not know are judged on content (its accuracy).
        criteria = tuple(
            CriterionScore(c.name, round(measured.get(c.name, scored.accuracy), 4),
                           _JUSTIFICATION.get(c.name, _JUSTIFICATION["accuracy"]))
            for c in task.rubric
        )  # fmt: skip
        return EssayResult(
            key=task.key,
            score=capped_for_flags(weighted_score(criteria, task.rubric), scored.flags),
            criteria=criteria,
            feedback=guarded(
                task, " ".join(scored.feedback) or "Your answer covers the key points."
            ),
            scored_by="local",
            prompt_version=self.version,
            model=self.name,
            flags=scored.flags,
        )

    async def score(
        self, tasks: Sequence[EssayTask], *, assessment_id: uuid.UUID, call_key: str
    ) -> list[EssayResult]:
        loop = asyncio.get_running_loop()
        return [await loop.run_in_executor(_ENCODER_POOL, self.score_one, t) for t in tasks]


def guarded(task: EssayTask, feedback: str) -> str:
    """Feedback as the student may see it: nothing of the key they have not written."""
    return guard_feedback(
        feedback,
        answer=task.answer,
        question=task.prompt,
        secrets=[task.reference_answer or "", *task.key_points],
    )


def with_second_opinion(result: EssayResult, local: EssayResult) -> EssayResult:
    """An LLM result checked by the local scorer: the local flags apply (a flagged essay
    scores at most FLAGGED_CEILING whoever scored it), the local score is kept beside it for
    the review queue, and the feedback is guarded like any other."""
    flags = local.flags
    criteria = result.criteria
    if flags:
        criteria = tuple(
            CriterionScore(c.name, capped_for_flags(c.score, flags), c.justification)
            for c in criteria
        )
    return replace(
        result,
        score=capped_for_flags(result.score, flags),
        criteria=criteria,
        flags=flags,
        local_score=local.score,
    )


_JUSTIFICATION = {
    "accuracy": "How much of the reference answer and its key points the essay covers.",
    "clarity": "Focus on the question, readable sentences, little repetition.",
    "coherence": "How much of the essay stays on the question's topic.",
}


class LlmScorer:
    """All essays of one assessment in one structured-output call; the local scorer stands in
    (degraded) when the LLM cannot be used."""

    name = "llm"

    def __init__(self, llm: LlmClient, fallback: LocalScorer, max_tokens: int) -> None:
        self.llm = llm
        self.fallback = fallback
        self.max_tokens = max_tokens

    async def score(
        self, tasks: Sequence[EssayTask], *, assessment_id: uuid.UUID, call_key: str
    ) -> list[EssayResult]:
        if not tasks:
            return []
        ids = [f"E{n}" for n in range(1, len(tasks) + 1)]
        # Defence in depth: text addressed to the grader is removed before the model sees it
        # (the prompt also says to ignore it).
        cleaned = [_without_injection(task) for task in tasks]
        try:
            results = await self.llm.complete_json(
                messages=build_messages(cleaned, ids),
                schema_name="essay_scores",
                schema=response_schema(tasks, ids),
                max_tokens=self.max_tokens * len(tasks),
                purpose="essays",
                assessment_id=assessment_id,
                call_key=call_key,
                parse=lambda raw: parse_answer(raw, tasks, ids, self.llm.model),
            )
        except (LlmUnavailable, MalformedAnswer) as exc:
            log.warning(
                "essays scored locally instead of by the LLM",
                extra={"reason": str(exc), "assessment": str(assessment_id)},
            )
            local = await self.fallback.score(tasks, assessment_id=assessment_id, call_key=call_key)
            return [result.as_fallback() for result in local]
        # The second opinion: cheap, and it catches what a lenient model lets through.
        local = await self.fallback.score(tasks, assessment_id=assessment_id, call_key=call_key)
        return [
            replace(with_second_opinion(result, second), feedback=guarded(task, result.feedback))
            for task, result, second in zip(tasks, results, local, strict=True)
        ]


def _without_injection(task: EssayTask) -> EssayTask:
    topic = f"{task.prompt} {task.reference_answer or ''} {' '.join(task.key_points)}"
    clean, removed = essay_local.strip_injections(task.answer, topic)
    if not removed:
        return task
    return EssayTask(task.key, task.prompt, clean or "(no answer)", task.reference_answer,
                     task.key_points, task.rubric)  # fmt: skip
