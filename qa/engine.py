"""The core the CLI, the HTTP service and the eval harness share: open an index, ask, read, write."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.answer import compose_answer
from qa.config import Settings
from qa.dense import DenseIndex
from qa.errors import InputError, NotFoundError
from qa.indexer import Encoder, IndexWriter, stamp_of, writer_lock
from qa.manifest import MANIFEST, STORE, Manifest, check_model, read_manifest
from qa.search import Candidate, Mode, retrieve
from qa.store import ArticleSummary, Store
from qa.types import Answer, Article

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MAX_QUESTION_CHARS = 2000
MAX_K = 50


def load_model(settings: Settings, *, progress: bool = True) -> Any:
    """The embedding model named by the settings (provisioned on first use)."""
    from qa.embedding.encoder import load_encoder

    return load_encoder(settings.model, settings.cache_dir, progress=progress)


def check_question(question: str, k: int) -> str:
    """The question stripped, or InputError naming what is wrong with it."""
    q = question.strip()
    if not q:
        raise InputError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, not {k}")
    return q


class Engine:
    """An open index with its model; safe to use from many threads at once."""

    def __init__(self, settings: Settings, encoder: Encoder, manifest: Manifest, dense: DenseIndex) -> None:
        self.settings = settings
        self.encoder = encoder
        self.index_dir = settings.index_dir
        self.store = Store(settings.index_dir / STORE)
        self._store_id = self._store_identity()
        # Replaced whole, never mutated: a request keeps the snapshot it started with.
        self._snapshot = (manifest, dense)
        self._write_lock = threading.Lock()
        self._manifest_mtime = self._mtime()

    @classmethod
    def open(cls, settings: Settings, encoder: Encoder | None = None, *, progress: bool = False) -> Engine:
        """Open the index at settings.index_dir; refuses one built by another model."""
        manifest = read_manifest(settings.index_dir)
        encoder = encoder or load_model(settings, progress=progress)
        check_model(settings.index_dir, manifest.model, stamp_of(encoder))
        dense = DenseIndex.load(settings.index_dir / manifest.dense_file, manifest.dense_kind)
        return cls(settings, encoder, manifest, dense)

    @property
    def manifest(self) -> Manifest:
        return self._snapshot[0]

    def _mtime(self) -> float:
        try:
            return os.stat(self.index_dir / MANIFEST).st_mtime
        except FileNotFoundError:
            return 0.0

    def _store_identity(self) -> tuple[int, int]:
        st = os.stat(self.index_dir / STORE)
        return st.st_dev, st.st_ino

    def refresh(self) -> bool:
        """Pick up a generation committed by another process (`qa index`); True if it changed."""
        mtime = self._mtime()
        if mtime == self._manifest_mtime:
            return False
        manifest = read_manifest(self.index_dir)
        if manifest.generation == self.manifest.generation:
            self._manifest_mtime = mtime
            return False
        for _ in range(3):
            try:
                dense = DenseIndex.load(self.index_dir / manifest.dense_file, manifest.dense_kind)
                break
            except RuntimeError:
                # A newer commit removed that file between our two reads: read the manifest again.
                time.sleep(0.05)
                manifest = read_manifest(self.index_dir)
        else:
            return False
        # `qa index --rebuild` may have been run with another model: keep serving rather than mix them.
        check_model(self.index_dir, manifest.model, stamp_of(self.encoder))
        store_id = self._store_identity()
        if store_id != self._store_id:
            # A rebuild replaced the SQLite file: this one's connections still read the deleted one.
            self.store = Store(self.index_dir / STORE)
            self._store_id = store_id
        self._snapshot = (manifest, dense)
        self._manifest_mtime = mtime
        return True

    # --- asking -------------------------------------------------------------------------------------------
    def embed_question(self, question: str) -> NDArray[np.float32]:
        vecs: NDArray[np.float32] = self.encoder.embed_queries([question])  # type: ignore[attr-defined]
        row: NDArray[np.float32] = vecs[0]
        return row

    def search(self, question: str, k: int = 5, *, mode: Mode = "hybrid") -> list[Candidate]:
        question = check_question(question, k)
        qvec = self.embed_question(question)
        return retrieve(question, qvec, self.store, self._snapshot[1], k, mode=mode)

    def ask(self, question: str, k: int = 5, *, mode: Mode = "hybrid") -> Answer:
        """Answer one question from the index, citing the passages it rests on."""
        question = check_question(question, k)
        qvec = self.embed_question(question)
        candidates = retrieve(question, qvec, self.store, self._snapshot[1], k, mode=mode)
        sentence_vectors = self.store.sentence_vectors_for([c.stored.hash for c in candidates[:3]], self.manifest.model.dim)
        return compose_answer(question, qvec, candidates, sentence_vectors)

    # --- reading ------------------------------------------------------------------------------------------
    def health(self) -> dict[str, object]:
        articles, chunks = self.store.counts()
        return {"status": "ok", "articles": articles, "chunks": chunks, "model": self.manifest.model.name}

    def list_articles(self) -> list[ArticleSummary]:
        return self.store.list_articles()

    def get_article(self, article_id: str) -> tuple[Article, int]:
        article = self.store.get_article(article_id)
        if article is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return article, self.store.article_chunk_count(article_id)

    # --- writing ------------------------------------------------------------------------------------------
    def _corpus_file(self, article_id: str) -> Path | None:
        """The single-article corpus file that holds this article, if any; refuses records of a .jsonl."""
        existing = self.store.get_article(article_id)
        if existing is None or not existing.source:
            return None
        path = self.settings.corpus_dir / existing.source
        if path.suffix.lower() not in {".md", ".txt", ".html", ".htm"}:
            raise InputError(
                f"article {article_id!r} is a record of {existing.source}, which holds several articles: edit that file"
            )
        return path

    def _apply(self, upserts: list[Article], removals: list[str]) -> None:
        with self._write_lock, writer_lock(self.index_dir, self.settings.lock_timeout):
            writer = IndexWriter(self.index_dir, self.encoder, loaded=self._snapshot)
            try:
                writer.apply(upserts, removals)
                manifest = writer.commit()
                self._snapshot = (manifest, writer.dense)
                self._manifest_mtime = self._mtime()
            finally:
                writer.close()

    def put_article(self, article: Article) -> bool:
        """Store the article in the corpus folder and index it; True if it is new."""
        from qa.ingest import article_to_markdown

        corpus = self.settings.corpus_dir
        corpus.mkdir(parents=True, exist_ok=True)
        old_file = self._corpus_file(article.id)
        created = self.store.get_article(article.id) is None
        target = corpus / f"{article.id}.md"
        tmp = corpus / f".{article.id}.md.tmp"
        tmp.write_text(article_to_markdown(article), encoding="utf-8")
        os.replace(tmp, target)
        if old_file is not None and old_file.resolve() != target.resolve():
            old_file.unlink(missing_ok=True)
        stored = Article(article.id, article.text, article.title, article.date, article.url, article.lang, target.name)
        self._apply([stored], [])
        return created

    def delete_article(self, article_id: str) -> None:
        """Remove the article from the corpus folder and from the index."""
        if self.store.get_article(article_id) is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        old_file = self._corpus_file(article_id)
        if old_file is not None:
            old_file.unlink(missing_ok=True)
        self._apply([], [article_id])
