"""GET (or HEAD) /health: the service is up; how much the index holds and which model built it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qa.api.deps import EngineDep
from qa.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Service status")
def health(engine: EngineDep) -> dict[str, Any]:
    """Articles and passages in the loaded index, and the embedding model's name."""
    return engine.health()


# Monitors probe with HEAD; it is the same check, with no body, and not part of the documented API.
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
