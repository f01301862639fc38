"""The PostgreSQL backend: the committed generation in qa_meta, HNSW search, the writer's lock as an advisory lock."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.core.errors import IndexStateError
from qa.index.manifest import FORMAT, Manifest, manifest_from
from qa.postgres.connections import Connections, connect, redact
from qa.postgres.schema import EF_SEARCH, has_schema
from qa.postgres.store import PgStore

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from qa.core.model import Encoder
    from qa.postgres.writer import PgWriter

# The advisory lock key of `qa index` and API writes: one writer at a time per database.
LOCK_KEY = 0x71612D696E646578  # "qa-index"


class PgDense:
    """Dense search over the live committed rows (pgvector's HNSW index); what a local snapshot's search is."""

    kind = "hnsw"

    def __init__(self, store: PgStore) -> None:
        self.store = store

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        # HNSW returns at most the candidate list its connections set.
        limit = self.store.db.ef_search
        if k > limit:
            raise ValueError(f"HNSW search for {k} passages, past hnsw.ef_search {limit}")
        return self.store.dense_search(query, k)


class PostgresBackend:
    """An index in one PostgreSQL database (QA_DATABASE_URL), read on its replicas (QA_DATABASE_READ_URLS)."""

    def __init__(self, url: str, read_urls: Sequence[str] = (), *, ef_search: int = EF_SEARCH) -> None:
        self.url = url
        self.where = f"PostgreSQL {redact(url)}"
        self.db = Connections(url, read_urls, ef_search=ef_search)
        self.store = PgStore(self.db)
        self.dense = PgDense(self.store)

    def _meta(self, key: str) -> str | None:
        def read(con: Any) -> str | None:
            if not has_schema(con):
                return None
            row = con.execute("SELECT value FROM qa_meta WHERE key = %s", (key,)).fetchone()
            return None if row is None else str(row[0])

        return self.db.on_primary(read)

    def committed(self) -> Manifest | None:
        """The manifest of the committed generation, read on the primary; None before the first commit."""
        import json

        text = self._meta("manifest")
        if text is None:
            return None
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise IndexStateError(f"the index in {self.where} has format {raw.get('format')!r}, expected {FORMAT!r}: rebuild it")
        return manifest_from(raw, self.where)

    def exists(self) -> bool:
        return self.committed() is not None

    def key(self) -> object:
        """Changes with each commit: the generation, read on the primary (one indexed row)."""
        return self._meta("generation")

    def identity(self) -> object:
        """Changes when the database is emptied and built anew (its tables dropped)."""
        return self._meta("instance")

    def reopen(self) -> None:
        """Nothing to reopen: the connections outlive a rebuild."""

    def load(self, current: tuple[Manifest, Any] | None = None) -> tuple[Manifest, PgDense]:
        manifest = self.committed()
        if manifest is None:
            raise IndexStateError(f"no index in {self.where}: build it with `qa index`")
        self.adopted(manifest)
        return manifest, self.dense

    def adopted(self, manifest: Manifest) -> None:
        """Serve this generation: replicas behind it are not read, and vectors are those of its model."""
        self.db.floor = max(self.db.floor, manifest.generation)
        self.store.model = manifest.model.fingerprint

    def writer(self, encoder: Encoder, *, loaded: tuple[Manifest, Any] | None = None, rebuild: bool = False) -> PgWriter:
        from qa.postgres.writer import PgWriter

        return PgWriter(self, encoder, loaded=loaded, rebuild=rebuild)

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        """One writer at a time per database, across machines: a session advisory lock, which PostgreSQL
        releases when its connection ends, so a writer killed by kill -9 never wedges it."""
        con = connect(self.url)
        try:
            deadline = time.monotonic() + timeout
            while not con.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:  # type: ignore[index]
                if time.monotonic() > deadline:
                    raise IndexStateError(
                        f"the index in {self.where} is busy: another `qa index` or an API write has held it for "
                        f"{timeout:g} s; try again when it ends"
                    )
                time.sleep(0.1)
            yield
        finally:
            con.close()

    def close(self) -> None:
        self.db.close()
