"""Structured logs, the request id, and metrics (OpenTelemetry, exposed in Prometheus text).

Shared by the API and the worker. One MeterProvider per process: the Prometheus reader registers
itself in prometheus_client's global registry, so building it twice would duplicate every series.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter, _Gauge
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)

# Seconds, from a fast GraphQL call to a slow pipeline. OpenTelemetry's default buckets suit
# milliseconds and would put every request in the first bucket.
LATENCY_BUCKETS: Sequence[float] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip


# ---------------------------------------------------------------- logging

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Extra fields come from `extra={...}` on the log call."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (request_id := request_id_var.get()) is not None:
            entry["request_id"] = request_id
        if (job_id := job_id_var.get()) is not None:
            entry["job_id"] = job_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = {k: v for k, v in vars(record).items() if k not in _RESERVED and k[0] != "_"}
        if (request_id := request_id_var.get()) is not None:
            fields.setdefault("request_id", request_id)
        if (job_id := job_id_var.get()) is not None:
            fields.setdefault("job_id", job_id)
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if tail:
            line = f"{line}  {tail}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would be a second line per request without the operation or user;
    # the request middleware writes the one line that has them.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Strawberry logs every GraphQL error with its message, which can echo input values;
    # schema.errors logs them itself, without inputs.
    logging.getLogger("strawberry.execution").disabled = True
    logging.getLogger("strawberry.ws.task").addFilter(_client_left)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("chromadb").setLevel(max(logging.WARNING, root.level))


def _client_left(record: logging.LogRecord) -> bool:
    """Strawberry logs, with a traceback at ERROR, every subscription whose client closed the
    socket before the final `complete` message could be sent. A client leaving once it has the
    event it waited for is normal (the load benchmark logged one per student): not an error."""
    from strawberry.http.exceptions import WebSocketDisconnected

    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, WebSocketDisconnected)


# ---------------------------------------------------------------- metrics


class Metrics:
    """Every instrument of the service, in one place so names stay consistent."""

    def __init__(self, meter: Meter) -> None:
        self.graphql_requests: Counter = meter.create_counter(
            "graphql_requests", description="GraphQL operations by name and outcome"
        )
        self.graphql_duration: Histogram = meter.create_histogram(
            "graphql_request_duration",
            unit="s",
            description="GraphQL operation duration by name and outcome",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self.jobs: Counter = meter.create_counter(
            "jobs", description="Background jobs by task and event (started, succeeded, ...)"
        )
        self.stage_duration: Histogram = meter.create_histogram(
            "pipeline_stage_duration",
            unit="s",
            description="Duration of each pipeline stage",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self.submit_to_done: Histogram = meter.create_histogram(
            "assessment_submit_to_done",
            unit="s",
            description="From submitAssessment to DONE or FAILED",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self.sla_breaches: Counter = meter.create_counter(
            "assessment_sla_breaches",
            description="Assessments that took longer than PIPELINE_SLA_SECONDS",
        )
        self.subscribers: UpDownCounter = meter.create_up_down_counter(
            "websocket_subscribers", description="Open assessmentProgress subscriptions"
        )
        self.llm_calls: Counter = meter.create_counter(
            "llm_calls", description="LLM calls by purpose and outcome"
        )
        self.llm_cost: Counter = meter.create_counter(
            "llm_cost", unit="usd", description="LLM spend recorded by this process"
        )
        self.rate_limited: Counter = meter.create_counter(
            "rate_limited", description="Requests refused by a rate limit, by limit"
        )
        self.queue_depth: _Gauge = meter.create_gauge(
            "queue_depth", description="Jobs in the queue (waiting, deferred or running)"
        )
        self.oldest_job_age: _Gauge = meter.create_gauge(
            "queue_oldest_job_age", unit="s", description="Age of the oldest job still waiting"
        )
        self.llm_spend_month: _Gauge = meter.create_gauge(
            "llm_spend_month", unit="usd", description="LLM spend recorded this calendar month"
        )
        self.llm_budget: _Gauge = meter.create_gauge(
            "llm_budget_month", unit="usd", description="LLM_MONTHLY_BUDGET_USD"
        )
        # A series appears only after its first data point; start these at zero so dashboards
        # and alerts see them from the first scrape.
        self.subscribers.add(0)
        self.sla_breaches.add(0)


@cache
def metrics() -> Metrics:
    reader = PrometheusMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "microcred-assess"}),
    )
    return Metrics(provider.get_meter("microcred-assess"))


def prometheus_text() -> bytes:
    from prometheus_client import generate_latest

    metrics()  # make sure the reader is registered before the first scrape
    return generate_latest()
