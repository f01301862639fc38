"""POST /ask: answer a question from the archive, citing the passages it rests on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from qa.api.deps import EngineDep, GateDep
from qa.api.schemas import AskRequest, AskResponse, ErrorResponse, ValidationErrorResponse
from qa.render import answer_to_dict

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    summary="Answer a question",
    responses={
        400: {"model": ErrorResponse, "description": "The body is not UTF-8."},
        413: {"model": ErrorResponse, "description": "The body is over the size limit."},
        422: {
            "model": ValidationErrorResponse,
            "description": "Missing, blank or over-long question; k out of 1..50; malformed JSON.",
        },
        503: {
            "model": ErrorResponse,
            "description": "Starting, or answering as many questions as it may: retry after `Retry-After` seconds.",
        },
    },
)
async def ask(body: AskRequest, engine: EngineDep, gate: GateDep) -> dict[str, Any]:
    """Answer the question with the sentence that answers it, quoted from the archive, and the cited
    passages; `answer` is null when the archive does not say."""
    async with gate.turn():
        answer = await run_in_threadpool(
            engine.ask, body.question, body.k, mode=body.mode, date_from=body.date_from, date_to=body.date_to
        )
    return answer_to_dict(answer)
