"""What the service's logging keeps and drops."""

from __future__ import annotations

import logging

from strawberry.http.exceptions import WebSocketDisconnected

from jobs.observability import _client_left


def _record(error: BaseException) -> logging.LogRecord:
    return logging.LogRecord(
        "strawberry.ws.task", logging.ERROR, __file__, 1, "Exception in worker task", None,
        (type(error), error, None),
    )  # fmt: skip


def test_a_subscriber_leaving_is_not_logged_as_an_error() -> None:
    assert _client_left(_record(WebSocketDisconnected())) is False


def test_other_subscription_failures_are_still_logged() -> None:
    assert _client_left(_record(RuntimeError("boom"))) is True
