"""The index writer: applies article changes to the store, then commits a new dense generation."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.core.errors import IndexStateError
from qa.core.model import Encoder, ModelStamp, stamp_of
from qa.core.types import Article
from qa.index.dense import DenseIndex, FaissIndex, kind_for, nlist_for
from qa.index.faults import pause_point
from qa.index.manifest import (
    LEGACY_PIPELINE,
    MANIFEST,
    PIPELINE,
    STORE,
    Manifest,
    PipelineStamp,
    check_model,
    check_pipeline,
    delta_file_name,
    dense_file_name,
    next_generation,
    read_manifest,
    remove_stale_files,
    write_manifest,
)
from qa.index.prepare import Prepared, VectorRow, embed_missing, prepared_batches
from qa.index.store import Store

if TYPE_CHECKING:
    import sqlite3


log = logging.getLogger(__name__)

# An IVF index is trained on at most this many vectors per list (FAISS wants 39 or more).
TRAIN_PER_LIST = 64


@contextlib.contextmanager
def writer_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """One writer at a time per index, across processes; a second one waits, then says it is busy.

    An flock: the kernel releases it when its holder dies, even by kill -9, so a crash never wedges it.
    """
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".write.lock"), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexStateError(
            f"the index at {index_dir} is busy: another `qa index` or an API write has held it for {timeout:g} s; "
            "try again when it ends"
        ) from None
    try:
        yield
    finally:
        lock.release()


class IndexWriter:
    """Applies article changes to one index folder; use inside `writer_lock`, then `commit`.

    The store is changed batch by batch (each batch one transaction); the dense index only at commit,
    as a new generation that the manifest names. A run killed in between leaves the last manifest's
    generation loadable; the next writer sees the store ahead of it and reconciles the dense index
    from the store's cached vectors, without the model.
    """

    def __init__(self, index_dir: Path, encoder: Encoder, *, loaded: tuple[Manifest, DenseIndex] | None = None) -> None:
        self.index_dir = index_dir
        self.encoder = encoder
        index_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(index_dir / STORE)
        self._bind_model()
        self.previous = read_manifest(index_dir) if (index_dir / MANIFEST).exists() else None
        prev_gen = self.previous.generation if self.previous else 0
        self.generation = next_generation(prev_gen, self.store.generation)
        # Changes since self.dense: chunk ids added (their vectors are read back from the store at commit)
        # and removed. Ids only: a full build keeps no vectors in memory until commit.
        self._added: set[int] = set()
        self._removed: set[int] = set()
        self._dirty = False
        self.dense = self._committed_dense(loaded)
        if self._dirty or self.store.generation != prev_gen:
            self._dirty = True
            self._reconcile()

    def _bind_model(self) -> None:
        stamp = stamp_of(self.encoder)
        name, dim, fp = (self.store.get_meta(k) for k in ("model_name", "model_dim", "model_fingerprint"))
        if name is None or dim is None or fp is None:
            with self.store.transaction() as con:
                self.store.set_meta(con, "model_name", stamp.name)
                self.store.set_meta(con, "model_dim", str(stamp.dim))
                self.store.set_meta(con, "model_fingerprint", stamp.fingerprint)
        else:
            check_model(self.index_dir, ModelStamp(name, int(dim), fp), stamp)
        recorded = self.store.get_meta("pipeline")
        if recorded is None:
            # A store from before the pipeline was recorded was built with the legacy one.
            built = LEGACY_PIPELINE if self.store.counts()[1] else PIPELINE
            check_pipeline(self.index_dir, built)
            with self.store.transaction() as con:
                self.store.set_meta(con, "pipeline", json.dumps(asdict(PIPELINE)))
        else:
            check_pipeline(self.index_dir, PipelineStamp(**json.loads(recorded)))

    def _committed_dense(self, loaded: tuple[Manifest, DenseIndex] | None) -> DenseIndex:
        """The dense snapshot the last manifest names (the caller's copy when it is that one)."""
        prev, dim = self.previous, stamp_of(self.encoder).dim
        if prev is None or prev.model != stamp_of(self.encoder):
            return DenseIndex.empty(dim)  # nothing committed yet, or a rebuild for another model
        if loaded is not None and loaded[0].generation == prev.generation:
            return loaded[1]
        try:
            delta = self.index_dir / prev.dense_delta if prev.dense_delta else None
            return DenseIndex.open(self.index_dir / prev.dense_file, prev.dense_kind, delta, dim)
        except (OSError, RuntimeError, ValueError) as exc:
            # Its files are gone or damaged: the store holds every vector, so start over from it.
            log.warning("dense files of generation %s unreadable (%s): rebuilding them from the store", prev.generation, exc)
            self._dirty = True
            return DenseIndex.empty(dim)

    def _reconcile(self) -> None:
        """After a killed run: the store's chunks are the truth; note what the dense index lacks or has extra."""
        in_store, in_dense = self.store.chunk_ids(), self.dense.ids()
        self._added = {int(i) for i in np.setdiff1d(in_store, in_dense, assume_unique=True)}
        self._removed = {int(i) for i in np.setdiff1d(in_dense, in_store, assume_unique=True)}

    def close(self) -> None:
        self.store.close()

    def article_states(self) -> dict[str, tuple[str, str | None]]:
        """Every article's (content hash, source file): what a sync compares the corpus against."""
        return self.store.article_states()

    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        """The passages (by content hash) this index has no vector for."""
        return self.store.missing_vectors(hashes)

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        """Cache vectors embedded elsewhere (`qa index --ray`), committed at once; the passages that cite them follow."""
        self.store.put_vectors(rows)

    def _start_change(self, con: sqlite3.Connection) -> None:
        # In the same transaction as the first change: the store then says it is ahead of the manifest.
        if not self._dirty:
            self.store.set_meta(con, "generation", str(self.generation))
            self._dirty = True

    def _remove_chunks(self, ids: Iterable[int]) -> None:
        for i in ids:
            if i in self._added:
                self._added.discard(i)
            else:
                self._removed.add(i)

    def apply(
        self,
        upserts: Iterable[Article],
        removals: Iterable[str] = (),
        *,
        on_article: Callable[[int], None] = lambda n: None,
    ) -> tuple[int, int]:
        """Replace or add these articles and delete these ids; returns (chunks embedded, chunks written)."""
        embedded = written = 0
        for batch in prepared_batches(upserts):
            # The model runs outside the transaction; its vectors are stored with their chunks, in one
            # commit: a kill loses at most this batch and never leaves half of it.
            vectors = embed_missing(self.encoder, self.store, [c for p in batch for c in p.chunks])
            written += self._store(batch, vectors)
            embedded += len(vectors)
            pause_point("stored")
            on_article(len(batch))

        to_remove = list(removals)
        if to_remove:
            with self.store.transaction() as con:
                self._start_change(con)
                for article_id in to_remove:
                    old, old_hashes = self.store.delete_article(con, article_id)
                    self.store.drop_unreferenced_vectors(con, old_hashes)
                    self._remove_chunks(old)
        return embedded, written

    def apply_prepared(self, prepared: Prepared, known: Sequence[VectorRow]) -> int:
        """Replace or add one article chunked and embedded beforehand (outside the writer lock, which is then
        held only to store it); a vector missing from `known` is embedded here. Returns chunks written."""
        vectors = embed_missing(self.encoder, self.store, prepared.chunks, {row[0]: row for row in known})
        return self._store([prepared], vectors)

    def _store(self, batch: Sequence[Prepared], vectors: Sequence[VectorRow]) -> int:
        """The batch's articles and vectors in one transaction, replacing what the ids held; chunks written."""
        written = 0
        with self.store.transaction() as con:
            self.store.put_vectors(vectors, con)
            self._start_change(con)
            for p in batch:
                # The old chunks' hashes are read before they go: a vector nobody cites any more is dropped.
                old, old_hashes = self.store.delete_article(con, p.article.id)
                self._remove_chunks(old)
                new = self.store.insert_article(con, p.article, p.chunks, p.terms)
                self._added.update(new)
                written += len(new)
                self.store.drop_unreferenced_vectors(con, old_hashes)
        return written

    def set_sources(self, moved: dict[str, str | None]) -> None:
        """Record the file an unchanged article now lives in (it moved): no re-embedding, no new generation."""
        if moved:
            with self.store.transaction() as con:
                for article_id, source in moved.items():
                    self.store.set_source(con, article_id, source)

    # --- commit -------------------------------------------------------------------------------------------
    def _next_dense(self, force_kind: str | None) -> tuple[DenseIndex, bool]:
        """The snapshot after this run's changes, and whether its base must be written anew."""
        start = self.dense
        grows_from_nothing = len(self._added) > start.base.size  # a first build: stream from the store
        if force_kind is not None or grows_from_nothing:
            return self._rebuilt(force_kind), True
        added = self.store.chunk_vectors(sorted(self._added))
        if len(added) != len(self._added):
            raise IndexStateError(f"the index at {self.index_dir} lost cached vectors: rebuild it with `qa index --rebuild`")
        nxt = start.with_changes(added, self._removed)
        if nxt.needs_rebuild():
            return self._rebuilt(None), True
        if nxt.needs_compaction():
            return DenseIndex(nxt.compacted(), dim=nxt.dim), True
        return nxt, False

    def _rebuilt(self, kind: str | None) -> DenseIndex:
        """Every live vector, streamed from the store into a new base (an IVF one is trained on a sample)."""
        dim = stamp_of(self.encoder).dim
        n = self.store.counts()[1]
        kind = kind or kind_for(n)
        if kind == "ivf":
            nlist = nlist_for(n)
            step = max(1, n // (TRAIN_PER_LIST * nlist))
            # Copies, not views: a view would keep each whole batch, i.e. every vector, alive.
            sample = [vecs[::step].copy() for _, vecs in self.store.iter_chunk_vectors()]
            base = FaissIndex.empty(dim, "ivf", np.concatenate(sample) if sample else np.zeros((0, dim), np.float32), nlist)
        else:
            base = FaissIndex.empty(dim)
        for ids, vecs in self.store.iter_chunk_vectors():
            base.add(ids, vecs)
        return DenseIndex(base, dim=dim)

    def commit(self, *, force_kind: str | None = None) -> Manifest:
        """Write the new generation's dense files, then its manifest; then drop files no reader needs."""
        if not self._dirty and force_kind is None and self.previous is not None:
            remove_stale_files(self.index_dir, self.previous, self.previous)
            return self.previous
        dense, new_base = self._next_dense(force_kind)
        articles, chunks = self.store.counts()
        with self.store.transaction() as con:
            self.store.set_meta(con, "generation", str(self.generation))
        if new_base or self.previous is None:
            base_file = dense_file_name(self.generation)
            dense.base.save(self.index_dir / base_file)
        else:
            base_file = self.previous.dense_file
        delta_file = None
        if dense.delta_rows:
            delta_file = delta_file_name(self.generation)
            dense.save_delta(self.index_dir / delta_file)
        pause_point("manifest")
        manifest = Manifest(
            generation=self.generation,
            model=stamp_of(self.encoder),
            articles=articles,
            chunks=chunks,
            dense_file=base_file,
            dense_kind=dense.kind,
            dense_delta=delta_file,
            pipeline=PIPELINE,
            updated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        write_manifest(self.index_dir, manifest)
        pause_point("committed")
        remove_stale_files(self.index_dir, manifest, self.previous)
        self.previous, self.dense = manifest, dense
        self._added, self._removed = set(), set()
        self._dirty = False
        self.generation += 1
        return manifest
