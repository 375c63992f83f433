"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from relaydesk.core import migrate
from relaydesk.core.deps import StateDep
from relaydesk.knowledge.search import retrieval_status

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(app: StateDep) -> JSONResponse:
    """Ready for traffic, meaning ready to answer: the database answers, its schema is at
    the newest migration, and retrieval has finished starting (model resolved, indexes
    built), so a load balancer never sends visitors to a bot that cannot answer yet."""
    db = app.database
    details: dict[str, Any] = {}
    ready = True
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
        details["database"] = "ok"
        current = await migrate.current_revisions(db.engine)
        heads = migrate.head_revisions()
        details["migrations"] = {"current": sorted(current), "heads": sorted(heads)}
        ready = current == heads
    except Exception as exc:  # any failure to reach the database means "not ready"
        details["database"] = f"unreachable: {type(exc).__name__}"
        ready = False
    # Lexical-only retrieval (no embedding model) still answers: ready once it started.
    details["retrieval"] = retrieval = retrieval_status(app)
    ready = ready and bool(retrieval["ready"])
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "details": details},
        status_code=200 if ready else 503,
    )
