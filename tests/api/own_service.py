"""A service of one's own: uvicorn on loopback over a throwaway copy of the seed index, for tests that write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import Service, fresh_copy, make_settings
from tests.api.service import TOKEN, ThreadedServer


@contextlib.contextmanager
def own_service(base: Path, seed_index: tuple[Path, Path], encoder: Any, **overrides: Any) -> Iterator[Service]:
    """The app over a fresh copy of the seed corpus and index under `base`, writes enabled with TOKEN.

    The session's shared service is left alone: what these tests write, delete or break stays here.
    """
    from qa.api.app import create_app
    from qa.engine import Engine

    corpus, index = fresh_copy(seed_index, base)
    settings = make_settings(corpus, index, token=TOKEN)
    if overrides:
        settings = settings.model_copy(update=overrides)
    engine = Engine.open(settings, encoder)
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Service(server.url, settings, client, engine)
