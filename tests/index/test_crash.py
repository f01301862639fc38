"""kill -9 of a real `qa index` process at each phase: the last index still answers, the next run finishes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.core.config import Settings
from qa.engine import Engine
from qa.index.faults import PHASES
from qa.index.manifest import read_manifest
from qa.index.store import Store
from qa.index.sync import sync_corpus
from tests.conftest import SEEDS, FakeEncoder
from tests.index.test_sync import assert_consistent
from tests.writers import reap, start_index

PORTS = ["Marseille", "Brest", "Dunkerque", "Calais", "Bordeaux", "Nantes", "Toulon", "Sète", "Bayonne", "Lorient"]


@pytest.fixture(autouse=True)
def _reap_writers() -> Iterator[None]:
    yield
    reap()


def _article(i: int, tag: str) -> str:
    """About 4,000 characters (five passages or so), with words that are this article's alone."""
    port = PORTS[i % len(PORTS)]
    name = tag + "coop" + "".join(chr(ord("a") + int(d)) for d in f"{i:02d}")  # 5 -> "oldcoopaf": no digit to split
    paras = [
        f"Le port de {port} ({tag}{i}) a reçu {100 + j * 7 + i} navires au trimestre {j}. "
        f"La coopérative {name} y a déchargé {j + 3} mille tonnes de marchandises diverses, "
        f"selon la capitainerie, qui prévoit une hausse du trafic de {j + i} % l'an prochain."
        for j in range(16)
    ]
    return "\n\n".join(paras)


def _corpus(root: Path, changed: bool) -> Path:
    """30 articles; `changed` rewrites a00, drops a01 and adds 30 new ones (n00..n29)."""
    corpus = root / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for i in range(30):
        if changed and i == 1:
            continue
        text = _article(i, "old")
        if changed and i == 0:
            text = text.replace("navires", "paquebots")
        (corpus / f"a{i:02d}.txt").write_text(text, encoding="utf-8")
    if changed:
        for i in range(30):
            (corpus / f"n{i:02d}.txt").write_text(_article(i, "new"), encoding="utf-8")
    return corpus


def _answers_from(index: Path, encoder: Any, question: str, article_id: str) -> None:
    """The index opens and answers; each retrieval side finds article_id; every citation is exact text."""
    engine = Engine.open(Settings(index_dir=index), encoder)
    answer = engine.ask(question, 5)
    assert answer.citations, answer
    for c in answer.citations:
        article = engine.store.get_article(c.article_id)
        assert article is not None and article.text[c.start : c.end] == c.text
    assert engine.search(question, 1, mode="bm25")[0].passage.chunk.article_id == article_id
    # The dense side: a passage of the article, as the question, finds it (the fake model is bag-of-words).
    (chunk_id,) = engine.store.connection().execute("SELECT min(id) FROM chunks WHERE article_id = ?", (article_id,)).fetchone()
    passage = engine.store.chunks_by_id([chunk_id])[chunk_id].chunk.text
    assert engine.search(passage, 1, mode="dense")[0].passage.chunk.article_id == article_id


def _no_op(corpus: Path, index: Path, logs: Path, articles: int) -> None:
    code, out, err = start_index(corpus, index, logs).finish()
    assert code == 0, err
    assert json.loads(out) | {"errors": []} == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": articles,
        "chunks_embedded": 0,
        "errors": [],
    }


@pytest.mark.parametrize("phase", PHASES)
def test_kill_9_at_each_phase_keeps_the_index_answering_and_the_next_run_finishes(tmp_path: Path, phase: str) -> None:
    index, logs = tmp_path / "index", tmp_path / "logs"
    sync_corpus(_corpus(tmp_path, changed=False), index, FakeEncoder(), progress=False)
    corpus = _corpus(tmp_path, changed=True)
    question = "Combien de tonnes la coopérative oldcoopaf a-t-elle déchargé ?"

    writer = start_index(corpus, index, logs, pause_at=phase)
    writer.wait_paused(phase)
    _answers_from(index, FakeEncoder(), question, "a05")  # while the writer is stopped mid-way
    writer.kill9()
    _answers_from(index, FakeEncoder(), question, "a05")
    assert read_manifest(index).generation >= 1

    code, out, err = start_index(corpus, index, logs).finish()
    assert code == 0, err
    report = json.loads(out)
    assert report["errors"] == [] and report["added"] + report["updated"] + report["unchanged"] == 59
    done = (report["added"], report["updated"], report["removed"], report["unchanged"])
    if phase == "embedding":  # killed before its first store commit: the work is all still to do
        assert done == (30, 1, 1, 28) and report["chunks_embedded"] > 128
    elif phase == "stored":  # one batch was committed: the rest is done now, the removal too
        assert report["added"] + report["updated"] < 31 and report["removed"] == 1
    else:  # the store was complete: only the dense files and the manifest were missing
        assert done == (0, 0, 0, 59) and report["chunks_embedded"] == 0
    assert_consistent(index)
    _answers_from(index, FakeEncoder(), "Combien de tonnes la coopérative newcoopah a-t-elle déchargé ?", "n07")

    # The same index as one uninterrupted run would have built.
    fresh = tmp_path / "fresh"
    sync_corpus(corpus, fresh, FakeEncoder(), progress=False)
    assert Store(index / "store.sqlite").article_hashes() == Store(fresh / "store.sqlite").article_hashes()
    _no_op(corpus, index, logs, 59)
    assert not list(index.glob("*.tmp")) and len(list(index.glob("dense-*"))) <= 2


@pytest.mark.model
def test_kill_9_while_the_real_model_embeds(tmp_path: Path, encoder: Any) -> None:
    """The real `qa index` and model: killed while embedding a new article, then run to the end."""
    corpus, index, logs = tmp_path / "corpus", tmp_path / "index", tmp_path / "logs"
    shutil.copytree(SEEDS, corpus)
    sync_corpus(corpus, index, encoder, progress=False)
    astana = "What was signed in Astana in June 2025?"
    (corpus / "port-brest.txt").write_text(_article(3, "vrai"), encoding="utf-8")

    writer = start_index(corpus, index, logs, fake=False, pause_at="embedding")
    writer.wait_paused("embedding")
    writer.kill9()
    _answers_from(index, encoder, astana, "000_2ce4f8cb43b28473")
    answer = Engine.open(Settings(index_dir=index), encoder).ask(astana)
    assert answer.answer is not None and "24 accords" in answer.answer

    code, out, err = start_index(corpus, index, logs, fake=False).finish()
    assert code == 0, err
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["errors"]) == (1, 2, []) and report["chunks_embedded"] > 0
    assert_consistent(index)
    _answers_from(
        index, encoder, "Combien de tonnes la coopérative vraicoopad a-t-elle déchargé au port de Brest ?", "port-brest"
    )
