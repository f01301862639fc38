"""The core the CLI, the HTTP service and the eval harness share: open an index, ask, read, write."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qa.answering.abstention import Bars, bars_for
from qa.answering.answer import Decision, compose_answer, decide
from qa.answering.coverage import ArchiveTerms
from qa.answering.evidence import ANSWER_POOL
from qa.answering.reader import Reader, reader_for
from qa.core.config import Settings
from qa.core.errors import ConflictError, IndexStateError, InputError, ModelError, NotFoundError, StorageError
from qa.core.limits import DEFAULT_K, DEFAULT_TIMELINE, MAX_K, MAX_QUESTION_CHARS
from qa.core.model import QueryEncoder, stamp_of
from qa.core.types import Answer, Article, Event
from qa.generation.support import Support, support_threshold
from qa.index.backend import Backend, Searcher
from qa.index.backend import Reader as IndexReader
from qa.index.manifest import Manifest, check_model, check_pipeline
from qa.index.prepare import Prepared, VectorRow, embed_missing, prepare
from qa.index.store import ArticleSummary
from qa.index.sync import Committed
from qa.ingest.corpus import SINGLE_ARTICLE_SUFFIXES, corpus_suffix
from qa.ingest.files import check_target, claimants, put_back, set_aside, storage_error, sync_folder, write_temp
from qa.retrieval.candidates import Candidate, mentions_dates
from qa.retrieval.query import Query, analyse
from qa.retrieval.search import Mode, Retrieved, retrieve
from qa.text.dates import parse_period
from qa.timeline.cache import EventCache
from qa.timeline.events import Timeline, select_events

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def load_model(settings: Settings, *, progress: bool = True) -> Any:
    """The embedding model named by the settings (provisioned on first use), with the settings' thread counts."""
    from qa.embedding.loading import load_encoder
    from qa.index.dense import configure_threads

    configure_threads(settings.faiss_threads)
    return load_encoder(
        settings.model,
        settings.cache_dir,
        progress=progress,
        threads=settings.threads,
        bf16=settings.bf16,
        device=settings.device,
        runtime=settings.runtime,
    )


def span_cache(settings: Settings) -> Path | None:
    """Where the span reader's base model is provisioned, or None when the settings turn the span reader off."""
    return settings.cache_dir if settings.span_reader == "on" else None


def open_backend(settings: Settings) -> Backend:
    """PostgreSQL when QA_DATABASE_URL is set (reads on QA_DATABASE_READ_URLS), else the folder QA_INDEX_DIR."""
    if settings.database_url is not None:
        from qa.postgres.backend import PostgresBackend

        replicas = [u.get_secret_value() for u in settings.database_read_urls]
        return PostgresBackend(settings.database_url.get_secret_value(), replicas, ef_search=settings.hnsw_ef_search)
    from qa.index.local import LocalBackend

    return LocalBackend(settings.index_dir)


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

    def __init__(
        self,
        settings: Settings,
        encoder: QueryEncoder,
        manifest: Manifest,
        dense: Searcher,
        key: object = None,
        backend: Backend | None = None,
    ) -> None:
        """Serve this generation of the backend (the settings', when None); `key` is the backend's key() it was
        read under (now, when None)."""
        self.settings = settings
        self.encoder = encoder
        self.backend = backend if backend is not None else open_backend(settings)
        self.where = self.backend.where
        self._store_id = self.backend.identity()
        # Replaced whole, never mutated: a request keeps the snapshot it started with.
        self._snapshot = (manifest, dense)
        self._write_lock = threading.Lock()
        # The CPU's turns: questions answered, articles embedded and commits, so many at once. More only
        # slows each; and a stream of writes must not take the CPU from the questions (eval/load.py --hostile).
        turns = settings.cpu_turns()
        self._cpu = threading.Semaphore(turns)
        # Writes take at most half the turns (one at least): however many writers, questions keep the rest.
        self._write_turns = threading.Semaphore(max(1, turns // 2))
        # Guards the swap of _snapshot, so that a refresh never puts back an older generation than a write made.
        self._swap_lock = threading.Lock()
        self._manifest_key = key if key is not None else self._key()
        self._events = EventCache()

    @classmethod
    def open(
        cls,
        settings: Settings,
        encoder: QueryEncoder | None = None,
        *,
        progress: bool = False,
        committed: Committed | None = None,
        backend: Backend | None = None,
    ) -> Engine:
        """Open the index of the settings (or `backend`; or the generation a sync just `committed`, without
        reading it back); refuses one built by another model or pipeline."""
        backend = backend if backend is not None else open_backend(settings)
        if committed is not None:
            key, manifest, dense = committed.key, committed.manifest, committed.dense
        else:
            key = backend.key()
            # Before the model: "no index ..." is said without loading a model for nothing.
            manifest, dense = backend.load()
        encoder = encoder or load_model(settings, progress=progress)
        check_model(backend.where, manifest.model, stamp_of(encoder))
        check_pipeline(backend.where, manifest.pipeline)
        # A fitted reader that cannot be read is said now, not at the first question.
        reader_for(manifest.model.name, cache_dir=span_cache(settings))
        return cls(settings, encoder, manifest, dense, key, backend)

    @property
    def store(self) -> IndexReader:
        """The backend's reads (replaced whole when the index is rebuilt from nothing)."""
        return self.backend.store

    @property
    def manifest(self) -> Manifest:
        return self._snapshot[0]

    @property
    def snapshot(self) -> tuple[Manifest, Searcher]:
        """The generation served now, as loaded."""
        return self._snapshot

    @property
    def dense(self) -> Searcher:
        return self._snapshot[1]

    def _key(self) -> object:
        return self.backend.key()

    def refresh(self) -> bool:
        """Pick up a generation committed by another process (`qa index`); True if it changed.

        Cheap when nothing changed (one stat). A new generation is loaded beside the current one and
        swapped in whole; requests in flight finish on the snapshot they started with. A generation of
        another model is refused (ModelError) and the current one kept.
        """
        key = self._key()
        if key == self._manifest_key:
            return False
        # A store that is not the one open here means the index was deleted and built anew: its generations
        # start again, and its chunk ids mean other passages. Take it whole.
        store_id = self.backend.identity()
        replaced = store_id != self._store_id
        manifest, dense = self.backend.load(None if replaced else self._snapshot)
        try:
            check_model(self.where, manifest.model, stamp_of(self.encoder))
            check_pipeline(self.where, manifest.pipeline)
        except (ModelError, IndexStateError):
            self._manifest_key = key  # said once; not loaded again every second until the next commit
            raise
        with self._swap_lock:
            if not replaced and manifest.generation <= self._snapshot[0].generation:
                self._manifest_key = key
                return False
            if replaced:
                self.backend.reopen()
                self._store_id = store_id
            self._snapshot = (manifest, dense)
            self._manifest_key = key
        return True

    def adopt(self, committed: Committed) -> None:
        """Serve the generation a sync in this process just committed, without reading it back."""
        with self._swap_lock:
            if committed.manifest.generation > self._snapshot[0].generation:
                self._snapshot = (committed.manifest, committed.dense)
                self._manifest_key = committed.key

    # --- asking -------------------------------------------------------------------------------------------
    def embed_question(self, question: str) -> NDArray[np.float32]:
        vec: NDArray[np.float32] = self.encoder.embed_queries([question])[0]
        return vec

    def support(self) -> Support | None:
        """What holds a generated sentence to being close to its passages, with this index's model at the cosine
        fitted for it (qa/generation/params.json); None when none was fitted for the model."""
        threshold = support_threshold(self.manifest.model.name)
        if threshold is None:
            return None

        def embed(texts: list[str]) -> NDArray[np.float32]:
            with self._cpu:
                return self.encoder.embed_passages(texts)

        return Support(embed, threshold)

    def retrieve(self, query: Query, qvec: NDArray[np.float32], k: int = DEFAULT_K, *, mode: Mode = "hybrid") -> Retrieved:
        """The k best distinct passages of the committed generation, for an analysed and embedded question."""
        return retrieve(query, qvec, self.store, self._snapshot[1], k, mode=mode)

    def archive(self) -> ArchiveTerms:
        """What the whole committed archive holds of a question's words."""
        return ArchiveTerms(self.store, self.manifest.chunks)

    def pool_vectors(self, retrieved: Retrieved) -> tuple[Mapping[str, NDArray[np.float32]], Mapping[str, NDArray[np.float32]]]:
        """The sentence and window vectors of the passages the answer is chosen from, by passage hash."""
        pool = [c.passage.hash for c in retrieved.candidates[:ANSWER_POOL]]
        known = retrieved.sentence_vectors
        # Each vector is read once per request: the sentence vectors fusion read are reused.
        sentences, windows = self.store.span_vectors(pool, self.manifest.model.dim, sentences=known is None)
        return (sentences if known is None else known), windows

    def decide(
        self,
        query: Query,
        qvec: NDArray[np.float32],
        retrieved: Retrieved,
        *,
        bars: Bars | None = None,
        reader: Reader | Literal["fitted", "rules"] = "fitted",
    ) -> Decision:
        """The answer step over retrieved passages: the chosen sentence, the abstention signals and decision, by
        the reader fitted for the index's model ("fitted", when there is one), the rules ("rules", with the bars
        calibrated for the model unless others are given), or the reader given."""
        sentences, windows = self.pool_vectors(retrieved)
        archive = self.archive()
        chosen_bars = bars if bars is not None else bars_for(self.manifest.model.name)
        fitted: Reader | None
        if reader == "fitted":
            fitted = reader_for(self.manifest.model.name, cache_dir=span_cache(self.settings))
        else:
            fitted = None if reader == "rules" else reader
        return decide(
            query,
            qvec,
            retrieved.candidates,
            sentences,
            windows,
            bars=chosen_bars,
            archive=archive,
            reader=fitted,
            calibrated=self.settings.abstention == "fitted",
        )

    def search(self, question: str, k: int = DEFAULT_K, *, mode: Mode = "hybrid") -> list[Candidate]:
        question = check_question(question, k)
        return self.retrieve(analyse(question), self.embed_question(question), k, mode=mode).candidates

    def ask(
        self,
        question: str,
        k: int = DEFAULT_K,
        *,
        mode: Mode = "hybrid",
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Answer:
        """Answer one question from the index, citing the passages it rests on; with a period (event dates,
        YYYY[-MM[-DD]], either end open), only passages mentioning a date in it are cited."""
        query = analyse(check_question(question, k))
        period = parse_period(date_from, date_to)
        if period is not None:
            # The period is read as if the question named it: dated passages and sentences in it rank first,
            # and one dated elsewhere is not the answer.
            query = dataclasses.replace(query, dates=(period,))
        with self._cpu:
            qvec = self.embed_question(query.text)
            if period is None:
                return compose_answer(self.decide(query, qvec, self.retrieve(query, qvec, k, mode=mode)))
            wide = self.retrieve(query, qvec, min(MAX_K, 4 * k), mode=mode)
            inside = [c for c in wide.candidates if mentions_dates(c.passage, [period])][:k]
            return compose_answer(self.decide(query, qvec, Retrieved(inside, wide.sentence_vectors)))

    # --- the timeline -------------------------------------------------------------------------------------
    def timeline(
        self, query: str | None = None, *, date_from: str | None = None, date_to: str | None = None, limit: int = DEFAULT_TIMELINE
    ) -> list[Event]:
        """The events the archive reports in the period (open ends when None), in date order; with a query, the
        `limit` most relevant to it (sharing its terms), still in date order."""
        return select_events(self.events(), query=query, date_from=date_from, date_to=date_to, limit=limit)

    def events(self) -> Timeline:
        """Every event of the generation served (found once per generation, changed articles only)."""
        # A rebuilt index starts its generations again: the store's identity tells them apart.
        return self._events.get((self._store_id, self.manifest.generation), self.store.iter_articles)

    def warm_timeline(self) -> None:
        """Find the events in the background, so that the first GET /timeline does not wait for them."""
        threading.Thread(target=self.events, name="qa-timeline-warm", daemon=True).start()

    # --- reading ------------------------------------------------------------------------------------------
    def health(self) -> dict[str, object]:
        articles, chunks = self.store.counts()
        manifest = self.manifest
        return {
            "status": "ok",
            "articles": articles,
            "chunks": chunks,
            "model": manifest.model.name,
            "generation": manifest.generation,
        }

    def list_articles(self) -> list[ArticleSummary]:
        return self.store.list_articles()

    def get_article(self, article_id: str) -> tuple[Article, int]:
        article = self.store.get_article(article_id)
        if article is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return article, self.store.article_chunk_count(article_id)

    # --- writing ------------------------------------------------------------------------------------------
    def _held_by_record(self, article_id: str, source: str | None) -> None:
        if source and corpus_suffix(source) not in SINGLE_ARTICLE_SUFFIXES:
            raise ConflictError(f"article {article_id!r} is a record of {source}, which holds several articles: edit that file")

    def _apply(self, removals: list[str], prepared: tuple[Prepared, list[VectorRow]] | None = None) -> None:
        """Index an article prepared and embedded beforehand, or these removals, and commit a generation; the
        caller holds both locks."""
        with self._write_turn():
            writer = self.backend.writer(self.encoder, loaded=self._snapshot)
            try:
                if prepared is not None:
                    writer.apply_prepared(*prepared)
                if removals:
                    writer.apply([], removals)
                manifest = writer.commit()
                with self._swap_lock:
                    self._snapshot = (manifest, writer.dense)
                    self._manifest_key = self._key()
            except OSError as exc:
                raise storage_error(exc, "cannot write the index") from None
            except sqlite3.OperationalError as exc:
                if "full" in str(exc):
                    raise StorageError("cannot write the index: the disk is full; nothing was changed") from None
                raise
            finally:
                writer.close()

    @contextlib.contextmanager
    def _write_turn(self) -> Iterator[None]:
        """A CPU turn for a write, among the writes' share (always taken in this order: no deadlock)."""
        with self._write_turns, self._cpu:
            yield

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's writers one at a time, then the index's lock across processes: a write's checks,
        its files and its commit all happen under it."""
        with self._write_lock, self.backend.lock(self.settings.lock_timeout):
            yield

    def put_article(self, article: Article) -> bool:
        """Store the article in the corpus folder and index it; True if it is new.

        Atomic per article: under the writer lock, the text goes to a unique temporary file (flushed), the
        index commits it, and only then does the file replace `<id>.md` (and the file it came from, if
        another, is removed). Any failure before that leaves the corpus and the index as they were.
        The article is chunked and embedded before the lock is taken, so that a long text (minutes of
        embedding) holds up no other writer: under the lock it is only stored.
        """
        from qa.ingest import article_to_markdown

        corpus = self.settings.corpus_dir
        corpus.mkdir(parents=True, exist_ok=True)
        with self._write_turn():
            prepared = prepare(article)
            vectors = embed_missing(self.encoder, self.store, prepared.chunks)
        with self._locked():
            existing = self.store.article_for_write(article.id)
            source = existing.source if existing else None
            self._held_by_record(article.id, source)
            claimed = claimants(corpus, article.id, source)
            target = check_target(corpus, article.id, claimed)
            rel = target.relative_to(corpus).as_posix()
            others = [c for c in claimed if c != rel]
            unindexed = [c for c in others if c != source]
            if unindexed:
                raise ConflictError(
                    f"article {article.id!r} is also held by {', '.join(unindexed)}, which `qa index` has not indexed: "
                    "remove or rename that file first, so that one file holds the article"
                )
            tmp = write_temp(corpus, article.id, article_to_markdown(article))
            try:
                stored = Article(article.id, article.text, article.title, article.date, article.url, article.lang, rel)
                self._apply([], (dataclasses.replace(prepared, article=stored), vectors))
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            for old in others:  # the file it was indexed from, when that was not <id>.md
                (corpus / old).unlink(missing_ok=True)
            sync_folder(corpus)
        return existing is None

    def delete_article(self, article_id: str) -> None:
        """Remove the article from the corpus folder (every file holding it) and from the index, or neither."""
        corpus = self.settings.corpus_dir
        with self._locked():
            existing = self.store.article_for_write(article_id)
            if existing is None:
                raise NotFoundError(f"no article with id {article_id!r}")
            self._held_by_record(article_id, existing.source)
            files = claimants(corpus, article_id, existing.source) if corpus.is_dir() else []
            moved = set_aside(corpus, files, article_id)
            try:
                self._apply([article_id])
            except BaseException:
                put_back(moved)
                raise
            for _, aside in moved:
                aside.unlink(missing_ok=True)
            if moved:
                sync_folder(corpus)
