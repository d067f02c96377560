"""Prometheus metrics that stay correct across gunicorn workers (multiprocess mode).

With PROMETHEUS_MULTIPROC_DIR set (the image sets it), each worker writes its samples to files
in that directory and /metrics adds them up; gunicorn.conf.py marks dead workers and empties
the directory at startup. Without it (e.g. `flask run`), the process's own registry is served.
"""

import os
import time

from flask import Blueprint, Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.middleware import STARTED_AT

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

KNOWN_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
_children: dict[tuple[str, str, int], tuple] = {}  # labels -> (request counter, latency histogram)

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

    @app.after_request
    def observe(response: Response) -> Response:
        environ = request.environ
        elapsed = time.perf_counter() - environ.get(STARTED_AT, time.perf_counter())
        # Endpoint names, not raw paths, and a fixed set of methods keep the label set small
        # whatever clients send.
        method = environ.get("REQUEST_METHOD", "")
        labels = (
            request.endpoint or "unmatched",
            method if method in KNOWN_METHODS else "other",
            response.status_code,
        )
        counter, histogram = _children.get(labels) or _labelled(*labels)
        counter.inc()
        histogram.observe(elapsed)
        return response


def _labelled(endpoint: str, method: str, status: int) -> tuple:
    # labels() validates and looks up on every call; the children never change, so keep them.
    children = REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint, method)
    _children[endpoint, method, status] = children
    return children
