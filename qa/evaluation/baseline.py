"""The afternoon baseline: LangChain's FAISS vector store over the same model and the same chunks."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa.evaluation.harness import EVAL_K, Retrieved, Run

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.evaluation.gold import GoldQuestion

SYSTEM = "langchain-faiss"


def _embeddings_class() -> type:
    from langchain_core.embeddings import Embeddings

    class EncoderEmbeddings(Embeddings):
        """Our encoder behind LangChain's Embeddings interface (with e5's query:/passage: prefixes)."""

        def __init__(self, encoder: Any) -> None:
            self.encoder = encoder

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in self.encoder.embed_passages(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in self.encoder.embed_queries([text])[0]]

    return EncoderEmbeddings


def build_baseline(engine: Engine) -> Any:
    """A LangChain FAISS store of every chunk of the engine's index, with its default (L2) settings.

    The chunk vectors are taken from the index's embedding cache: they are what `embed_documents`
    would compute with the same encoder, without spending minutes computing them again.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community announces its sunset on import
        from langchain_community.vectorstores import FAISS

    ids: list[int] = []
    vectors: list[list[float]] = []
    for batch_ids, batch_vecs in engine.store.iter_chunk_vectors():
        ids.extend(int(i) for i in batch_ids)
        vectors.extend([float(x) for x in v] for v in batch_vecs)
    chunks = engine.store.chunks_by_id(ids)
    pairs, metadatas = [], []
    for cid, vec in zip(ids, vectors, strict=True):
        stored = chunks.get(cid)
        if stored is None:
            continue
        pairs.append((stored.chunk.text, vec))
        metadatas.append({"article_id": stored.chunk.article_id, "start": stored.chunk.start, "end": stored.chunk.end})
    if not pairs:
        raise ValueError("the index holds no chunks")
    return FAISS.from_embeddings(pairs, _embeddings_class()(engine.encoder), metadatas=metadatas)


def run_baseline(store: Any, questions: Sequence[GoldQuestion], *, k: int = EVAL_K) -> list[Run]:
    """Each question through `similarity_search_with_score`, timed like the engine's calls (query embedding included)."""
    store.similarity_search_with_score(questions[0].question, k=k)  # warm-up, untimed
    runs: list[Run] = []
    for q in questions:
        t0 = time.perf_counter()
        docs = store.similarity_search_with_score(q.question, k=k)
        seconds = time.perf_counter() - t0
        results = tuple(Retrieved(d.metadata["article_id"], d.metadata["start"], d.metadata["end"]) for d, _ in docs)
        runs.append(Run(q.id, SYSTEM, results, None, seconds))
    return runs
