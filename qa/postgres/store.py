"""The index's reads and writes in PostgreSQL, with the local Store's methods: what retrieval and the writer call."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.core.types import Article, Chunk, Passage
from qa.index.store import ArticleSummary, SpanViews, half_bytes, passages_in_order, spans_into
from qa.postgres.connections import Connections

if TYPE_CHECKING:
    import psycopg
    from numpy.typing import NDArray

    from qa.index.prepare import VectorRow

# BM25's parameters: SQLite FTS5's, so that both backends rank alike.
K1 = 1.2
B = 0.75

# Scores computed in SQL: idf as FTS5 computes it (floored at 1e-6), summed over the query's terms (a term
# asked twice counts twice, as in FTS5's OR query), the passage length stored beside each posting.
_BM25 = f"""
WITH asked AS (SELECT unnest(%(terms)s::text[]) AS term),
df AS (SELECT p.term, count(*) AS n FROM qa_postings p WHERE p.term = ANY(%(terms)s) GROUP BY p.term),
w AS (SELECT a.term, greatest(ln((%(total)s - df.n + 0.5) / (df.n + 0.5)), 1e-6) AS idf FROM asked a JOIN df USING (term))
SELECT p.chunk_id, sum(w.idf * p.tf * {K1 + 1} / (p.tf + {K1} * ({1 - B} + {B} * p.length / %(avgdl)s))) AS s
FROM qa_postings p JOIN w USING (term)
GROUP BY p.chunk_id ORDER BY s DESC, p.chunk_id LIMIT %(k)s
"""


def _array(value: Any) -> NDArray[np.float32]:
    """A vector column's value as float32 (pgvector gives a Vector for a column declared without dimensions)."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


def _article(row: Sequence[Any]) -> Article:
    return Article(id=row[0], text=row[1], title=row[2], date=row[3], url=row[4], lang=row[5], source=row[6])


_ARTICLE_COLUMNS = "id, text, title, date, url, lang, source"


class PgStore(SpanViews):
    """An index in one PostgreSQL database: reads on a replica when one is up and caught up, writes on the primary."""

    def __init__(self, connections: Connections, model: str = "") -> None:
        self.db = connections
        # The fingerprint of the model whose cached vectors this view reads and writes.
        self.model = model

    def for_model(self, model: str) -> PgStore:
        """The same database, reading and writing the vector cache of another model."""
        return PgStore(self.db, model)

    def close(self) -> None:
        self.db.close()

    def _rows(self, sql: str, params: Any = None) -> list[Any]:
        return self.db.read(lambda con: con.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Any = None) -> Any:
        return self.db.read(lambda con: con.execute(sql, params).fetchone())

    # --- meta -------------------------------------------------------------------------------------------
    def set_meta(self, con: psycopg.Connection[Any], key: str, value: str) -> None:
        con.execute(
            "INSERT INTO qa_meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def stats(self) -> tuple[int, float]:
        """(passages, mean passage length in terms): BM25's N and avgdl, kept in qa_meta by each commit."""
        rows = dict(self._rows("SELECT key, value FROM qa_meta WHERE key IN ('chunks', 'terms')"))
        n, terms = int(rows.get("chunks", 0)), int(rows.get("terms", 0))
        return n, (terms / n if n else 1.0)

    # --- articles ---------------------------------------------------------------------------------------
    def article_hashes(self) -> dict[str, str]:
        return dict(self.db.on_primary(lambda con: con.execute("SELECT id, hash FROM qa_articles").fetchall()))

    def article_states(self) -> dict[str, tuple[str, str | None]]:
        """Every article's (content hash, source file), from the primary: what a sync compares the corpus against."""
        rows = self.db.on_primary(lambda con: con.execute("SELECT id, hash, source FROM qa_articles").fetchall())
        return {r[0]: (r[1], r[2]) for r in rows}

    def get_article(self, article_id: str) -> Article | None:
        row = self._one(f"SELECT {_ARTICLE_COLUMNS} FROM qa_articles WHERE id = %s", (article_id,))
        return None if row is None else _article(row)

    def article_for_write(self, article_id: str) -> Article | None:
        """The article as the primary has it: what a write checks before it changes it."""
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM qa_articles WHERE id = %s"
        row = self.db.on_primary(lambda con: con.execute(sql, (article_id,)).fetchone())
        return None if row is None else _article(row)

    def iter_articles(self) -> Iterator[Article]:
        """Every article, whole, in id order, read in pages (a server-side cursor would pin one connection)."""
        after = ""
        while True:
            rows = self._rows(
                f"SELECT {_ARTICLE_COLUMNS} FROM qa_articles WHERE id > %s ORDER BY id LIMIT 500",
                (after,),
            )
            if not rows:
                return
            yield from (_article(r) for r in rows)
            after = rows[-1][0]

    def list_articles(self) -> list[ArticleSummary]:
        rows = self._rows(
            "SELECT a.id, a.title, a.date, a.url, (SELECT count(*) FROM qa_chunks c WHERE c.article_id = a.id) "
            "FROM qa_articles a ORDER BY a.date DESC NULLS LAST, a.id"
        )
        return [ArticleSummary(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    def article_chunk_count(self, article_id: str) -> int:
        return int(self._one("SELECT count(*) FROM qa_chunks WHERE article_id = %s", (article_id,))[0])

    def counts(self) -> tuple[int, int]:
        row = self._one("SELECT (SELECT count(*) FROM qa_articles), (SELECT count(*) FROM qa_chunks)")
        return int(row[0]), int(row[1])

    # --- writes (inside the writer's transaction) ---------------------------------------------------------
    def clear(self, con: psycopg.Connection[Any]) -> None:
        """Empty every table but keep the id sequence, so that a chunk id is never reused."""
        con.execute("DELETE FROM qa_postings")
        con.execute("DELETE FROM qa_chunks")
        con.execute("DELETE FROM qa_articles")
        con.execute("DELETE FROM qa_meta WHERE key IN ('chunks', 'terms')")

    def set_source(self, con: psycopg.Connection[Any], article_id: str, source: str | None) -> None:
        con.execute("UPDATE qa_articles SET source = %s WHERE id = %s", (source, article_id))

    def delete_article(self, con: psycopg.Connection[Any], article_id: str) -> tuple[list[int], list[str], int]:
        """Remove an article, its chunks and postings; returns the removed chunk ids, their hashes and their terms."""
        sql = "DELETE FROM qa_chunks WHERE article_id = %s RETURNING id, hash, length"
        rows = con.execute(sql, (article_id,)).fetchall()
        con.execute("DELETE FROM qa_articles WHERE id = %s", (article_id,))
        return [int(r[0]) for r in rows], [str(r[1]) for r in rows], sum(int(r[2]) for r in rows)

    def insert_article(
        self, con: psycopg.Connection[Any], article: Article, chunks: Sequence[Chunk], terms: Sequence[str]
    ) -> tuple[list[int], int]:
        """Insert an article, its chunks (their vectors copied from the cache) and postings; the new ids and terms."""
        con.execute(
            "INSERT INTO qa_articles(id, title, date, url, lang, source, text, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                article.id,
                article.title,
                article.date,
                article.url,
                article.lang,
                article.source,
                article.text,
                article.content_hash,
            ),
        )
        ids: list[int] = []
        total = 0
        postings: list[tuple[str, int, int, int]] = []
        for chunk, chunk_terms in zip(chunks, terms, strict=True):
            tokens = chunk_terms.split()
            row = con.execute(
                'INSERT INTO qa_chunks(article_id, ordinal, start, "end", hash, sentences, dates, length, embedding) '
                "SELECT %s, %s, %s, %s, %s, %s, %s, %s, v.vec FROM qa_vectors v WHERE v.model = %s AND v.hash = %s RETURNING id",
                (
                    article.id,
                    chunk.ordinal,
                    chunk.start,
                    chunk.end,
                    chunk.content_hash,
                    json.dumps([[s.start, s.end] for s in chunk.sentences]),
                    json.dumps(list(chunk.dates)),
                    len(tokens),
                    self.model,
                    chunk.content_hash,
                ),
            ).fetchone()
            if row is None:
                raise RuntimeError(f"no cached vector for a passage of {article.id!r}: it must be embedded first")
            chunk_id = int(row[0])
            ids.append(chunk_id)
            total += len(tokens)
            postings.extend((term, chunk_id, tf, len(tokens)) for term, tf in Counter(tokens).items())
        if postings:
            with con.cursor() as cur, cur.copy("COPY qa_postings(term, chunk_id, tf, length) FROM STDIN") as copy:
                for p in postings:
                    copy.write_row(p)
        return ids, total

    def drop_unreferenced_vectors(self, con: psycopg.Connection[Any], hashes: Iterable[str]) -> None:
        con.execute(
            "DELETE FROM qa_vectors v WHERE v.model = %s AND v.hash = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM qa_chunks c WHERE c.hash = v.hash)",
            (self.model, list(set(hashes))),
        )

    # --- vectors ------------------------------------------------------------------------------------------
    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        """The hashes among these that have no cached vector (asked of the primary, where vectors are written)."""
        wanted = list(set(hashes))
        sql = "SELECT hash FROM qa_vectors WHERE model = %s AND hash = ANY(%s)"
        found = {str(r[0]) for r in self.db.on_primary(lambda con: con.execute(sql, (self.model, wanted)).fetchall())}
        return set(wanted) - found

    def put_vectors(self, rows: Iterable[VectorRow], con: psycopg.Connection[Any] | None = None) -> None:
        """Cache embeddings by content hash, committed at once on the primary (or in the caller's transaction)."""
        values = [(self.model, h, np.asarray(v, dtype=np.float32), half_bytes(s), half_bytes(w)) for h, v, s, w in rows]
        if not values:
            return
        sql = (
            "INSERT INTO qa_vectors(model, hash, vec, sentences, windows) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (model, hash) DO UPDATE "
            "SET vec = excluded.vec, sentences = excluded.sentences, windows = excluded.windows"
        )

        def put(c: psycopg.Connection[Any]) -> None:
            with c.cursor() as cur:
                cur.executemany(sql, values)

        if con is not None:
            put(con)
        else:
            self.db.on_primary(put)

    def vectors_for(self, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        sql = "SELECT hash, vec FROM qa_vectors WHERE model = %s AND hash = ANY(%s)"
        rows = self._rows(sql, (self.model, list(set(hashes))))
        return {str(h): _array(v) for h, v in rows}

    def span_vectors(
        self, hashes: Iterable[str], dim: int, *, sentences: bool = True, windows: bool = True
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.float32]]]:
        """The sentence and the window vectors of these passages, in one read (either may be skipped: left empty)."""
        out: tuple[dict[str, NDArray[np.float32]], dict[str, NDArray[np.float32]]] = ({}, {})
        columns = [c for c, wanted in (("sentences", sentences), ("windows", windows)) if wanted]
        if not columns:
            return out
        targets = [out[0] if c == "sentences" else out[1] for c in columns]
        sql = f"SELECT hash, {', '.join(columns)} FROM qa_vectors WHERE model = %s AND hash = ANY(%s)"
        spans_into(targets, self._rows(sql, (self.model, list(set(hashes)))), dim)
        return out

    def chunk_ids(self) -> NDArray[np.int64]:
        rows = self._rows("SELECT id FROM qa_chunks ORDER BY id")
        return np.array([r[0] for r in rows], dtype=np.int64)

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        rows = self._rows("SELECT id, embedding FROM qa_chunks WHERE id = ANY(%s)", ([int(c) for c in chunk_ids],))
        found = {int(i): _array(v) for i, v in rows}
        return {int(c): found[int(c)] for c in chunk_ids if int(c) in found}

    def iter_chunk_vectors(self, batch: int = 10_000) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """Every live chunk's id and vector, in batches of ids (keyset pages)."""
        after = -1
        while rows := self._rows("SELECT id, embedding FROM qa_chunks WHERE id > %s ORDER BY id LIMIT %s", (after, batch)):
            yield np.array([r[0] for r in rows], dtype=np.int64), np.stack([_array(r[1]) for r in rows])
            after = int(rows[-1][0])

    # --- reads for answering -------------------------------------------------------------------------------
    def chunks_by_id(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """The live chunks among these ids, in their order (ids of deleted chunks are simply absent)."""
        sql = (
            'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.hash, c.sentences, c.dates, '
            'substr(a.text, c.start + 1, c."end" - c.start), a.title, a.date, a.url '
            "FROM qa_chunks c JOIN qa_articles a ON a.id = c.article_id WHERE c.id = ANY(%s)"
        )
        return passages_in_order(chunk_ids, self._rows(sql, ([int(c) for c in chunk_ids],)))

    def mentioned(self, term_sets: Sequence[Sequence[str]]) -> list[bool]:
        """For each set of index terms, whether any passage of the archive holds one of them (one statement)."""
        pairs = [(n, t) for n, terms in enumerate(term_sets) for t in terms]
        out = [False] * len(term_sets)
        if not pairs:
            return out
        sql = (
            "SELECT DISTINCT q.n FROM unnest(%s::int[], %s::text[]) AS q(n, term) "
            "WHERE EXISTS (SELECT 1 FROM qa_postings p WHERE p.term = q.term)"
        )
        for (n,) in self._rows(sql, ([p[0] for p in pairs], [p[1] for p in pairs])):
            out[int(n)] = True
        return out

    def mentions_any(self, terms: Sequence[str]) -> bool:
        return self.mentioned([terms])[0]

    def term_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages hold each index term (one statement)."""
        wanted = list(dict.fromkeys(terms))
        rows = self._rows("SELECT term, count(*) FROM qa_postings WHERE term = ANY(%s) GROUP BY term", (wanted,))
        found = {str(t): int(n) for t, n in rows}
        return {t: found.get(t, 0) for t in wanted}

    def lexical_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Best-first (chunk id, BM25 score) for any of the terms, BM25 computed in SQL with FTS5's formula."""
        if not terms or k <= 0:
            return []
        total, avgdl = self.stats()
        rows = self._rows(_BM25, {"terms": list(terms), "total": total, "avgdl": avgdl, "k": k})
        return [(int(r[0]), float(r[1])) for r in rows]

    def dense_search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Best-first (chunk id, cosine) by pgvector's HNSW index."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        sql = "SELECT id, -(embedding <#> %s) FROM qa_chunks ORDER BY embedding <#> %s LIMIT %s"
        return [(int(i), float(s)) for i, s in self._rows(sql, (q, q, k))]
