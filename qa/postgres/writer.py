"""The index writer on PostgreSQL: a run's articles, chunks and postings in one transaction, its vectors as embedded."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from qa.core.model import Encoder, ModelStamp, stamp_of
from qa.core.types import Article
from qa.index.faults import pause_point
from qa.index.manifest import PIPELINE, Manifest, PipelineStamp, check_model, check_pipeline
from qa.index.prepare import Prepared, VectorRow, embed_missing, prepared_batches
from qa.postgres.connections import connect
from qa.postgres.schema import DENSE_FILE, DENSE_KIND, create_schema, drop_passages, has_schema
from qa.postgres.store import PgStore

if TYPE_CHECKING:
    import psycopg

    from qa.postgres.backend import PgDense, PostgresBackend

log = logging.getLogger(__name__)


class _Fresh:
    """The vector cache as a rebuild sees it: only what this run embedded counts as cached."""

    def __init__(self, store: PgStore) -> None:
        self.store = store
        self.embedded: set[str] = set()

    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        return set(hashes) - self.embedded


class PgWriter:
    """Applies article changes to the index in PostgreSQL; use inside the backend's lock, then `commit`.

    Everything readers see (articles, chunks, postings, the manifest) changes in one transaction, held from
    the first change to `commit`: until then every reader, on the primary or a replica, answers from the
    last committed generation, and a run killed midway (even by kill -9) leaves exactly that generation. The
    vectors are committed batch by batch as they are embedded, keyed by content and model, so the next run
    embeds only what the killed one had not.
    """

    def __init__(
        self, backend: PostgresBackend, encoder: Encoder, *, loaded: tuple[Manifest, Any] | None = None, rebuild: bool = False
    ) -> None:
        self.backend = backend
        self.encoder = encoder
        self.stamp = stamp_of(encoder)
        self.store = backend.store.for_model(self.stamp.fingerprint)
        self._con: psycopg.Connection[Any] = connect(backend.url, autocommit=False)
        self._rebuild = rebuild
        self._cache: PgStore | _Fresh = _Fresh(self.store) if rebuild else self.store
        self.previous = backend.committed()
        self.generation = (self.previous.generation if self.previous else 0) + 1
        self._chunks = self._terms = 0  # changes to N and to the total length, for BM25
        self._dirty = False
        self.dense: PgDense = backend.dense
        self._bind_model()

    def _bind_model(self) -> None:
        """Create the tables, or check that the model and pipeline they were built with are this run's (for a
        rebuild: empty them in this run's transaction, or create them anew for a model of another dimension)."""
        con, stamp = self._con, self.stamp
        exists = has_schema(con)
        meta = dict(con.execute("SELECT key, value FROM qa_meta").fetchall()) if exists else {}
        built = None
        if "model_name" in meta:
            built = ModelStamp(meta["model_name"], int(meta["model_dim"]), meta["model_fingerprint"])
        if self._rebuild and built is not None:
            if built.dim != stamp.dim:
                drop_passages(con)
            create_schema(con, stamp.dim)
            self.store.clear(con)  # BM25's counts start again from nothing
            built = None
            self._dirty = True
        create_schema(con, stamp.dim)
        con.execute("INSERT INTO qa_meta(key, value) VALUES ('instance', gen_random_uuid()::text) ON CONFLICT DO NOTHING")
        if built is None:
            for key, value in (
                ("model_name", stamp.name),
                ("model_dim", str(stamp.dim)),
                ("model_fingerprint", stamp.fingerprint),
                ("pipeline", json.dumps(asdict(PIPELINE))),
            ):
                self.store.set_meta(con, key, value)
        else:
            check_model(self.backend.where, built, stamp)
            check_pipeline(self.backend.where, PipelineStamp(**json.loads(meta["pipeline"])))
        if not self._rebuild:
            con.commit()  # the schema and the model's binding stand on their own; a rebuild's wait for its commit
        self.backend.db.reset_types()

    def close(self) -> None:
        """Roll back anything not committed, and close the transaction's connection."""
        if not self._con.closed:
            self._con.rollback()
            self._con.close()

    def article_states(self) -> dict[str, tuple[str, str | None]]:
        """Every article's (content hash, source file) as this run's transaction sees it."""
        rows = self._con.execute("SELECT id, hash, source FROM qa_articles").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        """The passages (by content hash) this run has no vector for (in a rebuild: all it did not embed)."""
        return self._cache.missing_vectors(hashes)

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        """Cache vectors embedded elsewhere (`qa index --ray`), committed at once like this run's own."""
        self.store.put_vectors(rows)
        if isinstance(self._cache, _Fresh):
            self._cache.embedded.update(r[0] for r in rows)

    def _embed(self, chunks: Sequence[Any], known: dict[str, VectorRow] | None = None) -> list[VectorRow]:
        """The batch's missing vectors, embedded and committed to the cache at once (a kill keeps them)."""
        vectors = embed_missing(self.encoder, self._cache, chunks, known)
        self.put_vectors(vectors)
        return vectors

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
            vectors = self._embed([c for p in batch for c in p.chunks])
            written += self._store(batch)
            embedded += len(vectors)
            pause_point("stored")
            on_article(len(batch))
        for article_id in removals:
            self._delete(article_id)
        return embedded, written

    def apply_prepared(self, prepared: Prepared, known: Sequence[VectorRow]) -> int:
        """Replace or add one article chunked and embedded beforehand; a vector missing from `known` is embedded here."""
        self._embed(prepared.chunks, {row[0]: row for row in known})
        return self._store([prepared])

    def _delete(self, article_id: str) -> None:
        self._dirty = True
        _, hashes, terms = self.store.delete_article(self._con, article_id)
        self._chunks -= len(hashes)
        self._terms -= terms
        self.store.drop_unreferenced_vectors(self._con, hashes)

    def _store(self, batch: Sequence[Prepared]) -> int:
        written = 0
        self._dirty = True
        for p in batch:
            _, old_hashes, old_terms = self.store.delete_article(self._con, p.article.id)
            ids, terms = self.store.insert_article(self._con, p.article, p.chunks, p.terms)
            self._chunks += len(ids) - len(old_hashes)
            self._terms += terms - old_terms
            written += len(ids)
            self.store.drop_unreferenced_vectors(self._con, old_hashes)
        return written

    def set_sources(self, moved: dict[str, str | None]) -> None:
        for article_id, source in moved.items():
            self.store.set_source(self._con, article_id, source)

    def commit(self, *, force_kind: str | None = None) -> Manifest:
        """Commit the run as the next generation: its manifest, counts and rows become visible together."""
        con = self._con
        if not self._dirty and self.previous is not None:
            con.commit()  # moved sources only: recorded, but no new generation
            return self.previous
        for key, delta in (("chunks", self._chunks), ("terms", self._terms)):
            con.execute(
                "INSERT INTO qa_meta(key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = (qa_meta.value::bigint + %s)::text",
                (key, str(max(delta, 0)), delta),
            )
        if self._rebuild:
            con.execute("DELETE FROM qa_vectors WHERE model <> %s", (self.stamp.fingerprint,))
        counted = con.execute("SELECT (SELECT count(*) FROM qa_articles), (SELECT count(*) FROM qa_chunks)").fetchone()
        articles, chunks = (int(v) for v in counted or (0, 0))
        manifest = Manifest(
            generation=self.generation,
            model=self.stamp,
            articles=articles,
            chunks=chunks,
            dense_file=DENSE_FILE,
            dense_kind=DENSE_KIND,
            pipeline=PIPELINE,
            updated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        self.store.set_meta(con, "manifest", manifest.to_json())
        self.store.set_meta(con, "generation", str(self.generation))
        pause_point("manifest")
        con.commit()
        pause_point("committed")
        self.previous = manifest
        self.backend.adopted(manifest)
        self._chunks = self._terms = 0
        self._rebuild = self._dirty = False
        self._cache = self.store
        self.generation += 1
        return manifest
