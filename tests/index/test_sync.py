"""Incremental indexing logic, isolated from the model by a fake encoder."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import IndexStateError, ModelError
from qa.engine import Engine
from qa.index import dense as dense_mod
from qa.index.manifest import read_manifest
from qa.index.snapshot import load_snapshot
from qa.index.store import Store
from qa.index.sync import sync_corpus
from qa.index.writer import IndexWriter, writer_lock
from qa.ingest import parse_text_file
from qa.retrieval.search import MODES
from tests.conftest import SHARED_DATA, FakeEncoder

ORANGESUM = SHARED_DATA / "orangesum" / "orangesum_articles.jsonl.gz"


def _write(corpus: Path, name: str, text: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_text(text, encoding="utf-8")


def assert_consistent(index: Path) -> None:
    """The committed dense index holds exactly the store's chunks, and the manifest counts them."""
    manifest, dense = load_snapshot(index)
    store = Store(index / "store.sqlite")
    try:
        assert dense.ids().tolist() == store.chunk_ids().tolist()
        assert (manifest.articles, manifest.chunks) == store.counts()
        assert store.generation == manifest.generation
    finally:
        store.close()


def test_counts_for_add_change_remove_and_unchanged(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Premier article sur Astana. Il y a des accords.")
    _write(corpus, "b.txt", "Deuxième article sur Moscou et le gaz.")
    first = sync_corpus(corpus, index, enc, progress=False)
    assert (first.added, first.updated, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks_embedded == 2
    assert_consistent(index)

    again = sync_corpus(corpus, index, enc, progress=False)
    assert (again.added, again.updated, again.removed, again.unchanged, again.chunks_embedded) == (0, 0, 0, 2, 0)
    assert read_manifest(index).generation == 1, "a sync that changes nothing commits no generation"

    _write(corpus, "a.txt", "Premier article sur Astana, réécrit. Il y a vingt-quatre accords.")
    (corpus / "b.txt").unlink()
    _write(corpus, "c.txt", "Troisième article sur Pékin.")
    third = sync_corpus(corpus, index, enc, progress=False)
    assert (third.added, third.updated, third.removed, third.unchanged, third.chunks_embedded) == (1, 1, 1, 0, 2)
    manifest = read_manifest(index)
    assert (manifest.articles, manifest.chunks) == (2, 2)
    store = Store(index / "store.sqlite")
    assert set(store.article_hashes()) == {"a", "c"}
    # The vectors of the replaced and removed passages left with them: the cache holds what is cited.
    con = store.connection()
    assert (
        con.execute("SELECT count(*) FROM vectors").fetchone()[0]
        == con.execute("SELECT count(DISTINCT hash) FROM chunks").fetchone()[0]
    )
    assert_consistent(index)


def test_removed_and_changed_articles_are_never_cited_again(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Le gaz russe arrive à Pékin par le gazoduc.")
    _write(corpus, "b.txt", "Le blé ukrainien part vers Le Caire.")
    sync_corpus(corpus, index, enc, progress=False)
    engine = Engine.open(Settings(index_dir=index, corpus_dir=corpus), enc)
    assert engine.search("gaz Pékin gazoduc", 1, mode="bm25")[0].passage.chunk.article_id == "a"
    (corpus / "a.txt").unlink()
    _write(corpus, "b.txt", "Le maïs ukrainien part vers Tunis.")
    sync_corpus(corpus, index, enc, progress=False)
    assert engine.refresh()
    for mode in MODES:
        cited = engine.search("gaz Pékin gazoduc blé Caire maïs Tunis", 5, mode=mode)
        assert all(c.passage.chunk.article_id == "b" and "maïs" in c.passage.chunk.text for c in cited)


def test_identical_articles_are_embedded_once(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Le même texte exactement, publié deux fois.")
    _write(corpus, "b.txt", "Le même texte exactement, publié deux fois.")
    report = sync_corpus(corpus, index, enc, progress=False)
    assert report.added == 2 and report.chunks_embedded == 1


def _orangesum_duplicates(groups: int) -> list[dict[str, object]]:
    """Records of the first `groups` groups of OrangeSum articles with identical text, plus some others."""
    by_text: dict[str, list[dict[str, object]]] = {}
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as fh:
        for line in itertools.islice(fh, 1500):
            rec = json.loads(line)
            by_text.setdefault(str(rec.get("article")), []).append(rec)
    dups = [g for g in by_text.values() if len(g) > 1][:groups]
    singles = [g[0] for g in by_text.values() if len(g) == 1][:10]
    return [r for g in dups for r in g] + singles


@pytest.mark.skipif(not ORANGESUM.exists(), reason="OrangeSum is not beside the repo")
def test_orangesum_duplicates_are_embedded_once_and_cited_once(tmp_path: Path) -> None:
    records = _orangesum_duplicates(groups=4)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    with gzip.open(corpus / "orangesum.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    enc = FakeEncoder(dim=64)
    report = sync_corpus(corpus, index, enc, progress=False)
    store = Store(index / "store.sqlite")
    hashes = [h for (h,) in store.connection().execute("SELECT hash FROM chunks")]
    assert report.added == len(records) and len(hashes) > len(set(hashes)), "the duplicates share passages"
    assert report.chunks_embedded == len(set(hashes)) == sum(enc.calls)
    engine = Engine.open(Settings(index_dir=index), enc)
    for rec in records[:8]:
        question = " ".join(str(rec["article"]).split()[:25])
        for mode in MODES:
            cited = engine.search(question, 10, mode=mode)
            texts = [c.passage.chunk.text for c in cited]
            assert len(texts) == len(set(texts)), f"the same text cited twice for {rec['id']} ({mode})"


def test_bad_file_is_reported_and_its_article_kept(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article correct.")
    _write(corpus, "b.txt", "Un autre article correct.")
    sync_corpus(corpus, index, enc, progress=False)
    (corpus / "b.txt").write_bytes(b"\xff\xfe\x00binary\x00")
    report = sync_corpus(corpus, index, enc, progress=False)
    assert [e.file for e in report.errors] == ["b.txt"]
    assert report.removed == 0
    assert set(Store(index / "store.sqlite").article_hashes()) == {"a", "b"}


def test_a_moved_article_is_not_embedded_again(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article qui change de dossier.")
    sync_corpus(corpus, index, enc, progress=False)
    (corpus / "sub").mkdir()
    (corpus / "a.txt").rename(corpus / "sub" / "a.txt")
    report = sync_corpus(corpus, index, enc, progress=False)
    assert (report.unchanged, report.chunks_embedded) == (1, 0)
    article = Store(index / "store.sqlite").get_article("a")
    assert article is not None and article.source == "sub/a.txt"


def test_index_refuses_another_model_and_rebuild_keeps_ids_unique(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write(corpus, "a.txt", "Un article.")
    sync_corpus(corpus, index, FakeEncoder(), progress=False)
    old_ids = Store(index / "store.sqlite").chunk_ids().tolist()
    with pytest.raises(ModelError, match="rebuild"):
        sync_corpus(corpus, index, FakeEncoder(fingerprint="other"), progress=False)
    report = sync_corpus(corpus, index, FakeEncoder(dim=24, fingerprint="other"), progress=False, rebuild=True)
    assert report.added == 1
    manifest = read_manifest(index)
    assert manifest.generation > 1 and manifest.model.dim == 24
    new_ids = Store(index / "store.sqlite").chunk_ids().tolist()
    assert not set(new_ids) & set(old_ids), "an id of the old generation never names another passage"
    assert_consistent(index)


def test_reconciles_the_dense_index_after_a_run_died_past_a_store_commit(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article sur Astana.")
    _write(corpus, "b.txt", "Un article sur Moscou.")
    sync_corpus(corpus, index, enc, progress=False)
    # A run that committed changes to the store, then died before writing the dense files and manifest.
    writer = IndexWriter(index, enc)
    writer.apply([parse_text_file(b"Un article sur Pekin.", stem="c", suffix=".txt")], ["b"])
    writer.close()
    assert read_manifest(index).chunks == 2
    engine = Engine.open(Settings(index_dir=index), enc)
    assert engine.search("Astana", 1)[0].passage.chunk.article_id == "a", "the last generation still answers"
    _write(corpus, "c.txt", "Un article sur Pekin.")
    (corpus / "b.txt").unlink()
    report = sync_corpus(corpus, index, enc, progress=False)
    assert (report.added, report.removed, report.unchanged, report.chunks_embedded) == (0, 0, 2, 0)
    assert read_manifest(index).chunks == 2
    assert_consistent(index)


def test_small_commits_write_deltas_and_large_ones_compact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "DELTA_MIN", 3)
    monkeypatch.setattr(dense_mod, "DELTA_FRACTION", 0.5)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    for i in range(8):
        _write(corpus, f"a{i}.txt", f"Article {i} sur le sujet numéro {i}.")
    sync_corpus(corpus, index, enc, progress=False)
    first = read_manifest(index)
    assert first.dense_delta is None
    engine = Engine.open(Settings(index_dir=index), enc)
    base = engine.dense.base

    _write(corpus, "b0.txt", "Un nouvel article.")
    sync_corpus(corpus, index, enc, progress=False)
    second = read_manifest(index)
    assert second.dense_file == first.dense_file and second.dense_delta is not None
    assert engine.refresh() and engine.dense.base is base, "a delta generation shares the loaded base"
    assert_consistent(index)

    for i in range(5):
        _write(corpus, f"c{i}.txt", f"Encore un article, le {i}.")
    sync_corpus(corpus, index, enc, progress=False)
    third = read_manifest(index)
    assert third.dense_file != first.dense_file and third.dense_delta is None
    assert engine.refresh() and engine.dense.base is not base
    assert_consistent(index)
    names = {p.name for p in index.iterdir() if p.suffix in (".faiss", ".npz")}
    assert names == {third.dense_file, second.dense_file, str(second.dense_delta)}, "only two generations kept"


def test_index_switches_to_ivf_past_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_mod, "APPROX_THRESHOLD", 30)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    for i in range(20):
        _write(corpus, f"a{i}.txt", f"Article {i} : le port de Marseille et ses {i} navires.")
    sync_corpus(corpus, index, enc, progress=False)
    assert read_manifest(index).dense_kind == "flat"
    for i in range(20):
        _write(corpus, f"b{i}.txt", f"Nouvelle {i} : les vignobles de Bordeaux et leurs {i} caves.")
    sync_corpus(corpus, index, enc, progress=False)
    assert read_manifest(index).dense_kind == "ivf"
    assert_consistent(index)


def test_engine_refresh_never_goes_back_a_generation(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article.")
    sync_corpus(corpus, index, enc, progress=False)
    settings = Settings(index_dir=index, corpus_dir=corpus)
    engine = Engine.open(settings, enc)
    stale = engine._snapshot
    engine.put_article(parse_text_file(b"Un autre article.", stem="b", suffix=".txt"))
    assert engine.manifest.generation == 2
    engine._manifest_key = (0, 0, 0, b"")  # as if the refresh thread had seen the manifest change
    assert not engine.refresh() and engine.manifest.generation == 2
    assert stale[0].generation == 1


def test_second_writer_is_told_the_index_is_busy(tmp_path: Path) -> None:
    with writer_lock(tmp_path, timeout=1), pytest.raises(IndexStateError, match="busy"), writer_lock(tmp_path, timeout=0.1):
        pass


def test_engine_open_retries_when_a_commit_removes_the_files_it_was_about_to_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.index.snapshot as snapshot_mod

    monkeypatch.setattr(dense_mod, "DELTA_MIN", 0)  # every commit writes a new base file
    monkeypatch.setattr(dense_mod, "DELTA_FRACTION", 0.0)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article.")
    sync_corpus(corpus, index, enc, progress=False)
    real_read = read_manifest
    calls = {"n": 0}

    def racing_read(path: Path) -> object:
        manifest = real_read(path)
        calls["n"] += 1
        if calls["n"] == 1:
            # Between this read and the load, two commits land and delete the files this manifest names.
            for i in range(2):
                _write(corpus, f"x{i}.txt", f"Article de course {i}.")
                sync_corpus(corpus, index, enc, progress=False)
        return manifest

    monkeypatch.setattr(snapshot_mod, "read_manifest", racing_read)
    engine = Engine.open(Settings(index_dir=index), enc)
    assert engine.manifest.generation == 3 and calls["n"] >= 2
    assert np.array_equal(engine.dense.ids(), Store(index / "store.sqlite").chunk_ids())


def test_engine_takes_an_index_folder_built_anew_under_it(tmp_path: Path) -> None:
    import shutil

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    for name in ("a", "b", "c"):
        _write(corpus, f"{name}.txt", f"Un article {name} sur le port.")
    sync_corpus(corpus, index, enc, progress=False)
    sync_corpus(corpus, index, enc, progress=False, rebuild=True)
    engine = Engine.open(Settings(index_dir=index), enc)
    assert engine.manifest.generation > 1
    shutil.rmtree(index)
    (corpus / "a.txt").unlink()
    sync_corpus(corpus, index, enc, progress=False)  # generation 1 again, chunk ids from 1 again
    assert engine.refresh() and engine.manifest.generation == 1
    assert {c.passage.chunk.article_id for c in engine.search("article port", 5, mode="bm25")} == {"b", "c"}


def test_bad_record_in_a_path_with_a_colon_keeps_its_file_articles(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    folder = corpus / "2025:06"
    folder.mkdir(parents=True)
    good = '{"id": "kz1", "text": "Un article sur Astana."}\n'
    (folder / "a.jsonl").write_text(good, encoding="utf-8")
    sync_corpus(corpus, index, FakeEncoder(), progress=False)
    # The file is rewritten and its only record is cut mid-way: the indexed article must stay.
    (folder / "a.jsonl").write_text('{"id": "kz1", "text": "Un art', encoding="utf-8")
    report = sync_corpus(corpus, index, FakeEncoder(), progress=False)
    assert report.errors and report.errors[0].file.startswith("2025:06/a.jsonl")
    assert report.removed == 0
    assert "kz1" in Store(index / "store.sqlite").article_hashes()
