"""Incremental `qa index`, rebuilds, writes, live pickup and kill -9 on the PostgreSQL backend (fake model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from qa.core.config import Settings
from qa.core.errors import IndexStateError, ModelError
from qa.engine import Engine, open_backend
from qa.index.faults import PHASES
from qa.index.sync import sync_corpus
from qa.ingest import parse_text_file
from qa.postgres.backend import PostgresBackend
from qa.retrieval.search import MODES
from tests.conftest import FakeEncoder
from tests.index.test_crash import _corpus
from tests.postgres.conftest import Database, wait_replayed
from tests.writers import reap, start_index


@pytest.fixture(autouse=True)
def _reap_writers() -> object:
    yield
    reap()


def _write(corpus: Path, name: str, text: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_text(text, encoding="utf-8")


def _backend(database: Database, *, replicas: bool = False) -> PostgresBackend:
    return PostgresBackend(database.url, [database.replica_url] if replicas else [])


def _sql(database: Database, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database.url) as con:
        return con.execute(query).fetchall()


def assert_consistent(database: Database) -> None:
    """The manifest counts what the tables hold, BM25's counts too, and every cached vector is cited."""
    manifest = _backend(database).committed()
    assert manifest is not None
    ((articles, chunks, terms),) = _sql(
        database, "SELECT (SELECT count(*) FROM qa_articles), (SELECT count(*) FROM qa_chunks), (SELECT sum(tf) FROM qa_postings)"
    )
    assert (manifest.articles, manifest.chunks) == (articles, chunks)
    meta = dict(_sql(database, "SELECT key, value FROM qa_meta"))
    assert (int(meta["chunks"]), int(meta["terms"])) == (chunks, terms or 0)
    assert int(meta["generation"]) == manifest.generation
    ((orphans,),) = _sql(
        database, "SELECT count(*) FROM qa_vectors v WHERE NOT EXISTS (SELECT 1 FROM qa_chunks c WHERE c.hash = v.hash)"
    )
    assert orphans == 0


def test_counts_for_add_change_remove_and_unchanged(tmp_path: Path, database: Database) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    backend = _backend(database)
    _write(corpus, "a.txt", "Premier article sur Astana. Il y a des accords.")
    _write(corpus, "b.txt", "Deuxième article sur Moscou et le gaz.")
    first = sync_corpus(corpus, backend, enc, progress=False)
    assert (first.added, first.updated, first.removed, first.unchanged, first.chunks_embedded) == (2, 0, 0, 0, 2)
    again = sync_corpus(corpus, backend, enc, progress=False)
    assert (again.added, again.updated, again.removed, again.unchanged, again.chunks_embedded) == (0, 0, 0, 2, 0)
    assert backend.committed().generation == 1, "a sync that changes nothing commits no generation"  # type: ignore[union-attr]

    _write(corpus, "a.txt", "Premier article sur Astana, réécrit. Il y a vingt-quatre accords.")
    (corpus / "b.txt").unlink()
    _write(corpus, "c.txt", "Troisième article sur Pékin.")
    third = sync_corpus(corpus, backend, enc, progress=False)
    assert (third.added, third.updated, third.removed, third.unchanged, third.chunks_embedded) == (1, 1, 1, 0, 2)
    assert set(backend.store.article_hashes()) == {"a", "c"}
    assert_consistent(database)


def test_removed_and_changed_articles_are_never_cited_again_and_the_service_picks_up_commits(
    tmp_path: Path, database: Database
) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    _write(corpus, "a.txt", "Le gaz russe arrive à Pékin par le gazoduc.")
    _write(corpus, "b.txt", "Le blé ukrainien part vers Le Caire.")
    sync_corpus(corpus, _backend(database), enc, progress=False)
    engine = Engine.open(database.settings(tmp_path), enc)
    assert engine.search("gaz Pékin gazoduc", 1, mode="bm25")[0].passage.chunk.article_id == "a"
    (corpus / "a.txt").unlink()
    _write(corpus, "b.txt", "Le maïs ukrainien part vers Tunis.")
    sync_corpus(corpus, _backend(database), enc, progress=False)  # another process's `qa index`
    assert engine.refresh() and engine.manifest.generation == 2
    assert not engine.refresh(), "nothing new: no reload"
    for mode in MODES:
        cited = engine.search("gaz Pékin gazoduc blé Caire maïs Tunis", 5, mode=mode)
        assert cited and all(c.passage.chunk.article_id == "b" and "maïs" in c.passage.chunk.text for c in cited)


def test_identical_and_moved_articles_are_not_embedded_again(tmp_path: Path, database: Database) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    backend = _backend(database)
    _write(corpus, "a.txt", "Le même texte exactement, publié deux fois.")
    _write(corpus, "b.txt", "Le même texte exactement, publié deux fois.")
    report = sync_corpus(corpus, backend, enc, progress=False)
    assert report.added == 2 and report.chunks_embedded == 1
    (corpus / "sub").mkdir()
    (corpus / "a.txt").rename(corpus / "sub" / "a.txt")
    report = sync_corpus(corpus, backend, enc, progress=False)
    assert (report.unchanged, report.chunks_embedded) == (2, 0)
    article = backend.store.get_article("a")
    assert article is not None and article.source == "sub/a.txt"
    assert backend.committed().generation == 1  # type: ignore[union-attr]


def test_another_model_is_refused_and_a_rebuild_for_it_keeps_ids_unique(tmp_path: Path, database: Database) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus, "a.txt", "Un article.")
    sync_corpus(corpus, _backend(database), FakeEncoder(), progress=False)
    old_ids = _backend(database).store.chunk_ids().tolist()
    with pytest.raises(ModelError, match="rebuild"):
        sync_corpus(corpus, _backend(database), FakeEncoder(fingerprint="other"), progress=False)
    report = sync_corpus(corpus, _backend(database), FakeEncoder(dim=24, fingerprint="other"), progress=False, rebuild=True)
    assert report.added == 1 and report.chunks_embedded == 1
    manifest = _backend(database).committed()
    assert manifest is not None and manifest.generation == 2 and manifest.model.dim == 24
    assert not set(_backend(database).store.chunk_ids().tolist()) & set(old_ids)
    assert_consistent(database)
    engine = Engine.open(database.settings(tmp_path), FakeEncoder(dim=24, fingerprint="other"))
    assert engine.search("Un article", 1, mode="dense")[0].passage.chunk.article_id == "a"


def test_a_rebuild_embeds_again_and_a_second_writer_is_told_the_index_is_busy(tmp_path: Path, database: Database) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    _write(corpus, "a.txt", "Un article sur le port de Brest.")
    sync_corpus(corpus, _backend(database), enc, progress=False)
    report = sync_corpus(corpus, _backend(database), enc, progress=False, rebuild=True)
    assert (report.added, report.chunks_embedded) == (1, 1)
    assert_consistent(database)
    with _backend(database).lock(1), pytest.raises(IndexStateError, match="busy"):
        sync_corpus(corpus, _backend(database), enc, progress=False, lock_timeout=0.2)


def test_put_and_delete_through_the_engine(tmp_path: Path, database: Database) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    _write(corpus, "a.txt", "Un article sur Astana.")
    sync_corpus(corpus, _backend(database), enc, progress=False)
    engine = Engine.open(database.settings(tmp_path), enc)
    assert engine.put_article(parse_text_file(b"Un article sur Pekin et le gaz.", stem="b", suffix=".txt"))
    assert engine.manifest.generation == 2 and (corpus / "b.md").exists()
    # Read at once, whether or not the replica has replayed the write yet.
    assert engine.get_article("b")[0].text == "Un article sur Pekin et le gaz."
    assert engine.search("Pekin gaz", 1, mode="bm25")[0].passage.chunk.article_id == "b"
    engine.delete_article("a")
    assert not (corpus / "a.txt").exists() and [a.id for a in engine.list_articles()] == ["b"]
    assert_consistent(database)


def test_a_replica_that_goes_down_mid_service_does_not_fail_asks(tmp_path: Path, database: Database, cluster: object) -> None:
    corpus, enc = tmp_path / "corpus", FakeEncoder()
    _write(corpus, "a.txt", "Un article sur Astana et ses accords.")
    sync_corpus(corpus, _backend(database), enc, progress=False)
    wait_replayed(database)
    engine = Engine.open(database.settings(tmp_path), enc)
    expected = engine.ask("accords Astana", 3)
    replica = cluster.replica  # type: ignore[attr-defined]
    replica.stop()
    try:
        assert engine.ask("accords Astana", 3) == expected
    finally:
        replica.start()


def test_bad_database_urls_are_said_naming_the_variable() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="postgresql://"):
        Settings(database_url="mysql://x@y/z")
    with pytest.raises(ValidationError, match="postgresql://"):
        Settings(database_url="postgresql://a@b/c", database_read_urls=["http://x"])
    down = Settings(database_url="postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(IndexStateError, match=re.escape("cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/none")):
        open_backend(down).exists()


@pytest.mark.parametrize("phase", [p for p in PHASES if p in ("embedding", "stored", "manifest", "committed")])
def test_kill_9_of_qa_index_keeps_the_last_generation_answering(tmp_path: Path, database: Database, phase: str) -> None:
    logs = tmp_path / "logs"
    sync_corpus(_corpus(tmp_path, changed=False), _backend(database), FakeEncoder(), progress=False)
    corpus = _corpus(tmp_path, changed=True)
    settings = database.settings(tmp_path)
    question = "Combien de tonnes la coopérative oldcoopaf a-t-elle déchargé ?"
    env = {"QA_DATABASE_URL": database.url}

    writer = start_index(corpus, tmp_path / "unused", logs, pause_at=phase, env=env)
    writer.wait_paused(phase)
    engine = Engine.open(settings, FakeEncoder())
    assert engine.search(question, 1, mode="bm25")[0].passage.chunk.article_id == "a05"
    writer.kill9()
    engine.refresh()
    committed = engine.manifest.generation
    assert committed == (2 if phase == "committed" else 1)
    assert engine.search(question, 1, mode="bm25")[0].passage.chunk.article_id == "a05"
    assert engine.health()["articles"] == (59 if phase == "committed" else 30)

    code, out, err = start_index(corpus, tmp_path / "unused", logs, env=env).finish()
    assert code == 0, err
    report = json.loads(out)
    if phase == "committed":
        assert (report["added"], report["chunks_embedded"]) == (0, 0)
    else:
        assert (report["added"], report["updated"], report["removed"]) == (30, 1, 1)
        # The killed run's vectors were committed as they were embedded: only the rest is embedded now.
        embedded = report["chunks_embedded"]
        assert {"embedding": embedded > 128, "stored": 0 < embedded < 128, "manifest": embedded == 0}[phase], embedded
    assert_consistent(database)
    assert engine.refresh() == (phase != "committed"), "a new generation, unless the killed run had committed it"
    assert (
        engine.search("Combien de tonnes la coopérative newcoopah a-t-elle déchargé ?", 1, mode="bm25")[
            0
        ].passage.chunk.article_id
        == "n07"
    )
    assert not (tmp_path / "unused").exists(), "no index folder is written with the PostgreSQL backend"


def test_a_database_that_goes_down_is_a_503_naming_it_not_a_500(tmp_path: Path, database: Database) -> None:
    from fastapi.testclient import TestClient

    from qa.api.app import create_app

    corpus, enc = tmp_path / "corpus", FakeEncoder()
    _write(corpus, "a.txt", "Un article sur Astana.")
    sync_corpus(corpus, _backend(database), enc, progress=False)
    settings = database.settings(tmp_path, replicas=False)
    engine = Engine.open(settings, enc)
    backend = engine.backend
    assert isinstance(backend, PostgresBackend)
    with TestClient(create_app(settings, engine)) as client:
        assert client.post("/ask", json={"question": "Astana"}).status_code == 200
        backend.db.close()
        backend.db.url = "postgresql://postgres@127.0.0.1:1/gone"  # the primary is down now
        down = client.post("/ask", json={"question": "Astana"})
    assert down.status_code == 503, down.text
    assert "cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/gone" in down.text
