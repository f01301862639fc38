"""The index's tables in PostgreSQL: articles, chunks with their pgvector embedding, BM25 postings, the vector cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.core.config import HNSW_EF_SEARCH

if TYPE_CHECKING:
    import psycopg

# HNSW graph parameters (pgvector's defaults) and the candidate list a search walks: eval/bench_scale.py
# --backend postgres measures recall@10 against exact search with them.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
EF_SEARCH = HNSW_EF_SEARCH  # the default: QA_HNSW_EF_SEARCH sets it per service

# What the manifest names as the dense "file" and kind of a PostgreSQL index: the HNSW index on qa_chunks.
DENSE_FILE = "qa_chunks.embedding"
DENSE_KIND = "hnsw"


def _ddl(dim: int) -> str:
    return f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS qa_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS qa_articles (
    id text PRIMARY KEY, title text, date date, url text, lang text, source text, text text NOT NULL, hash text NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS qa_chunk_ids;
CREATE TABLE IF NOT EXISTS qa_chunks (
    id bigint PRIMARY KEY DEFAULT nextval('qa_chunk_ids'),
    article_id text NOT NULL REFERENCES qa_articles(id) ON DELETE CASCADE,
    ordinal integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL,
    hash text NOT NULL, sentences text NOT NULL, dates text NOT NULL,
    length integer NOT NULL,
    embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_chunks_article ON qa_chunks(article_id);
CREATE INDEX IF NOT EXISTS qa_chunks_hash ON qa_chunks(hash);
-- Vectors are unit length: the inner product is the cosine.
CREATE INDEX IF NOT EXISTS qa_chunks_hnsw ON qa_chunks USING hnsw (embedding vector_ip_ops)
    WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION});
-- One row per (analysed term, passage): BM25's term frequency, with the passage's length beside it so a
-- score needs no join; document frequencies are counted from it at query time.
CREATE TABLE IF NOT EXISTS qa_postings (
    term text NOT NULL,
    chunk_id bigint NOT NULL REFERENCES qa_chunks(id) ON DELETE CASCADE,
    tf integer NOT NULL,
    length integer NOT NULL,
    PRIMARY KEY (term, chunk_id)
) WITH (fillfactor = 90);
CREATE INDEX IF NOT EXISTS qa_postings_chunk ON qa_postings(chunk_id);
-- Keyed by passage content, so identical passages are embedded once and survive being re-chunked; committed
-- as it is embedded, apart from the writer's transaction, so a killed run keeps the work it did.
-- Per model (its fingerprint), so that a rebuild for another model never overwrites what the served one reads.
CREATE TABLE IF NOT EXISTS qa_vectors (
    model text NOT NULL, hash text NOT NULL, vec vector NOT NULL, sentences bytea, windows bytea,
    PRIMARY KEY (model, hash)
);
"""


def has_schema(con: psycopg.Connection[Any]) -> bool:
    row = con.execute("SELECT to_regclass('qa_meta') IS NOT NULL").fetchone()
    return bool(row and row[0])


def create_schema(con: psycopg.Connection[Any], dim: int) -> None:
    """The tables for vectors of `dim` dimensions (nothing if they exist), in the caller's transaction."""
    con.execute(_ddl(dim))


def drop_passages(con: psycopg.Connection[Any]) -> None:
    """The passage tables, whose vector column has the old model's dimension: a rebuild for a model of another
    dimension creates them anew (the id sequence stays, so that a chunk id is never reused)."""
    con.execute("DROP TABLE IF EXISTS qa_postings, qa_chunks CASCADE")
