"""Dense search: a FAISS base index (exact or IVF) plus a small exact delta, read as one snapshot."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

# Exact search up to this many vectors, IVF past it; IVF lists = NLIST_FACTOR * sqrt(n), and a search
# probes NPROBE_FRACTION of them. Measured by eval/bench_scale.py (README, "Search at scale"): e5 vectors
# barely cluster, so IVF must scan about a third of the index to keep recall@10 >= 0.95 against exact;
# that makes a search ~2-3x cheaper. Below 100k vectors a flat scan costs a few ms, a small part of an
# /ask, and not worth 5% of the nearest passages; past it the scan grows by ~1.5 ms per 10k vectors.
APPROX_THRESHOLD = 100_000
NLIST_FACTOR = 1.0
NPROBE_FRACTION = 1 / 3
# A base is rewritten (compacted) when its delta outgrows this share of it, or DELTA_MIN rows; below
# that a commit writes only the delta, so a small change costs what changed, not what exists.
DELTA_FRACTION = 0.05
DELTA_MIN = 2_048


_threads = 1
_configured = False


def configure_threads(n: int) -> None:
    """FAISS's OpenMP threads for searches and builds (Settings.faiss_threads; 1 unless told)."""
    global _threads, _configured
    _threads, _configured = n, False


def _faiss() -> Any:
    import faiss

    global _configured
    if not _configured:
        faiss.omp_set_num_threads(_threads)
        _configured = True
    return faiss


def kind_for(n: int) -> str:
    """ "flat" (exact) or "ivf" (approximate) for an index of n vectors."""
    return "ivf" if n >= APPROX_THRESHOLD else "flat"


def nlist_for(n: int) -> int:
    return max(1, round(NLIST_FACTOR * math.sqrt(max(n, 1))))


def nprobe_for(nlist: int) -> int:
    return max(1, math.ceil(NPROBE_FRACTION * nlist))


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class FaissIndex:
    """One FAISS index keyed by chunk id: flat (exact) or IVF (approximate); mutated only by its owner."""

    def __init__(self, index: Any, kind: str) -> None:
        self._index = index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def nlist(self) -> int:
        return int(self._index.nlist) if self.kind == "ivf" else 0

    @classmethod
    def empty(cls, dim: int, kind: str = "flat", train: NDArray[np.float32] | None = None, nlist: int = 1) -> FaissIndex:
        faiss = _faiss()
        if kind == "flat":
            return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), "flat")
        # IVF keeps ids itself and supports remove_ids, unlike HNSW; its lists are trained once here.
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(np.ascontiguousarray(train, dtype=np.float32))
        return cls(ivf, "ivf")

    @classmethod
    def build(cls, dim: int, ids: NDArray[np.int64], vectors: NDArray[np.float32], *, kind: str | None = None) -> FaissIndex:
        """A new index holding these vectors; its kind chosen by size when None."""
        kind = kind or kind_for(len(ids))
        out = cls.empty(dim, kind, vectors, nlist_for(len(ids)))
        out.add(ids, vectors)
        return out

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: NDArray[np.int64]) -> None:
        if len(ids):
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))

    def copy(self) -> FaissIndex:
        return FaissIndex(_faiss().clone_index(self._index), self.kind)

    def ids(self) -> NDArray[np.int64]:
        """Every id held, sorted (for recovery and checks; O(size))."""
        faiss = _faiss()
        if self.kind == "flat":
            out = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        else:
            lists = self._index.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                for i in range(self._index.nlist)
                if lists.list_size(i)
            ]
            out = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        return np.sort(out)

    def search(
        self, query: NDArray[np.float32], k: int, exclude: Any = None, nprobe: int | None = None
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """(ids, scores) of the k best, best first; `exclude` is a FAISS IDSelector of ids to skip."""
        faiss = _faiss()
        if self.size == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(sel=exclude, nprobe=nprobe or nprobe_for(self.nlist))
        else:
            params = faiss.SearchParameters(sel=exclude)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(q, min(k, self.size), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half a file."""
        from qa.index.faults import pause_point

        tmp = path.with_name(path.name + ".tmp")
        _faiss().write_index(self._index, str(tmp))
        pause_point("dense-write")
        _fsync_replace(tmp, path)

    @classmethod
    def load(cls, path: Path, kind: str) -> FaissIndex:
        if not path.is_file():
            raise FileNotFoundError(path)
        return cls(_faiss().read_index(str(path)), kind)


class DenseIndex:
    """What a search reads: an immutable base, minus the ids removed since, plus an exact delta.

    Snapshots share their base and are never mutated, so a search never races a commit; a commit
    that changes little writes only the delta (see DELTA_FRACTION).
    """

    def __init__(
        self,
        base: FaissIndex,
        delta_ids: NDArray[np.int64] | None = None,
        delta_vecs: NDArray[np.float32] | None = None,
        removed: NDArray[np.int64] | None = None,
        *,
        dim: int | None = None,
    ) -> None:
        self.base = base
        self.dim = int(dim if dim is not None else base.dim)
        self.delta_ids = delta_ids if delta_ids is not None else np.zeros(0, np.int64)
        self.delta_vecs = delta_vecs if delta_vecs is not None else np.zeros((0, self.dim), np.float32)
        self.removed = np.unique(removed) if removed is not None else np.zeros(0, np.int64)
        # The selector copies the ids into its own set; it must live as long as this snapshot.
        self._exclude = _faiss().IDSelectorNot(_faiss().IDSelectorBatch(self.removed)) if len(self.removed) else None

    @classmethod
    def empty(cls, dim: int) -> DenseIndex:
        return cls(FaissIndex.empty(dim), dim=dim)

    @classmethod
    def build(cls, dim: int, ids: NDArray[np.int64], vectors: NDArray[np.float32], *, kind: str | None = None) -> DenseIndex:
        return cls(FaissIndex.build(dim, ids, vectors, kind=kind), dim=dim)

    @property
    def kind(self) -> str:
        return self.base.kind

    @property
    def size(self) -> int:
        return self.base.size - len(self.removed) + len(self.delta_ids)

    @property
    def delta_rows(self) -> int:
        return len(self.delta_ids) + len(self.removed)

    def ids(self) -> NDArray[np.int64]:
        """Every id searchable in this snapshot, sorted."""
        return np.union1d(np.setdiff1d(self.base.ids(), self.removed, assume_unique=True), self.delta_ids)

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Best-first (chunk id, cosine) pairs for one normalised query vector."""
        if k <= 0:
            return []
        ids, scores = self.base.search(query, k, self._exclude)
        if len(self.delta_ids):
            s = self.delta_vecs @ np.asarray(query, dtype=np.float32).reshape(-1)
            top = np.argpartition(-s, k - 1)[:k] if len(s) > k else np.arange(len(s))
            ids = np.concatenate([ids, self.delta_ids[top]])
            scores = np.concatenate([scores, s[top]])
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in order]

    def with_changes(self, added: dict[int, NDArray[np.float32]], removed: Iterable[int]) -> DenseIndex:
        """A new snapshot over the same base: these ids removed, these (id, vector) added."""
        gone = np.fromiter(removed, dtype=np.int64)
        in_delta = np.isin(self.delta_ids, gone)
        keep_ids, keep_vecs = self.delta_ids[~in_delta], self.delta_vecs[~in_delta]
        base_gone = np.union1d(self.removed, np.setdiff1d(gone, self.delta_ids))
        if added:
            new_ids = np.fromiter(added, dtype=np.int64, count=len(added))
            new_vecs = np.stack([added[int(i)] for i in new_ids]).astype(np.float32, copy=False)
            keep_ids, keep_vecs = np.concatenate([keep_ids, new_ids]), np.concatenate([keep_vecs, new_vecs])
        return DenseIndex(self.base, keep_ids, keep_vecs, base_gone, dim=self.dim)

    def needs_rebuild(self) -> bool:
        """True when the index should change kind, or its IVF lists be retrained: that re-reads every vector."""
        n = self.size
        return kind_for(n) != self.kind or (self.kind == "ivf" and nlist_for(n) >= 2 * self.base.nlist)

    def needs_compaction(self) -> bool:
        """True when the delta has grown too large to keep rewriting at each commit (or a rebuild is due)."""
        return self.needs_rebuild() or self.delta_rows > max(DELTA_MIN, DELTA_FRACTION * self.base.size)

    def compacted(self) -> FaissIndex:
        """The whole snapshot as one index of the same kind: a copy of the base with the delta applied."""
        if self.needs_rebuild():
            raise ValueError("a change of kind or of IVF lists needs every vector: rebuild from the store")
        base = self.base.copy()
        base.remove(self.removed)
        base.add(self.delta_ids, self.delta_vecs)
        return base

    # --- files ----------------------------------------------------------------------------------------
    def save_delta(self, path: Path) -> None:
        """Write the delta (added ids and vectors, removed base ids) atomically."""
        buf = io.BytesIO()
        np.savez(buf, ids=self.delta_ids, vecs=self.delta_vecs, removed=self.removed)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buf.getvalue())
        _fsync_replace(tmp, path)

    @classmethod
    def open(cls, base_path: Path, kind: str, delta_path: Path | None, dim: int, *, base: FaissIndex | None = None) -> DenseIndex:
        """Load a committed snapshot; `base`, when given, is the already loaded base to share."""
        if base is None:
            base = FaissIndex.load(base_path, kind)
        if delta_path is None:
            return cls(base, dim=dim)
        with np.load(delta_path) as z:
            return cls(base, z["ids"].astype(np.int64), z["vecs"].astype(np.float32), z["removed"].astype(np.int64), dim=dim)
