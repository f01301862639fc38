"""Dense backend: a FAISS inner-product index over normalised vectors, keyed by chunk id."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Past this many vectors exact search costs more than the recall an IVF index gives up (eval/bench_scale.py).
APPROX_THRESHOLD = 50_000


def _faiss() -> Any:
    import faiss

    return faiss


class DenseIndex:
    """Exact (flat) or approximate (IVF) search; never mutated while searched (copy, then swap)."""

    def __init__(self, index: Any, kind: str) -> None:
        self._index = index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @classmethod
    def build(cls, dim: int, ids: NDArray[np.int64], vectors: NDArray[np.float32], *, kind: str | None = None) -> DenseIndex:
        """A new index holding the given vectors; kind "flat" or "ivf", chosen by size when None."""
        faiss = _faiss()
        kind = kind or ("ivf" if len(ids) >= APPROX_THRESHOLD else "flat")
        if kind == "ivf":
            nlist = max(1, int(4 * np.sqrt(max(len(ids), 1))))
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.train(np.ascontiguousarray(vectors, dtype=np.float32))
            # IVF keeps ids itself and supports remove_ids; nprobe trades recall for speed.
            ivf.nprobe = 32
            index = ivf
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        out = cls(index, kind)
        out.add(ids, vectors)
        return out

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
            )

    def remove(self, ids: NDArray[np.int64]) -> None:
        if len(ids):
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def copy(self) -> DenseIndex:
        return DenseIndex(_faiss().clone_index(self._index), self.kind)

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Best-first (chunk id, cosine) pairs for one normalised query vector."""
        if self.size == 0 or k <= 0:
            return []
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half a file."""
        tmp = path.with_name(path.name + ".tmp")
        _faiss().write_index(self._index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, kind: str) -> DenseIndex:
        index = _faiss().read_index(str(path))
        if kind == "ivf":
            index.nprobe = 32
        return cls(index, kind)
