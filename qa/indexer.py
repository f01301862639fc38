"""Brings the index in line with articles: chunk, embed what is new, commit a new generation."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.analyzer import analyze
from qa.chunking import chunk_article
from qa.dense import DenseIndex
from qa.errors import IndexStateError
from qa.manifest import (
    MANIFEST,
    STORE,
    Manifest,
    ModelStamp,
    check_model,
    dense_file_name,
    read_manifest,
    write_manifest,
)
from qa.store import Store
from qa.types import Article, Chunk, FileError

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Chunks embedded per batch: large enough to keep the model busy, small enough to bound memory
# and to lose little work when a run is killed (each batch's vectors are committed at once).
EMBED_BATCH = 128


class ModelDescription(Protocol):
    """Identity of an embedding model."""

    @property
    def name(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...


class Encoder(Protocol):
    """What the indexer needs of an embedding model."""

    @property
    def info(self) -> ModelDescription: ...

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> NDArray[np.float32]: ...


def stamp_of(encoder: Encoder) -> ModelStamp:
    """The stamp an index records for the model that embeds into it."""
    return ModelStamp(encoder.info.name, encoder.info.dim, encoder.info.fingerprint)


@dataclass
class IndexReport:
    """Counts of one sync, as `qa index --json` prints them."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    errors: list[FileError] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "errors": [{"file": e.file, "error": e.error} for e in self.errors],
        }


@contextlib.contextmanager
def writer_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """One writer at a time per index, across processes; a second one waits, then says it is busy."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".write.lock"), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise IndexStateError(
            f"the index at {index_dir} is busy: another `qa index` or an API write holds its lock; try again when it ends"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _embed(encoder: Encoder, store: Store, chunks: Sequence[Chunk]) -> int:
    """Embed the chunks whose content is not cached yet; returns how many passages went through the model."""
    by_hash: dict[str, Chunk] = {}
    for c in chunks:
        by_hash.setdefault(c.content_hash, c)
    absent = store.missing_vectors(by_hash)
    missing = [c for h, c in by_hash.items() if h in absent]
    if not missing:
        return 0
    with_spans = getattr(encoder, "embed_passages_with_spans", None)
    texts = [c.text for c in missing]
    if with_spans is not None:
        spans = [[(s.start - c.start, s.end - c.start) for s in c.sentences] for c in missing]
        vecs, sent_vecs = with_spans(texts, spans)
        store.put_vectors((c.content_hash, v, s) for c, v, s in zip(missing, vecs, sent_vecs, strict=True))
    else:
        vecs = encoder.embed_passages(texts)
        store.put_vectors((c.content_hash, v, None) for c, v in zip(missing, vecs, strict=True))
    return len(missing)


class IndexWriter:
    """Applies article changes to one index folder; use inside `writer_lock`."""

    def __init__(self, index_dir: Path, encoder: Encoder, *, loaded: tuple[Manifest, DenseIndex] | None = None) -> None:
        self.index_dir = index_dir
        self.encoder = encoder
        index_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(index_dir / STORE)
        self._bind_model()
        self.previous = self._read_previous()
        self.generation = (self.previous.generation if self.previous else 0) + 1
        self._dirty = False
        if loaded is not None and self.previous is not None and loaded[0].generation == self.previous.generation == self.store.generation:
            # The caller's copy of the committed index saves reading it back from disk.
            self.dense = loaded[1].copy()
        else:
            self.dense = self._current_dense()

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

    def _read_previous(self) -> Manifest | None:
        if not (self.index_dir / MANIFEST).exists():
            return None
        return read_manifest(self.index_dir)

    def _current_dense(self) -> DenseIndex:
        """The last committed dense index, or one rebuilt from cached vectors if a run died after its commit."""
        prev = self.previous
        if prev is not None and self.store.generation == prev.generation and (self.index_dir / prev.dense_file).exists():
            return DenseIndex.load(self.index_dir / prev.dense_file, prev.dense_kind)
        return self.rebuild_dense()

    def close(self) -> None:
        self.store.close()

    def rebuild_dense(self) -> DenseIndex:
        """The dense index rebuilt from the store's cached vectors: no model call."""
        ids_parts: list[NDArray[np.int64]] = []
        vec_parts: list[NDArray[np.float32]] = []
        for ids, vecs in self.store.iter_chunk_vectors():
            ids_parts.append(ids)
            vec_parts.append(vecs)
        dim = stamp_of(self.encoder).dim
        ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64)
        vecs = np.concatenate(vec_parts) if vec_parts else np.zeros((0, dim), dtype=np.float32)
        self._dirty = True
        return DenseIndex.build(dim, ids, vecs)

    def _mark_dirty(self) -> None:
        if not self._dirty:
            # Recorded with the first change: if this run dies, the next one sees store != manifest.
            with self.store.transaction() as con:
                self.store.set_meta(con, "generation", str(self.generation))
            self._dirty = True

    def apply(
        self,
        upserts: Iterable[Article],
        removals: Iterable[str] = (),
        *,
        on_article: Callable[[int], None] = lambda n: None,
    ) -> tuple[int, int]:
        """Replace or add these articles and delete these ids; returns (chunks embedded, chunks written)."""
        embedded = written = 0
        removed_ids: list[int] = []
        batch: list[tuple[Article, list[Chunk]]] = []

        def flush() -> None:
            nonlocal embedded, written
            if not batch:
                return
            embedded += _embed(self.encoder, self.store, [c for _, cs in batch for c in cs])
            self._mark_dirty()
            new_ids: list[int] = []
            with self.store.transaction() as con:
                for article, chunks in batch:
                    old = self.store.delete_article(con, article.id)
                    old_hashes = self.store.chunk_hashes(con, old)
                    removed_ids.extend(old)
                    new_ids.extend(self.store.insert_article(con, article, chunks, [" ".join(analyze(c.text)) for c in chunks]))
                    self.store.drop_unreferenced_vectors(con, old_hashes)
            vectors = self.store.vectors_for([c.content_hash for _, cs in batch for c in cs])
            hashes = [c.content_hash for _, cs in batch for c in cs]
            self.dense.remove(np.array(removed_ids, dtype=np.int64))
            removed_ids.clear()
            if new_ids:
                self.dense.add(np.array(new_ids, dtype=np.int64), np.stack([vectors[h] for h in hashes]))
            written += len(new_ids)
            on_article(len(batch))
            batch.clear()

        pending = 0
        for article in upserts:
            chunks = chunk_article(article)
            batch.append((article, chunks))
            pending += len(chunks)
            if pending >= EMBED_BATCH:
                flush()
                pending = 0
        flush()

        to_remove = list(removals)
        if to_remove:
            self._mark_dirty()
            with self.store.transaction() as con:
                for article_id in to_remove:
                    old = self.store.delete_article(con, article_id)
                    self.store.drop_unreferenced_vectors(con, self.store.chunk_hashes(con, old))
                    removed_ids.extend(old)
            self.dense.remove(np.array(removed_ids, dtype=np.int64))
        return embedded, written

    def commit(self) -> Manifest:
        """Write the dense index and the manifest of the new generation; then drop the old files."""
        if not self._dirty and self.previous is not None:
            return self.previous
        articles, chunks = self.store.counts()
        wanted_kind = "ivf" if chunks >= 50_000 else "flat"
        if wanted_kind != self.dense.kind:
            self.dense = self.rebuild_dense()
        with self.store.transaction() as con:
            self.store.set_meta(con, "generation", str(self.generation))
        name = dense_file_name(self.generation)
        self.dense.save(self.index_dir / name)
        manifest = Manifest(
            generation=self.generation,
            model=stamp_of(self.encoder),
            articles=articles,
            chunks=chunks,
            dense_file=name,
            dense_kind=self.dense.kind,
            updated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        write_manifest(self.index_dir, manifest)
        for old in self.index_dir.glob("dense-*.faiss"):
            if old.name != name:
                old.unlink(missing_ok=True)
        self.previous = manifest
        self._dirty = False
        self.generation += 1
        return manifest


def sync_corpus(
    corpus_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    lock_timeout: float = 30.0,
    progress: bool = True,
    rebuild: bool = False,
) -> IndexReport:
    """Make the index match the corpus folder: embed new and changed articles, drop removed ones."""
    from tqdm import tqdm

    from qa.ingest import iter_corpus

    report = IndexReport()
    with writer_lock(index_dir, lock_timeout):
        if rebuild:
            # The manifest and its dense file stay until the new generation replaces them, so running
            # services keep answering from the old index and see the rebuilt one as a newer generation.
            for name in (STORE, STORE + "-wal", STORE + "-shm"):
                (index_dir / name).unlink(missing_ok=True)
        writer = IndexWriter(index_dir, encoder)
        existing = writer.store.article_hashes()
        seen: set[str] = set()
        todo: set[str] = set()
        # A first, cheap pass (no model) counts the work, so the progress bar can show an ETA.
        for item in iter_corpus(corpus_dir):
            if isinstance(item, FileError):
                report.errors.append(item)
                continue
            seen.add(item.id)
            old_hash = existing.get(item.id)
            if old_hash == item.content_hash:
                report.unchanged += 1
            else:
                todo.add(item.id)
                if old_hash is None:
                    report.added += 1
                else:
                    report.updated += 1
        bar = tqdm(
            total=len(todo), desc="indexing", unit="article", file=sys.stderr, disable=not progress or not todo, dynamic_ncols=True
        )

        def changed() -> Iterator[Article]:
            for item in iter_corpus(corpus_dir):
                if isinstance(item, Article) and item.id in todo:
                    yield item

        # Articles whose file went bad are kept as they were rather than dropped: nothing indexed is lost.
        embedded, _ = writer.apply(changed(), (), on_article=bar.update)
        bad_files = {e.file.split(":")[0] for e in report.errors}
        removed = [
            aid for aid in existing if aid not in seen and (writer.store.get_article(aid) or Article(aid, "")).source not in bad_files
        ]
        writer.apply((), removed)
        report.removed = len(removed)
        report.chunks_embedded = embedded
        bar.close()
        writer.commit()
    return report
