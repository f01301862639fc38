"""Exception handlers: every error becomes `{"detail": ...}`; a client's mistake is a 4xx, never a 5xx."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from qa.core.errors import (
    BusyError,
    ConflictError,
    CorpusError,
    IndexStateError,
    InputError,
    ModelError,
    NotFoundError,
    QAError,
    StorageError,
    UnavailableError,
)

logger = logging.getLogger("qa.api")

# What each core error means over HTTP; the first match along the exception's class hierarchy wins.
STATUS_OF: dict[type[QAError], int] = {
    BusyError: 503,
    InputError: 422,
    ConflictError: 409,
    StorageError: 507,
    NotFoundError: 404,
    # The database the index lives on is down: the service's trouble, not the client's.
    UnavailableError: 503,
    # The index is busy (another writer holds its lock), or its state forbids the change: try again later.
    IndexStateError: 409,
    ModelError: 409,
    CorpusError: 409,
    QAError: 400,
}

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header")]
    return ".".join(parts) or "body"


def _issue(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic/FastAPI error, with a message a person can act on."""
    loc = list(error.get("loc", ()))
    kind = str(error.get("type", "value_error"))
    msg = str(error.get("msg", "invalid value"))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        pos = loc[1] if len(loc) > 1 else "?"
        msg = f"the body is not valid JSON: {ctx.get('error', 'decode error')} (at character {pos})"
        loc = ["body"]
    elif kind == "missing":
        msg = "the request needs a JSON body" if loc == ["body"] else f"'{_field_name(loc)}' is required"
    elif loc == ["body"] and isinstance(error.get("input"), bytes | bytearray):
        msg = "the body must be a JSON object sent with 'Content-Type: application/json'"
        kind = "content_type"
    elif kind in ("model_attributes_type", "dict_type") and loc == ["body"]:
        msg = "the body must be a JSON object"
    elif kind == "extra_forbidden":
        msg = f"unknown field '{_field_name(loc)}'"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif _field_name(loc) == "k":
        msg = f"k must be a whole number from 1 to 50 ({msg[0].lower()}{msg[1:]})"
    return {"loc": loc, "msg": msg, "type": kind}


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": [_issue(dict(e)) for e in exc.errors()]}, status_code=422)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's handler, except that a 405 lists every method the path allows (its routes are separate)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        routes: list[BaseRoute] = request.app.router.routes
        allowed = [
            method
            for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
        ]
        if allowed:
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(allowed)})
    elif exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
        # FastAPI's words when json.loads fails other than by a syntax error: for a UTF-8 body (BodyGuard
        # refused the rest) that is nesting past Python's recursion limit. Say so.
        exc = StarletteHTTPException(400, "the body could not be read as JSON: arrays or objects nested too deeply")
    return await http_exception_handler(request, exc)


async def qa_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else None
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Never the headers (they may hold the token): the method, the path and the error are enough.
    logger.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(QAError, qa_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)
