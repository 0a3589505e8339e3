"""Task functions, shared by the arq worker and the in-process runner.

The pipeline arrives with issue 4; until then the consumers acknowledge and do nothing, so
answering and submitting already go through the real queue port."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


async def score_essay(ctx: dict[str, Any], assessment_question_id: str) -> None:
    log.debug("score_essay queued", extra={"aq": assessment_question_id})


async def run_pipeline(ctx: dict[str, Any], assessment_id: str) -> None:
    log.debug("run_pipeline queued", extra={"assessment": assessment_id})


TASKS = {"score_essay": score_essay, "run_pipeline": run_pipeline}
