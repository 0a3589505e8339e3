"""What an essay answer was recognised as, when it is not a genuine attempt at the question.

A flagged essay scores at most ``FLAGGED_CEILING`` on accuracy and overall, whoever scored it,
and goes to the human review queue. The local scorer raises the flags (domain/essay_local.py);
an LLM's score is checked by the local scorer too, so its flags apply to LLM-scored essays.
"""

from __future__ import annotations

from enum import StrEnum


class EssayFlag(StrEnum):
    NO_ANSWER = "NO_ANSWER"  # a refusal, "I don't know", filler or no content words at all
    TOO_SHORT = "TOO_SHORT"  # too few content words to carry a claim
    OFF_TOPIC = "OFF_TOPIC"  # not about computing, or not about this question
    OTHER_QUESTION = "OTHER_QUESTION"  # an answer to another question of the bank
    RESTATES_QUESTION = "RESTATES_QUESTION"  # the question said back, nothing added
    KEYWORD_LIST = "KEYWORD_LIST"  # terms without claims: a list, a shuffle, or appended terms


# Flagged essays score at most this, on accuracy and overall (issue 12's rule).
FLAGGED_CEILING = 0.1


def parse_flags(values: object) -> tuple[EssayFlag, ...]:
    """Stored flags back to the enum; unknown values (a newer writer) are skipped, not fatal."""
    if not isinstance(values, list | tuple):
        return ()
    known = {flag.value for flag in EssayFlag}
    return tuple(EssayFlag(v) for v in values if isinstance(v, str) and v in known)
