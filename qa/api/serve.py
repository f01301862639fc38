"""`qa serve`: open the port at once, start (model, last index, corpus sync) beside it, run uvicorn."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from typing import Any

from qa.api.startup import Startup, check_sources, say
from qa.core.config import Settings
from qa.core.errors import QAError


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


def is_loopback(host: str) -> bool:
    """Whether `qa serve --host` binds to loopback only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_hosts(settings: Settings, host: str) -> Settings:
    """The settings with the Host allow-list filled in: the loopback names when bound to loopback (and none
    was configured); any host otherwise, since the names a machine is reached by are not known here."""
    if settings.allowed_hosts is not None:
        return settings
    from qa.api.middleware import LOOPBACK_HOSTS

    return settings.with_overrides(allowed_hosts=list(LOOPBACK_HOSTS) if is_loopback(host) else ["*"])


def server_config(app: Any, settings: Settings, **options: Any) -> Any:
    """uvicorn's Config for the app, with the connection limits and timeouts of the settings."""
    import uvicorn

    from qa.api.protocol import connection_cap, guarded_protocol, raise_open_files_limit

    protocol = guarded_protocol(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=connection_cap(settings.max_connections, raise_open_files_limit()),
    )
    return uvicorn.Config(app, http=protocol, server_header=False, **options)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """`qa serve`: answer on the port at once ("starting" until the model is loaded, then from the last
    committed index while the corpus is synced), with bounded connections, timeouts and asks."""
    import uvicorn

    from qa.api.app import create_app
    from qa.generation.generate import open_generator

    check_sources(settings)
    settings = default_hosts(settings, host)
    if settings.api_token is None or not settings.api_token.get_secret_value():
        say("writes (PUT, DELETE) are disabled: set QA_API_TOKEN to enable them")

    def ready() -> None:
        state = startup.engine.health() if startup.engine is not None else {}
        counts = f"{state.get('articles')} articles, {state.get('chunks')} passages"
        where = startup.engine.where if startup.engine is not None else settings.index_dir
        say(f"ready: index {where}: {counts}, model {state.get('model')}")

    def stop() -> None:
        server.should_exit = True

    generator = open_generator(settings, progress=True)
    if generator is not None:
        say(f"answers are generated on request by {generator.llm.name}")
    startup = Startup(settings, on_failure=stop, on_ready=ready)
    app = create_app(settings, startup=startup, generator=generator)
    server = uvicorn.Server(server_config(app, settings, host=host, port=port, log_config=log_config()))
    say(f"open http://{host}:{port}/ to ask questions (it answers as soon as the model is loaded); the API is at /docs")
    # On Ctrl-C uvicorn shuts down gracefully, then raises it again: that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if startup.error is not None:
        raise QAError(startup.error)
    say("stopped")
