"""Health endpoints for load balancers and orchestrators."""

import socket

from flask import Blueprint, Response, current_app, jsonify

from app.store import StorageUnavailable

blueprint = Blueprint("health", __name__)
HOSTNAME = socket.gethostname()  # the container's, so a client can tell replicas apart


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
        current_app.extensions["store"].ping()
    except StorageUnavailable:
        # The reason (host, port, errno) stays out of the body; the Redis error metric counts it.
        return jsonify(status="unavailable", detail="Redis did not answer PING"), 503
    return jsonify(status="ready"), 200
