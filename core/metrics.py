"""Prometheus metrics. In-process counters per worker; with several workers, run them under
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR) so /metrics sums them."""

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest

REQUESTS = Counter("zhongtai_graphql_requests_total", "GraphQL requests", ["operation", "status"])
ERRORS = Counter("zhongtai_graphql_errors_total", "GraphQL errors by code", ["code"])
LATENCY = Histogram(
    "zhongtai_graphql_request_seconds",
    "GraphQL request latency",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SQL_STATEMENTS = Histogram(
    "zhongtai_sql_statements_per_request",
    "SQL statements per request",
    buckets=(0, 1, 2, 3, 4, 5, 8, 12, 20, 50),
)
RESERVATIONS = Counter("zhongtai_reservations_total", "Stock reservation outcomes", ["outcome"])
CHECKOUTS = Counter(
    "zhongtai_checkouts_total",
    "checkoutComplete outcomes: placed, replayed (same key) or the refusal code",
    ["outcome"],
)
PAYMENTS = Counter(
    "zhongtai_payments_total",
    "paymentConfirm outcomes: paid, late (recorded for refund) or the refusal code",
    ["outcome"],
)
RESPONSE_CACHE = Counter(
    "zhongtai_response_cache_total",
    "Answers by response cache outcome: hit, refresh (kept, its sellable numbers read "
    "again), miss (public, computed) or bypass (personal, staff or a mutation)",
    ["outcome"],
)
SWEEPS = Counter("zhongtai_sweeper_runs_total", "Reservation sweeper runs")
EXPIRED = Counter("zhongtai_reservations_expired_total", "Reservations expired by the sweeper")
DEPENDENCY_ERRORS = Counter(
    "zhongtai_dependency_errors_total",
    "Failed calls to an optional dependency (Redis), by what it was for",
    ["dependency", "use"],
)
DEGRADED = Gauge(
    "zhongtai_degraded",
    "1 while an optional dependency is down and the API works without it",
    ["dependency"],
    multiprocess_mode="max",
)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
