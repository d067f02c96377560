"""Health endpoints for load balancers and orchestrators."""

import socket

from flask import Blueprint, Response, current_app, jsonify

from app.store import StorageUnavailable, current_store

blueprint = Blueprint("health", __name__)
# The container's name: /healthz and the page show it, so people can tell replicas apart.
HOSTNAME = socket.gethostname()


@blueprint.get("/healthz")
def healthz() -> Response:
    """Liveness: the process serves. No Redis call, so a Redis outage never restarts the app."""
    settings = current_app.extensions["settings"]
    return jsonify(
        status="ok", version=settings.version, revision=settings.revision, hostname=HOSTNAME
    )


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: Redis answers PING (within the store's sub-second timeouts)."""
    try:
        current_store().ping()
    except StorageUnavailable:
        # The reason (host, port, errno) stays out of the body; the Redis error metric counts it.
        return jsonify(status="unavailable", detail="Redis did not answer PING"), 503
    return jsonify(status="ready"), 200
