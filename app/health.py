"""Health endpoints for load balancers and orchestrators."""

from flask import Blueprint, Response, current_app, jsonify

from app.store import StorageUnavailable
from app.views import HOSTNAME

blueprint = Blueprint("health", __name__)


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
    except StorageUnavailable as error:
        return jsonify(status="unavailable", detail=f"Redis: {error}"), 503
    return jsonify(status="ready"), 200
