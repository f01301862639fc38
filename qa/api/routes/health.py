"""GET (or HEAD) /health: the service is up; how much the index holds and which model built it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qa.api.deps import EngineDep
from qa.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.api_route("/health", methods=["GET", "HEAD"], response_model=HealthResponse, summary="Service status")
def health(engine: EngineDep) -> dict[str, Any]:
    """Articles and passages in the loaded index, and the embedding model's name."""
    return engine.health()
