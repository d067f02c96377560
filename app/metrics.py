"""Prometheus metrics that stay correct across gunicorn workers (multiprocess mode).

With PROMETHEUS_MULTIPROC_DIR set (the image sets it), each worker writes its samples to files
in that directory and /metrics adds them up; gunicorn.conf.py marks dead workers and empties
the directory at startup. Without it (e.g. `flask run`), the process's own registry is served.
"""

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "dockerapp_http_requests_total",
    "HTTP requests served, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "dockerapp_http_request_duration_seconds",
    "Time to serve an HTTP request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REDIS_ERRORS = Counter(
    "dockerapp_redis_errors_total",
    "Redis calls that failed, by error class.",
    ["error"],
)

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def metrics() -> Response:
    """Serve every metric in the Prometheus text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Time every request and count it by endpoint, method and status."""
    app.register_blueprint(blueprint)

    @app.before_request
    def start_timer() -> None:
        g.metrics_started_at = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        # Endpoint names, not raw paths, keep the label set small whatever URLs clients send.
        endpoint = request.endpoint or "unmatched"
        elapsed = time.perf_counter() - g.get("metrics_started_at", time.perf_counter())
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, request.method).observe(elapsed)
        return response
