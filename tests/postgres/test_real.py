"""The real model on the PostgreSQL backend: the gold questions answered as the local backend answers them, and
`qa serve` on loopback over a real primary and replica."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.core.config import Settings
from qa.engine import Engine, open_backend
from qa.evaluation.gold import load_gold
from qa.index.sync import sync_corpus
from tests.api.service import TOKEN, start_qa_serve, wait_healthy
from tests.conftest import ROOT, SEEDS
from tests.postgres.conftest import Cluster, Database, wait_replayed

pytestmark = pytest.mark.model


def _same(a: Any) -> tuple[Any, ...]:
    return (a.answer, a.abstained_because, [(c.article_id, c.start, c.end) for c in a.citations], a.short)


def test_the_gold_questions_get_the_same_answers_on_both_backends(
    tmp_path: Path, database: Database, encoder: Any, seed_index: Path
) -> None:
    shutil.copytree(SEEDS, tmp_path / "corpus")
    settings = database.settings(tmp_path)
    sync_corpus(settings.corpus_dir, open_backend(settings), encoder, progress=False)
    wait_replayed(database)
    local = Engine.open(Settings(index_dir=seed_index / "index"), encoder)
    pg = Engine.open(settings, encoder)
    questions = load_gold(ROOT / "eval" / "gold.jsonl") + load_gold(ROOT / "eval" / "gold_unseen.jsonl")
    differ = [q.question for q in questions if _same(pg.ask(q.question, 5)) != _same(local.ask(q.question, 5))]
    assert len(questions) > 50 and differ == []


def test_qa_serve_on_a_primary_and_a_replica(tmp_path: Path, database: Database, cluster: Cluster) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    env = {"QA_DATABASE_URL": database.url, "QA_DATABASE_READ_URLS": f'["{database.replica_url}"]'}
    proc = start_qa_serve(corpus, tmp_path / "index", tmp_path / "serve.log", token=TOKEN, extra_env=env)
    try:
        wait_healthy(proc.url, 600, proc.proc)
        with httpx.Client(base_url=proc.url, timeout=120) as client:
            health = client.get("/health").json()
            assert (health["articles"], health["generation"]) == (2, 1)
            answer = client.post("/ask", json={"question": "What was signed in Astana in June 2025?"}).json()
            assert "24" in answer["answer"] and answer["citations"]
            text = "Le port de Brest a accueilli la flotte des thoniers bretons le 3 mars 2026, pour la fête de la mer."
            put = client.put("/articles/brest", json={"text": text}, headers={"Authorization": f"Bearer {TOKEN}"})
            assert put.status_code in (200, 201), put.text
            found = client.post("/ask", json={"question": "Quand la flotte des thoniers est-elle arrivée à Brest ?"}).json()
            assert found["citations"][0]["article_id"] == "brest"
            assert client.get("/health").json()["generation"] == 2
            gone = client.delete("/articles/brest", headers={"Authorization": f"Bearer {TOKEN}"})
            assert gone.status_code in (200, 204), gone.text
            assert client.get("/articles/brest").status_code == 404
            cluster.replica.stop()  # the replica goes down under the service: /ask falls back to the primary
            try:
                again = client.post("/ask", json={"question": "What was signed in Astana in June 2025?"})
                assert again.status_code == 200 and again.json()["answer"] == answer["answer"]
            finally:
                cluster.replica.start()
    finally:
        proc.stop()
    assert not (tmp_path / "index").exists(), "nothing is written to an index folder"
