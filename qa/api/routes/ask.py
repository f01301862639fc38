"""POST /ask and POST /ask/stream: answer a question from the archive, citing the passages it rests on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.api.deps import EngineDep, GateDep, GeneratorDep
from qa.api.schemas import AskRequest, AskResponse, ErrorResponse, ValidationErrorResponse
from qa.core.types import Answer
from qa.engine import Engine
from qa.generation.generate import Generator, Outcome, generation, outcome_of
from qa.render import answer_to_dict, generated_to_dict

router = APIRouter(tags=["ask"])

ERRORS: dict[int | str, dict[str, Any]] = {
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
}


async def _answer(body: AskRequest, engine: Engine, gate: Any) -> Answer:
    async with gate.turn():
        answer: Answer = await run_in_threadpool(
            engine.ask, body.question, body.k, mode=body.mode, date_from=body.date_from, date_to=body.date_to
        )
    return answer


# exclude_unset: `generated` and `not_generated_because` appear only when asked for ("generate": true).
@router.post("/ask", response_model=AskResponse, response_model_exclude_unset=True, summary="Answer a question", responses=ERRORS)
async def ask(body: AskRequest, engine: EngineDep, gate: GateDep, generator: GeneratorDep) -> dict[str, Any]:
    """Answer the question with the sentence that answers it, quoted from the archive, and the cited
    passages; `answer` is null when the archive does not say. With `"generate": true`, also `generated`."""
    answer = await _answer(body, engine, gate)
    reply = answer_to_dict(answer)
    if body.generate:
        # Outside the ask gate: the generator keeps its own turn, and a slow LLM holds no question's turn.
        outcome = await run_in_threadpool(lambda: outcome_of(generation(generator, answer, engine.support())))
        reply.update(generated_to_dict(outcome.generated, outcome.because))
    return reply


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(answer: Answer, generate: bool, generator: Generator | None, engine: Engine) -> Iterator[str]:
    """answer, then (with generate) each piece as `token` and the checked `generated`, then `end`."""
    yield _event("answer", answer_to_dict(answer))
    if generate:
        for item in generation(generator, answer, engine.support()):
            if isinstance(item, Outcome):
                yield _event("generated", generated_to_dict(item.generated, item.because))
            else:
                yield _event("token", {"text": item})
    yield _event("end", {})


@router.post(
    "/ask/stream",
    summary="Answer a question, streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}, **ERRORS},
)
async def ask_stream(body: AskRequest, engine: EngineDep, gate: GateDep, generator: GeneratorDep) -> StreamingResponse:
    """The same answer as server-sent events: `answer` (the `POST /ask` body without the generation), then with
    `"generate": true` a `token` event per piece of generated text as it is written and `generated` (the checked
    `generated` and `not_generated_because`), then `end`."""
    answer = await _answer(body, engine, gate)
    # A sync iterator: Starlette runs each step in a thread, so the LLM never blocks the event loop.
    return StreamingResponse(
        _events(answer, body.generate, generator, engine),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
