"""The SQLite store: lexical ranking checked against bm25s as the reference BM25."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qa.answering.coverage import ArchiveTerms
from qa.core.types import Article, Chunk
from qa.index.store import Store
from qa.retrieval.query import analyse
from qa.text.analyzer import analyze
from qa.text.names import name_terms

DOCS = [
    "Le président a signé vingt-quatre accords bilatéraux à Astana en juin.",
    "La Chine et le Kazakhstan renforcent leur coopération énergétique.",
    "Un sommet à Washington sur les minerais critiques et l'énergie.",
    "Moscou accueille une visite d'État consacrée au gaz et aux sanctions.",
    "Les accords couvrent l'énergie, les infrastructures et l'agriculture.",
    "Samarcande a accueilli le premier sommet entre l'Union européenne et l'Asie centrale.",
    "La diplomatie multivectorielle du Kazakhstan cherche l'équilibre.",
    "Des investissements de dix-sept milliards de dollars ont été annoncés.",
]


def _fill(store: Store) -> list[int]:
    ids: list[int] = []
    with store.transaction() as con:
        for i, text in enumerate(DOCS):
            art = Article(id=f"a{i}", text=text)
            chunk = Chunk(article_id=art.id, ordinal=0, start=0, end=len(text), text=text)
            ids += store.insert_article(con, art, [chunk], [" ".join(analyze(text))])
    return ids


@pytest.mark.parametrize("query", ["accords énergie", "sommet Asie centrale", "Kazakhstan coopération", "gaz Moscou"])
def test_lexical_scores_match_reference_bm25(tmp_path: Path, query: str) -> None:
    bm25s = pytest.importorskip("bm25s")
    store = Store(tmp_path / "s.sqlite")
    ids = _fill(store)
    terms = sorted(set(analyze(query)))
    got = store.lexical_search(terms, 10)

    # bm25s "robertson" is the Okapi BM25 that SQLite FTS5 implements (k1=1.2, b=0.75), except that it
    # drops the constant (k1 + 1) factor of the term-frequency part, which does not change the ranking.
    retriever = bm25s.BM25(method="robertson", k1=1.2, b=0.75)
    retriever.index([analyze(d) for d in DOCS], show_progress=False)
    ref = retriever.get_scores(terms)
    expected = {ids[i]: float(s) * (1.2 + 1) for i, s in enumerate(ref) if s > 0}

    assert {cid for cid, _ in got} == set(expected)
    for cid, score in got:
        assert score == pytest.approx(expected[cid], rel=1e-4)
    assert [cid for cid, _ in got] == sorted(expected, key=lambda c: -expected[c])


def test_deleted_article_leaves_no_chunks_terms_or_orphan_vectors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    ids = _fill(store)
    chunk = store.chunks_by_id([ids[0]])[ids[0]]
    store.put_vectors([(chunk.hash, np.ones(4, np.float32), None, None)])
    with store.transaction() as con:
        removed, hashes = store.delete_article(con, "a0")
        store.drop_unreferenced_vectors(con, hashes)
    assert (removed, hashes) == ([ids[0]], [chunk.hash])
    assert store.chunks_by_id([ids[0]]) == {}
    assert ids[0] not in {cid for cid, _ in store.lexical_search(["sign"], 10)}
    assert store.missing_vectors([chunk.hash]) == {chunk.hash}
    assert store.counts() == (len(DOCS) - 1, len(DOCS) - 1)


def test_chunk_text_is_read_back_by_offsets(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    text = "Tokaïev — « éternelles » 😀 relations. Deuxième phrase ici."
    art = Article(id="u", text=text)
    chunk = Chunk(article_id="u", ordinal=0, start=11, end=36, text=text[11:36])
    with store.transaction() as con:
        (cid,) = store.insert_article(con, art, [chunk], ["x"])
    assert store.chunks_by_id([cid])[cid].chunk.text == text[11:36]


def test_mentions_any_looks_through_the_whole_archive(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    _fill(store)
    assert store.mentions_any(name_terms(("samarcande",)))
    assert store.mentions_any(name_terms(("moscou",)))
    assert not store.mentions_any(name_terms(("tokyo",)))
    assert not store.mentions_any([])
    with store.transaction() as con:
        store.delete_article(con, "a5")
    assert not store.mentions_any(name_terms(("samarcande",)))


def test_absent_share_weighs_the_question_words_no_passage_uses(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    _fill(store)
    archive = ArchiveTerms(store, store.counts()[1])
    assert store.term_counts(["accord", "tokyo"]) == {"accord": 2, "tokyo": 0}
    assert archive.absent_share(analyse("Quels accords le président a-t-il signés à Astana ?").content_terms) == 0.0
    share = archive.absent_share(analyse("Quelle est la population du Kazakhstan ?").content_terms)
    # "population" (absent) weighs log(1 + 8/1) against "kazakhstan" (in 2 of 8 passages) log(1 + 8/3).
    assert share == pytest.approx(math.log(9) / (math.log(9) + math.log(1 + 8 / 3)))
    assert archive.absent_share(analyse("Quelle est la population de Tokyo ?").content_terms) == 1.0
    assert archive.absent_share(analyse("Qui ?").content_terms) == 0.0


def test_window_vectors_round_trip_beside_sentence_vectors(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    sentences = np.eye(4, dtype=np.float32)[:2]
    windows = np.eye(4, dtype=np.float32)[1:]
    store.put_vectors([("h1", np.ones(4, np.float32), sentences, windows), ("h2", np.ones(4, np.float32), None, None)])
    assert np.array_equal(store.sentence_vectors_for(["h1"], 4)["h1"], sentences)
    assert np.array_equal(store.window_vectors_for(["h1"], 4)["h1"], windows)
    assert store.window_vectors_for(["h2", "absent"], 4) == {}


def test_a_store_from_before_windows_gains_the_column_and_keeps_its_vectors(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE vectors (hash TEXT PRIMARY KEY, vec BLOB NOT NULL, sentences BLOB)")
    old = np.eye(4, dtype=np.float32)[:2]
    con.execute("INSERT INTO vectors VALUES (?, ?, ?)", ("h", np.ones(4, np.float32).tobytes(), old.astype(np.float16).tobytes()))
    con.commit()
    con.close()
    store = Store(path)
    assert np.array_equal(store.sentence_vectors_for(["h"], 4)["h"], old)
    assert store.window_vectors_for(["h"], 4) == {}
    store.put_vectors([("h2", np.ones(4, np.float32), old, old)])
    assert np.array_equal(store.window_vectors_for(["h2"], 4)["h2"], old)
