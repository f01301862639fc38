"""Incremental indexing logic, isolated from the model by a fake encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import ModelError
from qa.indexer import IndexWriter, sync_corpus, writer_lock
from qa.manifest import read_manifest
from qa.store import Store
from tests.conftest import FakeEncoder


def _write(corpus: Path, name: str, text: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_text(text, encoding="utf-8")


def test_counts_for_add_change_remove_and_unchanged(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Premier article sur Astana. Il y a des accords.")
    _write(corpus, "b.txt", "Deuxième article sur Moscou et le gaz.")
    first = sync_corpus(corpus, index, enc, progress=False)
    assert (first.added, first.updated, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks_embedded == 2

    again = sync_corpus(corpus, index, enc, progress=False)
    assert (again.added, again.updated, again.removed, again.unchanged, again.chunks_embedded) == (0, 0, 0, 2, 0)

    _write(corpus, "a.txt", "Premier article sur Astana, réécrit. Il y a vingt-quatre accords.")
    (corpus / "b.txt").unlink()
    _write(corpus, "c.txt", "Troisième article sur Pékin.")
    third = sync_corpus(corpus, index, enc, progress=False)
    assert (third.added, third.updated, third.removed, third.unchanged) == (1, 1, 1, 0)
    manifest = read_manifest(index)
    assert (manifest.articles, manifest.chunks) == (2, 2)
    assert set(Store(index / "store.sqlite").article_hashes()) == {"a", "c"}


def test_identical_articles_are_embedded_once(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Le même texte exactement, publié deux fois.")
    _write(corpus, "b.txt", "Le même texte exactement, publié deux fois.")
    report = sync_corpus(corpus, index, enc, progress=False)
    assert report.added == 2 and report.chunks_embedded == 1


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


def test_index_refuses_another_model(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write(corpus, "a.txt", "Un article.")
    sync_corpus(corpus, index, FakeEncoder(), progress=False)
    with pytest.raises(ModelError, match="rebuild"):
        sync_corpus(corpus, index, FakeEncoder(fingerprint="other"), progress=False)
    report = sync_corpus(corpus, index, FakeEncoder(fingerprint="other"), progress=False, rebuild=True)
    assert report.added == 1


def test_dense_index_is_rebuilt_when_a_run_died_after_committing_chunks(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    enc = FakeEncoder()
    _write(corpus, "a.txt", "Un article sur Astana.")
    sync_corpus(corpus, index, enc, progress=False)
    # A run that committed an article to the store but died before writing the dense index and manifest.
    writer = IndexWriter(index, enc)
    from qa.ingest import parse_text_file

    writer.apply([parse_text_file(b"Un article sur Moscou.", stem="b", suffix=".txt")])
    writer.close()
    assert read_manifest(index).chunks == 1
    resumed = IndexWriter(index, enc)
    assert resumed.dense.size == 2
    resumed.commit()
    assert read_manifest(index).chunks == 2


def test_second_writer_is_told_the_index_is_busy(tmp_path: Path) -> None:
    from qa.errors import IndexStateError

    with writer_lock(tmp_path, timeout=1), pytest.raises(IndexStateError, match="busy"), writer_lock(tmp_path, timeout=0.1):
        pass
