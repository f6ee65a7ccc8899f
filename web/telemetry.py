"""What every GraphQL request leaves behind: Prometheus metrics and one access-log line."""

from __future__ import annotations

from typing import Any

from core import logs
from core import metrics
from resolvers.context import Context
from schema.limits import Cost


def observe(
    label: str,
    context: Context,
    name: str | None,
    failed: bool,
    errors: list[dict[str, Any]],
    statements: int,
    seconds: float,
    cost: Cost | None,
    cache_status: str,
) -> None:
    metrics.REQUESTS.labels(label, "error" if failed else "ok").inc()
    metrics.LATENCY.labels(label).observe(seconds)
    metrics.SQL_STATEMENTS.observe(statements)
    for error in errors:
        metrics.ERRORS.labels(error["extensions"]["code"]).inc()
    metrics.RESPONSE_CACHE.labels(cache_status).inc()
    logs.ACCESS.info(
        "graphql",
        extra={
            "request_id": context.request_id,
            "operation": (name or "anonymous")[:100],
            "duration_ms": round(seconds * 1000, 2),
            "cost": cost.requested if cost else None,
            "sql_statements": statements,
            "errors": [e["extensions"]["code"] for e in errors],
            "staff_id": context.viewer.staff_id,
            "customer_id": context.viewer.customer_id,
            "channel": context.channel.value,
            "cache": cache_status,
        },
    )
