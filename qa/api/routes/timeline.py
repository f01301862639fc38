"""GET /timeline: the events the archive reports, in date order, each cited to its sentence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from qa.api.deps import EngineDep
from qa.api.schemas import PERIOD_SCHEMA, TimelineResponse, ValidationErrorResponse
from qa.core.errors import InputError
from qa.core.limits import DEFAULT_TIMELINE, MAX_QUESTION_CHARS, MAX_TIMELINE
from qa.render import event_to_dict

router = APIRouter(tags=["timeline"])


@router.get(
    "/timeline",
    response_model=TimelineResponse,
    summary="Dated events",
    responses={
        422: {"model": ValidationErrorResponse, "description": "A malformed or impossible date, a reversed period, a bad limit."}
    },
)
async def timeline(
    engine: EngineDep,
    q: Annotated[
        str | None, Query(max_length=MAX_QUESTION_CHARS, description="Only events about this (sharing its terms).")
    ] = None,
    date_from: Annotated[
        str | None,
        Query(
            alias="from",
            description="First day of the period: YYYY, YYYY-MM or YYYY-MM-DD.",
            examples=["2025-06"],
            json_schema_extra=PERIOD_SCHEMA,
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            alias="to", description="Last day of the period, same forms.", examples=["2025-11"], json_schema_extra=PERIOD_SCHEMA
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE, description="Events at most.")] = DEFAULT_TIMELINE,
) -> dict[str, Any]:
    """Each event is a sentence reporting something at a date written in the text (not the publication date),
    at day, month or year precision; one reported by several articles is listed once, citing each, with
    `text == article.text[start:end]`. A date given relatively is read only from an anchor the text gives: the
    previous dated sentence ("trois mois plus tard") or the publication date ("lundi", "l'an dernier"); such
    events carry `resolved`."""
    try:
        events = await run_in_threadpool(engine.timeline, q, date_from=date_from, date_to=date_to, limit=limit)
    except InputError as exc:  # a bad period, said as FastAPI says a bad parameter: every 422 has one shape
        where = "from" if str(exc).startswith("from") else "to"
        raise RequestValidationError([{"loc": ("query", where), "msg": str(exc), "type": "value_error"}]) from None
    return {"events": [event_to_dict(e) for e in events]}
