"""GET (or HEAD) /health: the service is up; how much the index holds and which model built it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from qa.api.deps import GeneratorDep, StartupDep
from qa.api.schemas import HealthResponse, StartingResponse
from qa.api.startup import starting
from qa.engine import Engine

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Service status",
    responses={503: {"model": StartingResponse, "description": "Starting (the model is loading): retry shortly."}},
)
def health(request: Request, startup: StartupDep, generator: GeneratorDep) -> Any:
    """Articles and passages in the loaded index, and the embedding model's name; while `qa serve` starts,
    503 with `"status": "starting"`, then `"syncing"` while it serves the last index and syncs the corpus."""
    engine: Engine | None = request.app.state.engine
    if engine is None:
        phase, detail = starting(startup)
        return JSONResponse({"status": "starting", "phase": phase, "detail": detail}, 503, headers={"Retry-After": "2"})
    state = engine.health()
    state["llm"] = None if generator is None else generator.llm.name
    if startup is not None and not startup.ready:
        state["status"] = "syncing"
    return state


# Monitors probe with HEAD; it is the same check, with no body, and not part of the documented API.
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
