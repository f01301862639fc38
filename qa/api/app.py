"""The FastAPI app: its routes, middleware and lifespan (the index reloaded when another process commits)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from qa.api.errors import install_error_handlers
from qa.api.gate import AskGate
from qa.api.middleware import BodyGuard, HostGuard, SecurityHeaders
from qa.api.routes import articles, ask, health, timeline
from qa.core.config import Settings

if TYPE_CHECKING:
    from qa.api.startup import Startup
    from qa.engine import Engine

STATIC_DIR = Path(__file__).parent / "static"
logger = logging.getLogger("qa.api")

DESCRIPTION = """\
Ask questions of a news archive (French and English) and get answers cited to the exact passage.

Every citation's `text` is exactly `article.text[start:end]` of `GET /articles/{article_id}`, and its
`highlight` marks the answering sentence with offsets in the same text. Errors answer `{"detail": ...}`
with a 4xx status. `PUT` and `DELETE` need `Authorization: Bearer <QA_API_TOKEN>`.
"""


def _refresh_loop(app: FastAPI, interval: float, stop: threading.Event) -> None:
    """Pick up index generations committed by another process (`qa index`) until told to stop."""
    last_error = ""
    while not stop.wait(interval):
        engine: Engine | None = app.state.engine
        if engine is None:  # still starting
            continue
        try:
            if engine.refresh():
                logger.info("loaded index generation %s", engine.manifest.generation)
            last_error = ""
        except Exception as exc:  # a half-written or broken index: keep serving the last good one
            message = f"{type(exc).__name__}: {exc}"
            if message != last_error:
                logger.warning("could not reload the index (still serving the previous one): %s", message)
                last_error = message


def create_app(settings: Settings, engine: Engine | None = None, *, startup: Startup | None = None) -> FastAPI:
    """The app over `engine`; or, when None, over the Engine `startup` provides when it can (the app answers
    "starting" until then); or, without either, over an Engine opened from settings.index_dir at start-up."""

    def adopt(opened: Engine) -> None:
        app.state.engine = opened
        # The timeline reads every article once per generation: begun now, the first GET /timeline need not wait.
        opened.warm_timeline()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.engine is not None:
            app.state.engine.warm_timeline()
        elif startup is None:
            from qa.engine import Engine

            adopt(await run_in_threadpool(Engine.open, settings))
        if startup is not None:
            # Before uvicorn binds the port, but in a thread: the port opens at once, whatever the start takes.
            startup.start(adopt)
        stop = threading.Event()
        refresher = threading.Thread(
            target=_refresh_loop,
            args=(app, settings.reload_interval, stop),
            name="qa-index-refresh",
            daemon=True,
        )
        refresher.start()
        try:
            yield
        finally:
            stop.set()
            refresher.join(timeout=5)

    app = FastAPI(
        title="qa: ask the news archive",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN; ours below work offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.startup = startup
    app.state.gate = AskGate(settings.cpu_turns(), settings.max_waiting_asks, settings.ask_wait)

    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(health.router)
    app.include_router(articles.router)
    app.include_router(timeline.router)

    index_html = STATIC_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(index_html, media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _mount_offline_docs(app)

    # Last added is outermost: CORS answers preflights before anything else looks at the request.
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.allowed_hosts is not None and "*" not in settings.allowed_hosts:
        app.add_middleware(HostGuard, allowed=tuple(settings.allowed_hosts))
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


def _mount_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs, its assets (Swagger UI 5) served from the fastapi-offline package instead of a CDN, started by a
    script file of ours (FastAPI's page starts it inline, which a CSP without 'unsafe-inline' forbids)."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")
    docs_html = STATIC_DIR / "docs.html"

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(docs_html, media_type="text/html; charset=utf-8")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qa")
    except PackageNotFoundError:
        return "0"
