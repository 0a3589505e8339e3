"""One retry policy for every task, used by the arq worker and the in-process runner alike:
exponential backoff with full jitter, a timeout per try, a cap on tries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int
    timeout_seconds: float
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based): full jitter over an
        exponentially growing window, so retrying workers do not stampede together."""
        window = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return (rng or _rng).uniform(window / 2, window)

    def is_last(self, attempt: int) -> bool:
        return attempt >= self.max_tries


_rng = random.Random()  # noqa: S311  (spreading retries, not secrecy)

POLICIES = {
    # A pipeline try covers every remaining stage; LLM calls inside have their own timeouts.
    "run_pipeline": RetryPolicy(max_tries=5, timeout_seconds=240, base_delay=2, max_delay=60),
    "score_essay": RetryPolicy(max_tries=4, timeout_seconds=120, base_delay=2, max_delay=30),
    "deliver_webhook": RetryPolicy(max_tries=8, timeout_seconds=30, base_delay=2, max_delay=600),
    "rebuild_rag_index": RetryPolicy(max_tries=3, timeout_seconds=600, base_delay=5, max_delay=60),
    "rescore_essays": RetryPolicy(max_tries=3, timeout_seconds=240, base_delay=2, max_delay=30),
    "sweep": RetryPolicy(max_tries=1, timeout_seconds=60),
}
