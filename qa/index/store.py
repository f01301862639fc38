"""The index's SQLite file: articles, chunks, the lexical (FTS5) table and the embedding cache."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.core.types import Article, Chunk, Passage, Span

if TYPE_CHECKING:
    from numpy.typing import NDArray

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT, date TEXT, url TEXT, lang TEXT, source TEXT,
    text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    hash TEXT NOT NULL, sentences TEXT NOT NULL, dates TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
-- Keyed by passage content, so identical passages are embedded once and survive being re-chunked.
CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vec BLOB NOT NULL, sentences BLOB, windows BLOB);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2');
"""


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """An article's metadata and how many chunks it has, without its text."""

    id: str
    title: str | None
    date: dt.date | None
    url: str | None
    chunks: int


# Values bound to one `IN (...)`: far below SQLite's 32,766 parameters, and one statement for any /ask.
_IN_BATCH = 900
# SELECTs joined by one UNION ALL: SQLite refuses more than 500 in a compound statement.
_UNION_BATCH = 200


def _phrase(term: str) -> str:
    """A term quoted as an FTS5 phrase, so that no character of it is read as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def half_bytes(vectors: NDArray[np.float32] | None) -> bytes | None:
    """Span vectors as float16 bytes: they only rank sentences, and there are several per passage."""
    return None if vectors is None else np.asarray(vectors, dtype=np.float16).tobytes()


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


# The columns an Article is read from, in the order _article takes them.
_ARTICLE_COLUMNS = "id, text, title, date, url, lang, source"


def _article(row: Sequence[Any]) -> Article:
    return Article(id=row[0], text=row[1], title=row[2], date=_date(row[3]), url=row[4], lang=row[5], source=row[6])


def passages_in_order(chunk_ids: Sequence[int], rows: Iterable[Sequence[Any]]) -> dict[int, Passage]:
    """Passages from rows of (id, article_id, ordinal, start, end, hash, sentences, dates, text, title, date, url),
    in the order of `chunk_ids` (an id with no row is absent): what both backends' chunks_by_id select."""
    found: dict[int, Passage] = {}
    for row in rows:
        chunk = Chunk(
            article_id=row[1],
            ordinal=row[2],
            start=row[3],
            end=row[4],
            text=row[8],
            sentences=tuple(Span(s, e) for s, e in json.loads(row[6])),
            dates=tuple(json.loads(row[7])),
        )
        published = row[10] if isinstance(row[10], dt.date) or row[10] is None else _date(row[10])
        found[int(row[0])] = Passage(int(row[0]), chunk, row[5], row[9], published, row[11])
    return {int(c): found[int(c)] for c in chunk_ids if int(c) in found}


def spans_into(targets: Sequence[dict[str, NDArray[np.float32]]], rows: Iterable[Sequence[Any]], dim: int) -> None:
    """Rows of (hash, blob, ...) decoded into one dict per blob column: float16 span vectors, `dim` wide."""
    for row in rows:
        for target, blob in zip(targets, row[1:], strict=True):
            if blob is not None:
                target[str(row[0])] = np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim)


class SpanViews:
    """The sentence and window views of a store's span_vectors (one read either way)."""

    def span_vectors(
        self, hashes: Iterable[str], dim: int, *, sentences: bool = True, windows: bool = True
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.float32]]]:
        raise NotImplementedError

    def sentence_vectors_for(self, hashes: Sequence[str], dim: int) -> dict[str, NDArray[np.float32]]:
        return self.span_vectors(hashes, dim, windows=False)[0]

    def window_vectors_for(self, hashes: Sequence[str], dim: int) -> dict[str, NDArray[np.float32]]:
        return self.span_vectors(hashes, dim, sentences=False)[1]


class Store(SpanViews):
    """One SQLite database in WAL mode: any number of readers alongside one writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # executescript commits by itself, so the schema is created outside an explicit transaction.
        con = self.connection()
        con.executescript(_SCHEMA)
        # Stores written before sentence windows existed: their passages answer without windows until
        # `qa index --rebuild` embeds them again.
        if "windows" not in {row[1] for row in con.execute("PRAGMA table_info(vectors)")}:
            try:
                con.execute("ALTER TABLE vectors ADD COLUMN windows BLOB")
            except sqlite3.OperationalError as exc:  # another process opening the same old store got there first
                if "duplicate column" not in str(exc):
                    raise

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not be shared across threads)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only a power cut can lose the last commit.
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    class Transaction:
        """BEGIN IMMEDIATE on entry; COMMIT on a clean exit, ROLLBACK on an exception."""

        def __init__(self, con: sqlite3.Connection) -> None:
            self.con = con

        def __enter__(self) -> sqlite3.Connection:
            self.con.execute("BEGIN IMMEDIATE")
            return self.con

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> Store.Transaction:
        return Store.Transaction(self.connection())

    def _select_in(self, sql: str, values: Iterable[object]) -> list[Any]:
        """Rows of `sql` whose `IN ({})` takes the values, a batch of them per statement (SQLite caps parameters)."""
        values = list(values)
        con = self.connection()
        rows: list[Any] = []
        for i in range(0, len(values), _IN_BATCH):
            part = values[i : i + _IN_BATCH]
            rows.extend(con.execute(sql.format(", ".join("?" * len(part))), part).fetchall())
        return rows

    def _union(self, select: str, params: Sequence[tuple[object, ...]]) -> list[Any]:
        """`select` once per parameter tuple, joined by UNION ALL into as few statements as SQLite allows."""
        con = self.connection()
        rows: list[Any] = []
        for i in range(0, len(params), _UNION_BATCH):
            part = params[i : i + _UNION_BATCH]
            rows.extend(con.execute(" UNION ALL ".join([select] * len(part)), [v for p in part for v in p]).fetchall())
        return rows

    # --- meta -------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, con: sqlite3.Connection, key: str, value: str) -> None:
        con.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)
        )

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # --- articles ---------------------------------------------------------------------------------------
    def article_hashes(self) -> dict[str, str]:
        return dict(self.connection().execute("SELECT id, hash FROM articles").fetchall())

    def article_states(self) -> dict[str, tuple[str, str | None]]:
        """Every article's (content hash, source file): what a sync compares the corpus against."""
        rows = self.connection().execute("SELECT id, hash, source FROM articles").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def get_article(self, article_id: str) -> Article | None:
        row = self.connection().execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else _article(row)

    def article_for_write(self, article_id: str) -> Article | None:
        """The article as a writer checks it before changing it (here, where it is written, as read)."""
        return self.get_article(article_id)

    def iter_articles(self) -> Iterator[Article]:
        """Every article, whole, in id order, read as a stream (one row at a time)."""
        for row in self.connection().execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY id"):
            yield _article(row)

    def list_articles(self) -> list[ArticleSummary]:
        rows = (
            self.connection()
            .execute(
                "SELECT a.id, a.title, a.date, a.url, (SELECT count(*) FROM chunks c WHERE c.article_id = a.id) "
                "FROM articles a ORDER BY a.date DESC, a.id"
            )
            .fetchall()
        )
        return [ArticleSummary(r[0], r[1], _date(r[2]), r[3], int(r[4])) for r in rows]

    def article_chunk_count(self, article_id: str) -> int:
        row = self.connection().execute("SELECT count(*) FROM chunks WHERE article_id = ?", (article_id,)).fetchone()
        return int(row[0])

    def counts(self) -> tuple[int, int]:
        con = self.connection()
        return (
            int(con.execute("SELECT count(*) FROM articles").fetchone()[0]),
            int(con.execute("SELECT count(*) FROM chunks").fetchone()[0]),
        )

    # --- writes (inside one transaction) -----------------------------------------------------------------
    def clear(self, con: sqlite3.Connection) -> None:
        """Empty every table but keep the id sequence, so a chunk id is never reused (old dense files cite ids)."""
        for table in ("chunk_terms", "chunks", "articles", "vectors"):
            con.execute(f"DELETE FROM {table}")
        con.execute("DELETE FROM meta WHERE key IN ('model_name', 'model_dim', 'model_fingerprint', 'pipeline')")

    def set_source(self, con: sqlite3.Connection, article_id: str, source: str | None) -> None:
        con.execute("UPDATE articles SET source = ? WHERE id = ?", (source, article_id))

    def delete_article(self, con: sqlite3.Connection, article_id: str) -> tuple[list[int], list[str]]:
        """Remove an article and its chunks; returns the removed chunk ids and their content hashes."""
        rows = con.execute("SELECT id, hash FROM chunks WHERE article_id = ?", (article_id,)).fetchall()
        ids = [int(r[0]) for r in rows]
        con.executemany("DELETE FROM chunk_terms WHERE rowid = ?", [(i,) for i in ids])
        con.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        con.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return ids, [str(r[1]) for r in rows]

    def insert_article(
        self, con: sqlite3.Connection, article: Article, chunks: Sequence[Chunk], terms: Sequence[str]
    ) -> list[int]:
        """Insert an article with its chunks and their lexical terms; returns the new chunk ids."""
        con.execute(
            "INSERT INTO articles(id, title, date, url, lang, source, text, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.date.isoformat() if article.date else None,
                article.url,
                article.lang,
                article.source,
                article.text,
                article.content_hash,
            ),
        )
        ids: list[int] = []
        for chunk, chunk_terms in zip(chunks, terms, strict=True):
            cur = con.execute(
                'INSERT INTO chunks(article_id, ordinal, start, "end", hash, sentences, dates) VALUES (?, ?, ?, ?, ?, ?, ?)',
                (
                    article.id,
                    chunk.ordinal,
                    chunk.start,
                    chunk.end,
                    chunk.content_hash,
                    json.dumps([[s.start, s.end] for s in chunk.sentences]),
                    json.dumps(list(chunk.dates)),
                ),
            )
            chunk_id = int(cur.lastrowid or 0)
            con.execute("INSERT INTO chunk_terms(rowid, terms) VALUES (?, ?)", (chunk_id, chunk_terms))
            ids.append(chunk_id)
        return ids

    def drop_unreferenced_vectors(self, con: sqlite3.Connection, hashes: Iterable[str]) -> None:
        con.executemany(
            "DELETE FROM vectors WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.hash = vectors.hash)",
            [(h,) for h in hashes],
        )

    # --- vectors ------------------------------------------------------------------------------------------
    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        """The hashes among these that have no cached vector."""
        wanted = set(hashes)
        found = {str(r[0]) for r in self._select_in("SELECT hash FROM vectors WHERE hash IN ({})", wanted)}
        return wanted - found

    def put_vectors(
        self,
        rows: Iterable[tuple[str, NDArray[np.float32], NDArray[np.float32] | None, NDArray[np.float32] | None]],
        con: sqlite3.Connection | None = None,
    ) -> None:
        """Cache embeddings by content hash (passage, sentences, windows), in the caller's transaction or their own."""
        values = [(h, np.asarray(v, dtype=np.float32).tobytes(), half_bytes(s), half_bytes(w)) for h, v, s, w in rows]
        sql = "INSERT OR REPLACE INTO vectors(hash, vec, sentences, windows) VALUES (?, ?, ?, ?)"
        if con is not None:
            con.executemany(sql, values)
            return
        with self.transaction() as own:
            own.executemany(sql, values)

    def vectors_for(self, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        rows = self._select_in("SELECT hash, vec FROM vectors WHERE hash IN ({})", set(hashes))
        return {str(h): np.frombuffer(v, dtype=np.float32) for h, v in rows}

    def span_vectors(
        self, hashes: Iterable[str], dim: int, *, sentences: bool = True, windows: bool = True
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.float32]]]:
        """The sentence and the window vectors of these passages, in one read (either may be skipped: left empty)."""
        out: tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.float32]]] = ({}, {})
        columns = [c for c, wanted in (("sentences", sentences), ("windows", windows)) if wanted]
        if not columns:
            return out
        sql = f"SELECT hash, {', '.join(columns)} FROM vectors WHERE hash IN ({{}})"
        targets = [out[0] if c == "sentences" else out[1] for c in columns]
        spans_into(targets, self._select_in(sql, set(hashes)), dim)
        return out

    def chunk_ids(self) -> NDArray[np.int64]:
        """Every live chunk id, sorted: what the dense index must hold."""
        rows = self.connection().execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        """The cached vector of each of these chunks (a chunk whose vector is missing is absent)."""
        sql = "SELECT c.id, v.vec FROM chunks c JOIN vectors v ON v.hash = c.hash WHERE c.id IN ({})"
        found = {int(i): np.frombuffer(v, dtype=np.float32) for i, v in self._select_in(sql, [int(c) for c in chunk_ids])}
        return {int(c): found[int(c)] for c in chunk_ids if int(c) in found}

    def iter_chunk_vectors(self, batch: int = 10_000) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """Every live chunk's id and vector, in batches, to rebuild the dense index without re-embedding."""
        cur = self.connection().execute("SELECT c.id, v.vec FROM chunks c JOIN vectors v ON v.hash = c.hash ORDER BY c.id")
        while rows := cur.fetchmany(batch):
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield ids, vecs

    # --- reads for answering -------------------------------------------------------------------------------
    def chunks_by_id(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """The live chunks among these ids, in their order (ids of deleted chunks are simply absent)."""
        sql = (
            'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.hash, c.sentences, c.dates, '
            'substr(a.text, c.start + 1, c."end" - c.start), a.title, a.date, a.url '
            "FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({})"
        )
        return passages_in_order(chunk_ids, self._select_in(sql, [int(c) for c in chunk_ids]))

    def mentioned(self, term_sets: Sequence[Sequence[str]]) -> list[bool]:
        """For each set of index terms, whether any passage of the archive holds one of them (one statement)."""
        asked = [(n, " OR ".join(_phrase(t) for t in terms)) for n, terms in enumerate(term_sets) if terms]
        out = [False] * len(term_sets)
        for n, hit in self._union("SELECT ?, EXISTS (SELECT 1 FROM chunk_terms WHERE chunk_terms MATCH ?)", asked):
            out[int(n)] = bool(hit)
        return out

    def mentions_any(self, terms: Sequence[str]) -> bool:
        """Whether any passage of the archive holds one of the index terms."""
        return self.mentioned([terms])[0]

    def term_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages hold each index term (one statement)."""
        select = "SELECT ?, (SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?)"
        return {str(t): int(n) for t, n in self._union(select, [(t, _phrase(t)) for t in terms])}

    def lexical_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Best-first (chunk id, BM25 score) for any of the terms; FTS5's bm25() is negated to grow with relevance."""
        if not terms or k <= 0:
            return []
        query = " OR ".join(_phrase(t) for t in terms)
        rows = (
            self.connection()
            .execute(
                "SELECT rowid, bm25(chunk_terms) AS s FROM chunk_terms WHERE chunk_terms MATCH ? ORDER BY s LIMIT ?",
                (query, k),
            )
            .fetchall()
        )
        return [(int(r[0]), -float(r[1])) for r in rows]
