"""The FAISS backend, checked against brute-force numpy search."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.dense import DenseIndex


def _data(n: int, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.arange(100, 100 + n, dtype=np.int64), vecs


def test_flat_search_equals_brute_force_and_survives_save_load(tmp_path: Path) -> None:
    ids, vecs = _data(500)
    index = DenseIndex.build(32, ids, vecs, kind="flat")
    q = vecs[7] * 0.9 + vecs[8] * 0.1
    q /= np.linalg.norm(q)
    expected = ids[np.argsort(-(vecs @ q))[:10]].tolist()
    assert [i for i, _ in index.search(q, 10)] == expected
    index.save(tmp_path / "d.faiss")
    loaded = DenseIndex.load(tmp_path / "d.faiss", "flat")
    assert [i for i, _ in loaded.search(q, 10)] == expected


def test_remove_and_add_by_id() -> None:
    ids, vecs = _data(50)
    index = DenseIndex.build(32, ids, vecs, kind="flat")
    index.remove(np.array([ids[3]]))
    assert ids[3] not in [i for i, _ in index.search(vecs[3], 50)]
    index.add(np.array([9999]), vecs[3:4])
    assert index.search(vecs[3], 1)[0][0] == 9999
    assert index.size == 50


def test_copy_is_independent() -> None:
    ids, vecs = _data(20)
    index = DenseIndex.build(32, ids, vecs, kind="flat")
    clone = index.copy()
    clone.remove(ids[:10])
    assert index.size == 20 and clone.size == 10


def test_ivf_recall_against_exact() -> None:
    # Clustered like real embeddings (topics), unlike uniform noise, which no IVF index can partition.
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 32)).astype(np.float32)
    vecs = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(4000, dtype=np.int64)
    exact = DenseIndex.build(32, ids, vecs, kind="flat")
    approx = DenseIndex.build(32, ids, vecs, kind="ivf")
    rng = np.random.default_rng(2)
    hits = 0
    for q in vecs[rng.choice(len(vecs), 50, replace=False)]:
        truth = {i for i, _ in exact.search(q, 10)}
        hits += len(truth & {i for i, _ in approx.search(q, 10)})
    assert hits / 500 >= 0.9
    approx.remove(ids[:100])
    assert approx.size == 3900
