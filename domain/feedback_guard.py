"""The answer key never reaches the student through feedback.

Rule: feedback may not share a run of ``LEAK_RUN`` or more consecutive words with the reference
answer or a key point, unless the student's answer or the question already holds that run (then
nothing is revealed). Every feedback text goes through ``guard_feedback`` before it is stored or
shown, whoever wrote it (the local scorer, an LLM, an old stored row); a sentence that breaks
the rule is dropped, and when nothing is left a neutral sentence stands in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

LEAK_RUN = 5
WITHHELD = (
    "Some aspects of the question are not covered yet; compare your answer with the question."
)

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(text: str, n: int = LEAK_RUN) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def leaked_runs(
    feedback: str, *, secrets: Iterable[str], known: Iterable[str]
) -> set[tuple[str, ...]]:
    """The runs of LEAK_RUN words the feedback shares with a secret text (reference, key
    points) that no known text (the student's answer, the question) already holds."""
    secret = set().union(*(_runs(s) for s in secrets))
    if not secret:
        return set()
    public = set().union(*(_runs(k) for k in known))
    return (_runs(feedback) & secret) - public


def guard_feedback(feedback: str, *, answer: str, question: str, secrets: Sequence[str]) -> str:
    """The feedback without the sentences that would reveal the key (see module docstring)."""
    known = (answer, question)
    secrets = [s for s in secrets if s]
    if not secrets or not leaked_runs(feedback, secrets=secrets, known=known):
        return feedback
    kept = [
        sentence
        for sentence in _SENTENCE.split(feedback)
        if sentence.strip() and not leaked_runs(sentence, secrets=secrets, known=known)
    ]
    guarded = " ".join(kept)
    # Sentences kept on both sides of a dropped one can join into a run of their own.
    if not guarded or leaked_runs(guarded, secrets=secrets, known=known):
        return WITHHELD
    return guarded
