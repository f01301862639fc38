"""The FastAPI app (create_app) and `qa serve` (serve): index if needed, load once, answer in parallel."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from qa.api.errors import install_error_handlers
from qa.api.middleware import BodyGuard, SecurityHeaders
from qa.api.routes import articles, ask, health
from qa.core.config import Settings
from qa.core.errors import QAError

if TYPE_CHECKING:
    from qa.engine import Engine

STATIC_DIR = Path(__file__).parent / "static"
logger = logging.getLogger("qa.api")

DESCRIPTION = """\
Ask questions of a news archive (French and English) and get answers cited to the exact passage.

Every citation's `text` is exactly `article.text[start:end]` of `GET /articles/{article_id}`, and its
`highlight` marks the answering sentence with offsets in the same text. Errors answer `{"detail": ...}`
with a 4xx status. `PUT` and `DELETE` need `Authorization: Bearer <QA_API_TOKEN>`.
"""


def _refresh_loop(engine: Engine, interval: float, stop: threading.Event) -> None:
    """Pick up index generations committed by another process (`qa index`) until told to stop."""
    last_error = ""
    while not stop.wait(interval):
        try:
            if engine.refresh():
                logger.info("loaded index generation %s", engine.manifest.generation)
            last_error = ""
        except Exception as exc:  # a half-written or broken index: keep serving the last good one
            message = f"{type(exc).__name__}: {exc}"
            if message != last_error:
                logger.warning("could not reload the index (still serving the previous one): %s", message)
                last_error = message


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The app over `engine`, or over an Engine opened from settings.index_dir at start-up when None."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.engine is None:
            from qa.engine import Engine

            app.state.engine = await run_in_threadpool(Engine.open, settings)
        stop = threading.Event()
        refresher = threading.Thread(
            target=_refresh_loop,
            args=(app.state.engine, settings.reload_interval, stop),
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

    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(health.router)
    app.include_router(articles.router)

    index_html = STATIC_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(index_html, media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _mount_offline_docs(app)

    # Last added is outermost: CORS answers preflights before anything else looks at the request.
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
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
    """Swagger UI at /docs, its assets served from the swagger-ui-bundle package instead of a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qa")
    except PackageNotFoundError:
        return "0"


class HideQuery(logging.Filter):
    """Drops the query string from uvicorn's access log lines: a client that sends its token as `?token=...`
    must not find it in the log (the path and the status are what the log is for)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus our "qa" loggers on its handler. Its access log prints the request line
    and status only, its query string hidden: never a header nor a parameter, so never the token."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["qa"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config.setdefault("filters", {})["hide_query"] = {"()": HideQuery}
    config["handlers"]["access"]["filters"] = ["hide_query"]
    return config


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_or_build(settings: Settings, encoder: Any = None) -> Engine:
    """The Engine over settings.index_dir, after bringing the index in line with the corpus folder.

    The sync is incremental: unchanged articles cost a read and a hash, so a restart is quick, and
    articles added to the folder while the service was down are answerable as soon as it is up.
    """
    from qa.engine import Engine, load_model
    from qa.index.manifest import MANIFEST
    from qa.index.sync import sync_corpus

    if encoder is None:
        encoder = load_model(settings, progress=True)
    if not settings.corpus_dir.is_dir():
        if (settings.index_dir / MANIFEST).exists():
            _say(f"no corpus folder {settings.corpus_dir}: serving the index at {settings.index_dir} as it is")
            return Engine.open(settings, encoder)
        raise QAError(
            f"no index at {settings.index_dir} and no corpus folder {settings.corpus_dir} to build it "
            "from: create the folder (it may be empty) or pass --corpus"
        )
    _say(f"bringing the index at {settings.index_dir} in line with {settings.corpus_dir} ...")
    report = sync_corpus(
        settings.corpus_dir,
        settings.index_dir,
        encoder,
        lock_timeout=settings.lock_timeout,
        progress=True,
        outside_links=settings.outside_links,
    )
    _say(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged "
        f"({report.chunks_embedded} passages embedded); {len(report.errors)} files skipped"
    )
    for err in report.errors:
        _say(f"skipped {err.file}: {err.error}")
    return Engine.open(settings, encoder, committed=report.committed)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """`qa serve`: build the index from the corpus if there is none, load the model once, run uvicorn."""
    import uvicorn

    engine = open_or_build(settings)
    state = engine.health()
    _say(f"index {settings.index_dir}: {state['articles']} articles, {state['chunks']} passages, model {state['model']}")
    if settings.api_token is None or not settings.api_token.get_secret_value():
        _say("writes (PUT, DELETE) are disabled: set QA_API_TOKEN to enable them")
    _say(f"open http://{host}:{port}/ to ask questions; the API is described at /docs")
    app = create_app(settings, engine)
    # On Ctrl-C uvicorn shuts down gracefully, then raises it again: that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=host, port=port, log_config=log_config(), server_header=False)
    _say("stopped")
