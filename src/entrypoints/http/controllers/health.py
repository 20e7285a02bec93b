"""Liveness and readiness probes. No authentication; nothing but the database is touched."""

from __future__ import annotations

import structlog
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from entrypoints.http.dependencies import DatabasePing
from entrypoints.http.schemas import LiveResponse, ReadyResponse

_log = structlog.get_logger("gigcore.http")


@get("/health/live", operation_id="live", tags=["health"])
async def live() -> LiveResponse:
    """The process is up and serving; touches nothing."""
    return LiveResponse(status="live")


@get(
    "/health/ready",
    sync_to_thread=True,
    operation_id="ready",
    tags=["health"],
    responses={503: ResponseSpec(data_container=ReadyResponse, description="A dependency is down")},
)
def ready(database_ping: NamedDependency[DatabasePing]) -> Response[ReadyResponse]:
    """Ready to serve: the database answers a trivial query."""
    try:
        database_ping()
    except Exception as error:  # any failure means "not ready"; the reason goes to the log only
        _log.warning(
            "readiness_check_failed", check="database", error_type=type(error).__name__, error=str(error)[:300]
        )
        return Response(ReadyResponse(status="not_ready", checks={"database": "down"}), status_code=503)
    return Response(ReadyResponse(status="ready", checks={"database": "ok"}), status_code=200)
