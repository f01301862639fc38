"""The local backend: the index folder, an SQLite store beside FAISS files, named by a manifest file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa.core.model import Encoder
from qa.index.dense import DenseIndex
from qa.index.manifest import MANIFEST, STORE, Manifest, manifest_key, next_generation, read_manifest
from qa.index.snapshot import file_identity, load_snapshot
from qa.index.store import Store
from qa.index.writer import IndexWriter, writer_lock


def clear_for_rebuild(index_dir: Path) -> None:
    """Empty the store in place for `--rebuild`: a running service keeps its open files valid, ids stay unique,
    and the manifest stays until the new generation replaces it (a killed rebuild leaves an index)."""
    if not (index_dir / MANIFEST).exists() and not (index_dir / STORE).exists():
        return
    previous = read_manifest(index_dir).generation if (index_dir / MANIFEST).exists() else 0
    store = Store(index_dir / STORE)
    try:
        with store.transaction() as con:
            store.clear(con)
            store.set_meta(con, "generation", str(next_generation(previous, store.generation)))
    finally:
        store.close()


class LocalBackend:
    """An index folder: the manifest names the committed generation, its FAISS files and the SQLite store."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.where = str(index_dir)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The store, opened on first use (opening creates the file: not before the index is asked for)."""
        if self._store is None:
            self._store = Store(self.index_dir / STORE)
        return self._store

    def exists(self) -> bool:
        return (self.index_dir / MANIFEST).exists()

    def key(self) -> object:
        return manifest_key(self.index_dir)

    def identity(self) -> object:
        return file_identity(self.index_dir / STORE)

    def reopen(self) -> None:
        """Open the store file anew: the folder was deleted and built again under this process."""
        self._store = Store(self.index_dir / STORE)

    def load(self, current: tuple[Manifest, Any] | None = None) -> tuple[Manifest, DenseIndex]:
        return load_snapshot(self.index_dir, current)

    def writer(self, encoder: Encoder, *, loaded: tuple[Manifest, Any] | None = None, rebuild: bool = False) -> IndexWriter:
        if rebuild:
            clear_for_rebuild(self.index_dir)
        return IndexWriter(self.index_dir, encoder, loaded=loaded)

    @contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        with writer_lock(self.index_dir, timeout):
            yield

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
