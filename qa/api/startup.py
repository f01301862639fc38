"""`qa serve`'s start, run beside the server: load the model, serve the last committed index, then sync the corpus."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qa.core.config import Settings
from qa.core.errors import QAError

if TYPE_CHECKING:
    from qa.engine import Engine

LOADING = "loading the model"
SYNCING = "bringing the index in line with the corpus folder"
READY = "ready"
FAILED = "failed"


def say(message: str) -> None:
    """A line on stderr, where `qa serve` tells what it does."""
    print(message, file=sys.stderr, flush=True)


def check_sources(settings: Settings) -> None:
    """Refuse at once (before any port opens) a start with neither an index nor a corpus folder to build one
    (or a database that cannot be reached)."""
    from qa.engine import open_backend

    backend = open_backend(settings)
    try:
        if not settings.corpus_dir.is_dir() and not backend.exists():
            raise QAError(
                f"no index at {backend.where} and no corpus folder {settings.corpus_dir} to build it "
                "from: create the folder (it may be empty) or pass --corpus"
            )
    finally:
        backend.close()


def starting(startup: Startup | None) -> tuple[str, str]:
    """What a service that cannot answer yet is doing, and that said for a person."""
    phase = startup.phase if startup is not None else "opening the index"
    return phase, f"the service is starting ({phase}): try again shortly"


class Startup:
    """The start of a service, in phases that /health reports; `engine` is set as soon as one can answer.

    The port opens at once: while the model loads nothing can be answered (503, "starting"); while the
    corpus is synced the last committed index answers questions ("syncing"), and writes wait for the end.
    A failure is said, kept in `error`, and stops the service through `on_failure`.
    """

    def __init__(
        self,
        settings: Settings,
        encoder: Any = None,
        *,
        on_failure: Callable[[], None] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.on_failure = on_failure
        self.on_ready = on_ready
        self.phase = LOADING
        self.error: str | None = None
        self.engine: Engine | None = None
        self.done = threading.Event()

    @property
    def ready(self) -> bool:
        return self.phase == READY

    def start(self, on_engine: Callable[[Engine], None]) -> threading.Thread:
        """Run the start in a thread of its own; `on_engine` gets each Engine as soon as it can answer."""
        thread = threading.Thread(target=self._run, args=(on_engine,), name="qa-startup", daemon=True)
        thread.start()
        return thread

    def _run(self, on_engine: Callable[[Engine], None]) -> None:
        try:
            self.engine = open_or_build(self.settings, self.encoder, on_engine=on_engine, on_phase=self._set_phase)
            on_engine(self.engine)
            self._set_phase(READY)
            if self.on_ready is not None:
                self.on_ready()
        except Exception as exc:  # said, then the service stops: it must not run half started
            self.error = str(exc) if isinstance(exc, QAError) else f"{type(exc).__name__}: {exc}"
            self._set_phase(FAILED)
            if self.on_failure is not None:
                self.on_failure()
        finally:
            self.done.set()

    def _set_phase(self, phase: str) -> None:
        self.phase = phase


def open_or_build(
    settings: Settings,
    encoder: Any = None,
    *,
    on_engine: Callable[[Engine], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> Engine:
    """The Engine over the settings' index, after bringing the index in line with the corpus folder.

    The last committed index is opened first and handed to `on_engine`, so that it answers while the
    sync runs. The sync is incremental: unchanged articles cost a read and a hash, so a restart is quick,
    and articles added to the folder while the service was down are answerable as soon as it is done.
    """
    from qa.engine import Engine, load_model, open_backend
    from qa.index.sync import sync_corpus

    check_sources(settings)
    if encoder is None:
        encoder = load_model(settings, progress=True)
    backend = open_backend(settings)
    engine = Engine.open(settings, encoder, backend=backend) if backend.exists() else None
    if not settings.corpus_dir.is_dir():
        say(f"no corpus folder {settings.corpus_dir}: serving the index at {backend.where} as it is")
        assert engine is not None  # check_sources
        return engine
    if engine is not None and on_engine is not None:
        on_engine(engine)
    if on_phase is not None:
        on_phase(SYNCING)
    say(f"bringing the index at {backend.where} in line with {settings.corpus_dir} ...")
    report = sync_corpus(
        settings.corpus_dir,
        backend,
        encoder,
        lock_timeout=settings.lock_timeout,
        progress=True,
        outside_links=settings.outside_links,
        loaded=engine.snapshot if engine is not None else None,
    )
    say(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged "
        f"({report.chunks_embedded} passages embedded); {len(report.errors)} files skipped"
    )
    for err in report.errors:
        say(f"skipped {err.file}: {err.error}")
    if engine is None:
        return Engine.open(settings, encoder, committed=report.committed, backend=backend)
    if report.committed is not None:
        engine.adopt(report.committed)
    return engine
