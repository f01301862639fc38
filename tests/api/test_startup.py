"""`qa serve`'s start beside the open port: "starting" (503) until something can answer, then "syncing" while
the last committed index answers and the corpus is synced, then "ok". Real app under uvicorn on loopback;
the model is FakeEncoder, held in the middle of the sync for as long as a test needs."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from qa.api.app import create_app
from qa.api.startup import READY, Startup
from qa.core.config import Settings
from qa.index.sync import sync_corpus
from tests.api.fake_site import AUTH
from tests.api.service import TOKEN, ThreadedServer
from tests.conftest import SEEDS, FakeEncoder


class HeldEncoder(FakeEncoder):
    """FakeEncoder whose passages wait for `release` once `held` is set: a sync that takes as long as wanted."""

    def __init__(self) -> None:
        super().__init__()
        self.held = threading.Event()
        self.release = threading.Event()

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if self.held.is_set():
            assert self.release.wait(60), "the test never released the sync"
        return super().embed_passages(texts, batch_size=batch_size, progress=progress)


def wait_for(client: httpx.Client, status: str) -> dict[str, object]:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        body = client.get("/health").json()
        if body["status"] == status:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"/health never said {status!r}")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    return corpus, tmp_path / "index"


def test_the_port_answers_starting_before_there_is_any_index(folders: tuple[Path, Path]) -> None:
    corpus, index = folders
    encoder = HeldEncoder()
    encoder.held.set()
    settings = Settings(corpus_dir=corpus, index_dir=index, api_token=TOKEN)
    startup = Startup(settings, encoder)
    with ThreadedServer(create_app(settings, startup=startup), wait=False) as server, httpx.Client(base_url=server.url) as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "starting", health.text
        assert int(health.headers["retry-after"]) >= 1
        asked = client.post("/ask", json={"question": "Qu'a-t-on signé à Astana ?"})
        assert asked.status_code == 503 and "starting" in asked.json()["detail"] and "retry-after" in asked.headers
        encoder.release.set()
        assert wait_for(client, "ok")["articles"] == 2
        assert client.post("/ask", json={"question": "Qu'a-t-on signé à Astana ?"}).status_code == 200


def test_the_last_index_answers_while_the_corpus_is_synced(folders: tuple[Path, Path]) -> None:
    corpus, index = folders
    encoder = HeldEncoder()
    sync_corpus(corpus, index, encoder, progress=False)
    (corpus / "nouveau.txt").write_text("Un article arrivé pendant l'arrêt, motnouveau.\n", encoding="utf-8")
    encoder.held.set()
    settings = Settings(corpus_dir=corpus, index_dir=index, api_token=TOKEN)
    startup = Startup(settings, encoder)
    with ThreadedServer(create_app(settings, startup=startup), wait=False) as server, httpx.Client(base_url=server.url) as client:
        syncing = wait_for(client, "syncing")
        assert syncing["articles"] == 2  # the last committed index, served as it is
        assert client.post("/ask", json={"question": "Qu'a-t-on signé à Astana ?"}).status_code == 200
        write = client.put("/articles/pendant", json={"text": "Écrit trop tôt."}, headers=AUTH)
        assert write.status_code == 503 and "retry-after" in write.headers, write.text
        encoder.release.set()
        assert wait_for(client, "ok")["articles"] == 3
        assert startup.phase == READY
        assert client.get("/articles/nouveau").status_code == 200
        assert client.put("/articles/pendant", json={"text": "Écrit à temps."}, headers=AUTH).status_code == 201


def test_a_start_that_fails_stops_the_service_and_says_why(folders: tuple[Path, Path]) -> None:
    corpus, index = folders
    sync_corpus(corpus, index, FakeEncoder(fingerprint="another"), progress=False)
    stopped = threading.Event()
    settings = Settings(corpus_dir=corpus, index_dir=index)
    startup = Startup(settings, FakeEncoder(), on_failure=stopped.set)
    startup.start(lambda engine: None)
    assert stopped.wait(30) and startup.done.wait(5)
    assert startup.error is not None and "model" in startup.error
