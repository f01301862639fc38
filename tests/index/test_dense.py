"""The dense backend (base + delta snapshots), checked against brute-force numpy search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.index import dense as dense_mod
from qa.index.dense import DenseIndex, FaissIndex


def _data(n: int, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.arange(100, 100 + n, dtype=np.int64), vecs


def _brute(ids: np.ndarray, vecs: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    best: list[int] = ids[np.argsort(-(vecs @ q), kind="stable")[:k]].tolist()
    return best


def test_flat_search_equals_brute_force_and_survives_save_load(tmp_path: Path) -> None:
    ids, vecs = _data(500)
    index = DenseIndex.build(32, ids, vecs, kind="flat")
    q = vecs[7] * 0.9 + vecs[8] * 0.1
    q /= np.linalg.norm(q)
    expected = _brute(ids, vecs, q, 10)
    assert [i for i, _ in index.search(q, 10)] == expected
    index.base.save(tmp_path / "d.faiss")
    loaded = DenseIndex.open(tmp_path / "d.faiss", "flat", None, 32)
    assert [i for i, _ in loaded.search(q, 10)] == expected
    assert not list(tmp_path.glob("*.tmp"))


def test_snapshot_with_changes_searches_like_brute_force_over_its_ids(tmp_path: Path) -> None:
    ids, vecs = _data(300)
    start = DenseIndex.build(32, ids[:200], vecs[:200], kind="flat")
    added = {int(i): v for i, v in zip(ids[200:], vecs[200:], strict=True)}
    gone = [int(i) for i in ids[:40]]
    snap = start.with_changes(added, gone)
    live = np.setdiff1d(ids, ids[:40])
    live_vecs = vecs[np.isin(ids, live)]
    assert snap.size == len(live) and snap.ids().tolist() == live.tolist()
    assert start.size == 200, "the snapshot it came from is untouched"
    rng = np.random.default_rng(3)
    for q in vecs[rng.choice(300, 20, replace=False)]:
        assert [i for i, _ in snap.search(q, 10)] == _brute(live, live_vecs, q, 10)
    # Removing an id that is in the delta drops it from the delta, not from the base.
    again = snap.with_changes({}, [int(ids[250])])
    assert int(ids[250]) not in again.ids().tolist() and again.size == snap.size - 1
    # The delta's file round trip gives the same snapshot over the same base.
    snap.save_delta(tmp_path / "delta.npz")
    reopened = DenseIndex.open(tmp_path / "unused", "flat", tmp_path / "delta.npz", 32, base=start.base)
    assert reopened.ids().tolist() == snap.ids().tolist()
    q = vecs[123]
    assert reopened.search(q, 5) == snap.search(q, 5)


def test_compaction_is_asked_for_past_the_delta_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "DELTA_MIN", 10)
    ids, vecs = _data(400)
    start = DenseIndex.build(32, ids[:300], vecs[:300], kind="flat")
    small = start.with_changes({int(ids[300]): vecs[300]}, [int(ids[0])])
    assert not small.needs_compaction()
    big = start.with_changes({int(i): v for i, v in zip(ids[300:], vecs[300:], strict=True)}, [])
    assert big.needs_compaction() and not big.needs_rebuild()
    whole = big.compacted()
    assert whole.size == 400 and whole.ids().tolist() == ids.tolist()


def test_ivf_past_the_threshold_and_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "APPROX_THRESHOLD", 1000)
    rng = np.random.default_rng(1)
    # Clustered like real embeddings (topics), unlike uniform noise, which no IVF index can partition.
    centres = rng.normal(size=(40, 32)).astype(np.float32)
    vecs = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(4000, dtype=np.int64)
    exact = DenseIndex.build(32, ids, vecs, kind="flat")
    approx = DenseIndex.build(32, ids, vecs)
    assert approx.kind == "ivf" and approx.base.nlist == dense_mod.nlist_for(4000)
    hits = 0
    for q in vecs[rng.choice(len(vecs), 50, replace=False)]:
        truth = {i for i, _ in exact.search(q, 10)}
        hits += len(truth & {i for i, _ in approx.search(q, 10)})
    assert hits / 500 >= 0.9
    # Removed ids are never returned, whether by the snapshot's filter or by compaction.
    snap = approx.with_changes({}, [int(i) for i in ids[:100]])
    assert all(i >= 100 for q in vecs[:20] for i, _ in snap.search(q, 10))
    assert snap.compacted().size == 3900
    assert snap.ids().tolist() == ids[100:].tolist()


def test_growth_past_the_threshold_asks_for_a_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "APPROX_THRESHOLD", 250)
    ids, vecs = _data(300)
    small = DenseIndex(FaissIndex.build(32, ids[:200], vecs[:200]), dim=32)
    assert small.kind == "flat"
    grown = small.with_changes({int(i): v for i, v in zip(ids[200:], vecs[200:], strict=True)}, [])
    assert grown.needs_rebuild()
    with pytest.raises(ValueError, match="rebuild"):
        grown.compacted()
