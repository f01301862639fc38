"""A running service picks up `qa index` live, without a failed request; two writers never run at once."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from qa.core.config import Settings
from qa.core.errors import IndexStateError
from qa.engine import Engine
from qa.index.manifest import read_manifest
from qa.index.sync import sync_corpus
from qa.ingest import parse_text_file
from tests.api.service import TOKEN, ThreadedServer, start_qa_serve, wait_healthy
from tests.conftest import FakeEncoder
from tests.index.test_crash import _article, _corpus
from tests.index.test_sync import assert_consistent
from tests.writers import DEADLINE_S, reap, start_index

ASTANA = "What was signed in Astana in June 2025?"
TROMSO = (
    "Le 3 mars 2025, la ville norvégienne de Tromsø a inauguré un observatoire des aurores boréales, "
    "financé par un fonds de 41 millions de couronnes. Le bâtiment accueillera des chercheurs de douze pays."
)
TROMSO_Q = "Quelle ville a inauguré un observatoire des aurores boréales en mars 2025 ?"


@dataclass
class Hammer:
    """Asks and health checks in a loop from another thread, recording every outcome."""

    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[tuple[str, int | str, float]] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            for _ in range(5_000):  # bounded, whatever happens
                if self.stop.is_set():
                    return
                for what in ("ask", "health"):
                    t0 = time.monotonic()
                    try:
                        res = client.post("/ask", json={"question": ASTANA, "k": 5}) if what == "ask" else client.get("/health")
                        status: int | str = res.status_code
                    except httpx.HTTPError as exc:
                        status = f"{type(exc).__name__}: {exc}"
                    self.outcomes.append((what, status, time.monotonic() - t0))


@pytest.fixture(autouse=True)
def _reap_writers() -> Iterator[None]:
    yield
    reap()


@pytest.fixture
def hammered_service(tmp_path: Path, seed_index: Path) -> Iterator[tuple[Path, Path, str, Hammer]]:
    """A real `qa serve` process over a copy of the seed index, with a thread asking it questions throughout."""
    corpus = shutil.copytree(seed_index / "corpus", tmp_path / "corpus")
    index = shutil.copytree(seed_index / "index", tmp_path / "index", ignore=shutil.ignore_patterns(".write.lock"))
    serve = start_qa_serve(corpus, index, tmp_path / "serve.log", token=None)
    try:
        wait_healthy(serve.url, DEADLINE_S, serve.proc)
        hammer = Hammer(serve.url)
        thread = threading.Thread(target=hammer.run, daemon=True)
        thread.start()
        yield corpus, index, serve.url, hammer
        hammer.stop.set()
        thread.join(timeout=DEADLINE_S)
    finally:
        code = serve.stop()
        assert code in (0, -2, 130), serve.output()


def _served_generation(url: str, generation: int) -> float:
    """Poll /health until the service serves this generation; the seconds it took (a guard, not a limit)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < DEADLINE_S:
        if httpx.get(f"{url}/health", timeout=60).json().get("generation", -1) >= generation:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"the service never served generation {generation}")


@pytest.mark.model
def test_a_running_qa_serve_picks_up_qa_index_live_without_a_failed_request(
    hammered_service: tuple[Path, Path, str, Hammer], encoder: Any
) -> None:
    corpus, index, url, hammer = hammered_service
    (corpus / "tromso.txt").write_text(TROMSO, encoding="utf-8")
    report = sync_corpus(corpus, index, encoder, progress=False)  # `qa index` from another process than the service
    assert report.added == 1
    added_at = _served_generation(url, read_manifest(index).generation)
    body = httpx.post(f"{url}/ask", json={"question": TROMSO_Q}, timeout=120).json()
    assert "tromso" in [c["article_id"] for c in body["citations"]]

    (corpus / "tromso.txt").unlink()
    assert sync_corpus(corpus, index, encoder, progress=False).removed == 1
    removed_at = _served_generation(url, read_manifest(index).generation)
    body = httpx.post(f"{url}/ask", json={"question": TROMSO_Q}, timeout=120).json()
    assert "tromso" not in [c["article_id"] for c in body["citations"]]

    time.sleep(0.5)  # a few more requests after the last switch
    hammer.stop.set()
    failed = [o for o in hammer.outcomes if o[1] != 200]
    assert len(hammer.outcomes) > 4 and not failed, failed
    print(f"picked up in {added_at:.2f} s and {removed_at:.2f} s; {len(hammer.outcomes)} requests, none failed")


def test_a_second_qa_index_is_told_the_index_is_busy_and_a_third_waits_its_turn(tmp_path: Path) -> None:
    index, logs = tmp_path / "index", tmp_path / "logs"
    sync_corpus(_corpus(tmp_path, changed=False), index, FakeEncoder(), progress=False)
    corpus = _corpus(tmp_path, changed=True)
    first = start_index(corpus, index, logs, pause_at="stored")
    first.wait_paused("stored")  # it holds the lock, mid-way

    code, out, err = start_index(corpus, index, logs, env={"QA_LOCK_TIMEOUT": "0.3"}).finish()
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: the index at") and "busy" in err

    third = start_index(corpus, index, logs)  # the default: waits up to 30 s for the lock
    assert third.proc.poll() is None, "it cannot have finished: the lock is held"
    first.kill9()  # the kernel releases a dead process's lock
    code, out, err = third.finish()
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] + report["updated"] + report["unchanged"] == 59 and report["removed"] == 1
    assert_consistent(index)


def test_an_api_write_during_qa_index_answers_busy_then_succeeds(tmp_path: Path) -> None:
    from qa.api.app import create_app

    index, logs = tmp_path / "index", tmp_path / "logs"
    sync_corpus(_corpus(tmp_path, changed=False), index, FakeEncoder(), progress=False)
    corpus = _corpus(tmp_path, changed=True)
    settings = Settings(corpus_dir=corpus, index_dir=index, api_token=SecretStr(TOKEN), lock_timeout=0.3, reload_interval=0.2)
    engine = Engine.open(settings, FakeEncoder())
    writer = start_index(corpus, index, logs, pause_at="embedding")
    writer.wait_paused("embedding")

    with pytest.raises(IndexStateError, match="busy"):
        engine.put_article(parse_text_file(TROMSO.encode(), stem="tromso", suffix=".txt"))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        res = client.put("/articles/tromso", json={"text": TROMSO}, headers=headers)
        assert res.status_code == 409 and "busy" in res.json()["detail"]
        writer.kill9()
        res = client.put("/articles/tromso", json={"text": TROMSO}, headers=headers)
        assert res.status_code == 201, res.text
        cited = client.post("/ask", json={"question": TROMSO_Q}).json()["citations"]
        assert "tromso" in [c["article_id"] for c in cited]

    # The next `qa index` finishes the killed run's work and keeps the article written through the API.
    code, out, err = start_index(corpus, index, logs).finish()
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] + report["updated"] + report["unchanged"] == 60 and report["removed"] == 1
    assert "tromso" in engine.store.article_hashes()
    assert_consistent(index)


def test_a_writer_killed_while_holding_the_lock_never_wedges_it(tmp_path: Path) -> None:
    corpus, index, logs = tmp_path / "corpus", tmp_path / "index", tmp_path / "logs"
    corpus.mkdir()
    (corpus / "a.txt").write_text(_article(1, "x"), encoding="utf-8")
    writer = start_index(corpus, index, logs, pause_at="embedding")
    writer.wait_paused("embedding")
    writer.kill9()
    code, out, err = start_index(corpus, index, logs, env={"QA_LOCK_TIMEOUT": "5"}).finish()
    assert code == 0 and json.loads(out)["added"] == 1, err
