"""Embedding a batch: each distinct passage once, its sentence and window vectors split apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.core.types import Article
from qa.index.chunking import chunk_article, sentence_windows
from qa.index.prepare import embed_missing, embedded_spans
from qa.index.store import Store
from tests.conftest import FakeEncoder

TEXT = (
    "Le 4 avril 2025, le Kazakhstan a pris part au premier sommet entre l’Union européenne et l’Asie centrale, "
    "tenu à Samarcande, en Ouzbékistan. Bref. Les deux chefs d’État ont alors signé 24 accords bilatéraux, "
    "couvrant l’énergie, les infrastructures et l’agriculture."
)


class SpanEncoder(FakeEncoder):
    """Each span's vector records where the span starts and ends, so a misplaced row shows."""

    def embed_passages_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], **_: object
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        vecs = self.embed_passages(texts)
        rows = [
            np.array([[a, b] + [0] * (self.info.dim - 2) for a, b in s], dtype=np.float32).reshape(-1, self.info.dim)
            for s in spans
        ]
        return vecs, rows


def test_sentence_and_window_vectors_are_split_in_order(tmp_path: Path) -> None:
    (chunk,) = chunk_article(Article(id="a", text=TEXT))
    windows = sentence_windows(chunk)
    assert len(chunk.sentences) == 3 and len(windows) > 2
    (row,) = embed_missing(SpanEncoder(), Store(tmp_path / "s.sqlite"), [chunk, chunk])
    h, _, sentence_vecs, window_vecs = row
    assert h == chunk.content_hash
    assert sentence_vecs is not None and window_vecs is not None
    assert [tuple(v[:2]) for v in sentence_vecs] == [(s.start - chunk.start, s.end - chunk.start) for s in chunk.sentences]
    assert [tuple(v[:2]) for v in window_vecs] == [(w.start - chunk.start, w.end - chunk.start) for _, w in windows]
    assert len(embedded_spans(chunk)) == len(chunk.sentences) + len(windows)


def test_an_encoder_without_spans_stores_no_span_vectors(tmp_path: Path) -> None:
    (chunk,) = chunk_article(Article(id="a", text=TEXT))
    ((_, _, sentence_vecs, window_vecs),) = embed_missing(FakeEncoder(), Store(tmp_path / "s.sqlite"), [chunk])
    assert sentence_vecs is None and window_vecs is None
