"""Request dependencies: the open Engine, the ask gate, the generator, the settings, a checked article id, the write token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from qa.api.gate import AskGate
from qa.api.startup import Startup, starting
from qa.core.config import Settings
from qa.core.errors import BusyError, InputError
from qa.engine import Engine
from qa.generation.generate import Generator
from qa.ingest import validate_article_id

ARTICLE_ID_PATTERN = r"^(?!\.)[A-Za-z0-9._-]{1,128}$"
WRITES_DISABLED = (
    "writes are disabled: this server was started without an API token; set QA_API_TOKEN to a secret in "
    "the server's environment and restart it, then send 'Authorization: Bearer <that secret>'"
)


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_startup(request: Request) -> Startup | None:
    """`qa serve`'s start in progress or done (None for an app given its Engine)."""
    startup: Startup | None = getattr(request.app.state, "startup", None)
    return startup


def get_engine(request: Request) -> Engine:
    """The Engine opened at start-up (shared by every request; it is thread-safe)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:  # between create_app and the moment the start-up can answer
        raise BusyError(starting(get_startup(request))[1], retry_after=2)
    return engine


def get_gate(request: Request) -> AskGate:
    """The bound on questions answered at once."""
    gate: AskGate = request.app.state.gate
    return gate


def get_generator(request: Request) -> Generator | None:
    """The generator of answers (None when QA_LLM is off)."""
    generator: Generator | None = request.app.state.generator
    return generator


def writable_engine(engine: Annotated[Engine, Depends(get_engine)], request: Request) -> Engine:
    """The Engine, once the start-up sync is over: a write meanwhile would wait for its lock, so it is told to retry."""
    startup = get_startup(request)
    if startup is not None and not startup.ready:
        raise BusyError(f"the service is starting ({startup.phase}); writes are taken once it is done: retry shortly", 5)
    return engine


def checked_article_id(
    article_id: Annotated[
        str,
        Path(
            description="Article id: 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'.",
            examples=["000_2ce4f8cb43b28473"],
            # Documented here, checked below: a bad id gets a 422 that says what an id may hold.
            json_schema_extra={"pattern": ARTICLE_ID_PATTERN, "minLength": 1, "maxLength": 128},
        ),
    ],
) -> str:
    """The article id from the path, refused (422) unless it is a safe file name: no traversal, ever."""
    try:
        return validate_article_id(article_id)
    except InputError as exc:
        shown = article_id if len(article_id) <= 140 else article_id[:137] + "..."
        raise HTTPException(
            422,
            f"invalid article id {shown!r}: use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'",
        ) from exc


def require_writer(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Let the request through only with `Authorization: Bearer <QA_API_TOKEN>`; never logs the header."""
    expected = settings.api_token.get_secret_value() if settings.api_token is not None else ""
    if not expected:
        raise HTTPException(status.HTTP_403_FORBIDDEN, WRITES_DISABLED)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this write needs the header 'Authorization: Bearer <QA_API_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="qa"'},
        )
    # Compared as bytes in constant time (Starlette decodes headers as latin-1: this gives back the bytes).
    # surrogateescape: a QA_API_TOKEN holding bytes that are not UTF-8 reaches Python as lone surrogates;
    # this gives back those bytes instead of failing every write with a 500 (whose log would quote them).
    if not hmac.compare_digest(token.strip().encode("latin-1"), expected.encode("utf-8", "surrogateescape")):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong API token",
            headers={"WWW-Authenticate": 'Bearer realm="qa", error="invalid_token"'},
        )


EngineDep = Annotated[Engine, Depends(get_engine)]
WritableEngineDep = Annotated[Engine, Depends(writable_engine)]
GateDep = Annotated[AskGate, Depends(get_gate)]
GeneratorDep = Annotated[Generator | None, Depends(get_generator)]
StartupDep = Annotated[Startup | None, Depends(get_startup)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ArticleIdDep = Annotated[str, Depends(checked_article_id)]
WriterDep = Depends(require_writer)
