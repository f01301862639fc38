"""The PostgreSQL backend against the local one (the reference): the same articles, passages, rankings and answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.engine import Engine, open_backend
from qa.index.sync import sync_corpus
from qa.postgres.backend import PostgresBackend
from tests.conftest import SEEDS, FakeEncoder
from tests.postgres.conftest import Database, wait_replayed

QUESTIONS = [
    "Qu'ont signé Tokaïev et Xi Jinping à Astana ?",
    "What was signed in Astana in June 2025?",
    "Quand a eu lieu le sommet de Tianjin ?",
    "Quelle est la position du Kazakhstan sur le nucléaire ?",
    "Combien d'accords ont été signés ?",
]


def _both(tmp_path: Path, database: Database) -> tuple[Engine, Engine]:
    """The seed corpus indexed with the fake model into a folder and into PostgreSQL; an engine on each."""
    shutil.copytree(SEEDS, tmp_path / "corpus")
    local = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    pg = database.settings(tmp_path)
    for settings in (local, pg):
        report = sync_corpus(settings.corpus_dir, open_backend(settings), FakeEncoder(), progress=False)
        assert report.added == 2 and report.errors == []
    wait_replayed(database)
    return Engine.open(local, FakeEncoder()), Engine.open(pg, FakeEncoder())


def test_the_same_articles_passages_and_offsets(tmp_path: Path, database: Database) -> None:
    local, pg = _both(tmp_path, database)
    assert pg.health() | {"generation": 0} == local.health() | {"generation": 0}
    assert [a.id for a in pg.list_articles()] == [a.id for a in local.list_articles()]
    for summary in local.list_articles():
        assert pg.get_article(summary.id) == local.get_article(summary.id)
    ids_l, ids_p = local.store.chunks_by_id(range(1, 200)), pg.store.chunks_by_id(range(1, 200))
    assert [p.chunk for p in ids_p.values()] == [p.chunk for p in ids_l.values()]


@pytest.mark.parametrize("question", QUESTIONS)
def test_bm25_in_sql_ranks_as_fts5_does(tmp_path: Path, database: Database, question: str) -> None:
    from qa.retrieval.query import analyse

    local, pg = _both(tmp_path, database)
    terms = list(analyse(question).terms)
    ref, got = local.store.lexical_search(terms, 50), pg.store.lexical_search(terms, 50)
    assert [i for i, _ in got] == [i for i, _ in ref]
    assert [s for _, s in got] == pytest.approx([s for _, s in ref], rel=1e-6)
    assert pg.store.term_counts(terms) == local.store.term_counts(terms)
    sets = [terms[:1], terms[1:], ["zzzabsent"], []]
    assert pg.store.mentioned(sets) == local.store.mentioned(sets)


def test_the_same_answers_and_citations(tmp_path: Path, database: Database) -> None:
    local, pg = _both(tmp_path, database)
    for question in QUESTIONS:
        for mode in ("hybrid", "dense", "bm25"):
            assert pg.ask(question, 5, mode=mode) == local.ask(question, 5, mode=mode), (question, mode)


def test_reads_are_served_by_the_replica_and_by_the_primary_when_it_is_down(tmp_path: Path, database: Database) -> None:
    _, pg = _both(tmp_path, database)
    backend = pg.backend
    assert isinstance(backend, PostgresBackend)
    before = dict(backend.db.served)
    expected = pg.ask(QUESTIONS[0], 5)
    assert backend.db.served[database.replica_url] > before.get(database.replica_url, 0)
    backend.db.read_urls = ["postgresql://postgres@127.0.0.1:1/nothing"]  # a replica that is down
    assert pg.ask(QUESTIONS[0], 5) == expected
    assert backend.db.served[database.url] > before.get(database.url, 0)


def test_searches_walk_the_hnsw_candidate_list_of_the_schema(database: Database) -> None:
    from qa.postgres.connections import connect
    from qa.postgres.schema import EF_SEARCH

    con = connect(database.url)
    con.execute("CREATE EXTENSION IF NOT EXISTS vector")
    assert con.execute("SHOW hnsw.ef_search").fetchone() == (str(EF_SEARCH),)


def test_qa_hnsw_ef_search_sets_the_candidate_list_on_every_server(tmp_path: Path, database: Database) -> None:
    from qa.retrieval.candidates import CANDIDATES

    _both(tmp_path, database)
    backend = open_backend(database.settings(tmp_path, hnsw_ef_search=640))
    assert isinstance(backend, PostgresBackend)
    assert backend.db.read(lambda con: con.execute("SHOW hnsw.ef_search").fetchone()) == ("640",)
    assert backend.db.on_primary(lambda con: con.execute("SHOW hnsw.ef_search").fetchone()) == ("640",)
    with pytest.raises(ValueError, match=r"past hnsw\.ef_search 640"):
        backend.dense.search(np.zeros(FakeEncoder().info.dim, dtype=np.float32), 641)
    with pytest.raises(ValueError, match=rf"greater than or equal to {CANDIDATES}\b"):
        Settings(hnsw_ef_search=CANDIDATES - 1)


def test_the_same_timeline(tmp_path: Path, database: Database) -> None:
    local, pg = _both(tmp_path, database)
    assert pg.timeline(limit=100) == local.timeline(limit=100) and local.timeline(limit=100)
    assert pg.timeline("Astana", date_from="2025-06") == local.timeline("Astana", date_from="2025-06")
