"""A service of its own for tests of the write path and the bounds: the real app under uvicorn on loopback,
over a copy of the seed corpus indexed with the bag-of-words FakeEncoder (no model)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from qa.core.config import Settings
from qa.engine import Engine
from qa.index.sync import sync_corpus
from qa.ingest.files import TEMP_PREFIX
from qa.ingest.text import parse_text_file
from tests.api.service import TOKEN, ThreadedServer
from tests.conftest import SEEDS, FakeEncoder

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Site:
    """A service of its own over `corpus`, with an HTTP client."""

    def __init__(self, corpus: Path, index: Path, client: httpx.Client, engine: Engine) -> None:
        self.corpus, self.index, self.client, self.engine = corpus, index, client, engine

    def put(self, article_id: str, text: str) -> httpx.Response:
        return self.client.put(f"/articles/{article_id}", json={"text": text, "title": "T"}, headers=AUTH)

    def delete(self, article_id: str) -> httpx.Response:
        return self.client.delete(f"/articles/{article_id}", headers=AUTH)

    def temporaries(self) -> list[str]:
        return [p.name for p in self.corpus.rglob(f"{TEMP_PREFIX}*")]

    def assert_agree(self, article_id: str) -> str | None:
        """GET, the corpus file and /ask say the same of the article: its text, or that it is gone."""
        got = self.client.get(f"/articles/{article_id}")
        path = self.corpus / f"{article_id}.md"
        if got.status_code == 404:
            assert not path.exists(), f"{path.name} is in the corpus but the index has no {article_id!r}"
            return None
        assert got.status_code == 200, got.text
        text = got.json()["text"]
        assert path.exists(), f"the index has {article_id!r} but its file is gone: the next `qa index` loses it"
        on_disk = parse_text_file(path.read_bytes(), stem=article_id, suffix=".md")
        assert on_disk.text == text, "the corpus file and the index hold different versions"
        word = text.split()[-1].rstrip(".")
        cited = self.client.post("/ask", json={"question": f"Que dit {word} ?", "k": 3, "mode": "bm25"}).json()
        assert any(c["article_id"] == article_id and word in c["text"] for c in cited["citations"]), cited
        return text


@contextlib.contextmanager
def open_site(root: Path, encoder: FakeEncoder | None = None, **overrides: Any) -> Iterator[Site]:
    """A Site under `root` (its model `encoder`, FakeEncoder by default), its settings given these overrides."""
    from qa.api.app import create_app

    corpus, index = root / "corpus", root / "index"
    shutil.copytree(SEEDS, corpus)
    encoder = encoder or FakeEncoder()
    sync_corpus(corpus, index, encoder, progress=False)
    settings = Settings(corpus_dir=corpus, index_dir=index, api_token=TOKEN, **overrides)
    engine = Engine.open(settings, encoder)
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Site(corpus, index, client, engine)
