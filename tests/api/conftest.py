"""Session fixtures: the real model, one index of the seed articles, and the service on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from qa.core.config import Settings
from tests.api.fake_site import Site, open_site
from tests.api.service import TOKEN, ThreadedServer, copy_tree, seed_corpus_source


@dataclass
class Service:
    """A running service: its URL, its settings and folders, and an HTTP client bound to it."""

    url: str
    settings: Settings
    client: httpx.Client
    engine: Any

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def make_settings(corpus: Path, index: Path, *, token: str | None) -> Settings:
    return Settings(
        corpus_dir=corpus,
        index_dir=index,
        api_token=SecretStr(token) if token else None,
        # Small enough to test 413 cheaply, large enough for any real article in these tests.
        max_body_bytes=200_000,
        reload_interval=0.2,
        lock_timeout=5.0,
    )


@pytest.fixture(scope="session")
def encoder() -> Any:
    """The real embedding model, loaded once (provisioned on the first run on a machine)."""
    from qa.engine import load_model

    return load_model(make_settings(Path("corpus"), Path("index"), token=None), progress=False)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> tuple[Path, Path]:
    """(corpus, index): the seed articles and their index, built once; copy them before writing."""
    from qa.index.sync import sync_corpus

    root = tmp_path_factory.mktemp("seed")
    corpus = copy_tree(seed_corpus_source(), root / "corpus")
    index = root / "index"
    report = sync_corpus(corpus, index, encoder, progress=False)
    assert report.added >= 2 and not report.errors, report.to_dict()
    return corpus, index


def fresh_copy(seed_index: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    """A writable copy of the seed corpus and index."""
    corpus, index = seed_index
    return copy_tree(corpus, dest / "corpus"), copy_tree(index, dest / "index")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, seed_index: tuple[Path, Path], encoder: Any) -> Iterator[Service]:
    """The service with writes enabled (token TOKEN), over its own copy of the seed index."""
    from qa.api.app import create_app
    from qa.engine import Engine

    corpus, index = fresh_copy(seed_index, tmp_path_factory.mktemp("live"))
    settings = make_settings(corpus, index, token=TOKEN)
    engine = Engine.open(settings, encoder)
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Service(server.url, settings, client, engine)


@pytest.fixture(scope="session")
def readonly_service(service: Service) -> Iterator[Service]:
    """A second app over the same engine, started without a token: writes answer 403."""
    from qa.api.app import create_app

    settings = service.settings.model_copy(update={"api_token": None})
    with ThreadedServer(create_app(settings, service.engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Service(server.url, settings, client, service.engine)


@pytest.fixture
def client(service: Service) -> httpx.Client:
    return service.client


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A service of the test's own over the seed corpus, indexed with FakeEncoder (no model)."""
    with open_site(tmp_path) as own:
        yield own
