"""Writes that never lose an article: concurrent PUT/DELETE of one id, ids held by other files, a full disk.

Each test runs the real app under uvicorn on a loopback port, over its own copy of the seed corpus indexed
with the bag-of-words FakeEncoder: what is tested is the write path (files, locks, index), not the model.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa.core.config import Settings
from qa.engine import Engine
from qa.index.sync import sync_corpus
from qa.ingest.files import TEMP_PREFIX
from qa.ingest.text import parse_text_file
from tests.api.service import TOKEN, ThreadedServer
from tests.conftest import SEEDS, FakeEncoder

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Site:
    """A service of its own over `corpus`, with an HTTP client."""

    def __init__(self, corpus: Path, index: Path, client: httpx.Client, engine: Engine) -> None:
        self.corpus, self.index, self.client, self.engine = corpus, index, client, engine

    def put(self, article_id: str, text: str) -> httpx.Response:
        return self.client.put(f"/articles/{article_id}", json={"text": text, "title": "T"}, headers=AUTH)

    def delete(self, article_id: str) -> httpx.Response:
        return self.client.delete(f"/articles/{article_id}", headers=AUTH)

    def temporaries(self) -> list[str]:
        return [p.name for p in self.corpus.rglob(f"{TEMP_PREFIX}*")]

    def assert_agree(self, article_id: str) -> str | None:
        """GET, the corpus file and /ask say the same of the article: its text, or that it is gone."""
        got = self.client.get(f"/articles/{article_id}")
        path = self.corpus / f"{article_id}.md"
        if got.status_code == 404:
            assert not path.exists(), f"{path.name} is in the corpus but the index has no {article_id!r}"
            return None
        assert got.status_code == 200, got.text
        text = got.json()["text"]
        assert path.exists(), f"the index has {article_id!r} but its file is gone: the next `qa index` loses it"
        on_disk = parse_text_file(path.read_bytes(), stem=article_id, suffix=".md")
        assert on_disk.text == text, "the corpus file and the index hold different versions"
        word = text.split()[-1].rstrip(".")
        cited = self.client.post("/ask", json={"question": f"Que dit {word} ?", "k": 3, "mode": "bm25"}).json()
        assert any(c["article_id"] == article_id and word in c["text"] for c in cited["citations"]), cited
        return text


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    from qa.api.app import create_app

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    encoder = FakeEncoder()
    sync_corpus(corpus, index, encoder, progress=False)
    settings = Settings(corpus_dir=corpus, index_dir=index, api_token=TOKEN)
    engine = Engine.open(settings, encoder)
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Site(corpus, index, client, engine)


def _together(calls: list[tuple[str, str | None]], site: Site) -> list[int]:
    """Run the PUTs (text) and DELETEs (None) at once from as many threads; their status codes."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = [0] * len(calls)

    def run(n: int, article_id: str, text: str | None) -> None:
        with httpx.Client(base_url=site.client.base_url, timeout=120) as own:
            barrier.wait()
            if text is None:
                statuses[n] = own.delete(f"/articles/{article_id}", headers=AUTH).status_code
            else:
                statuses[n] = own.put(f"/articles/{article_id}", json={"text": text}, headers=AUTH).status_code

    threads = [threading.Thread(target=run, args=(n, *call)) for n, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_puts_of_one_id_leave_one_whole_version_everywhere(site: Site) -> None:
    for round_ in range(8):
        versions = [f"Version {round_}-{n} du même article, mot{round_}x{n}." for n in range(16)]
        statuses = _together([("race", v) for v in versions], site)
        assert set(statuses) <= {200, 201}, statuses  # never a 500 (it was, from a shared temporary file)
        assert site.assert_agree("race") in versions
        assert site.temporaries() == []


def test_concurrent_put_and_delete_of_one_id_agree_after_every_round(site: Site) -> None:
    for round_ in range(10):
        calls: list[tuple[str, str | None]] = [("pd", f"Texte {round_}-{n}, mot{round_}y{n}.") for n in range(6)]
        calls += [("pd", None)] * 6
        statuses = _together(calls, site)
        assert set(statuses) <= {200, 201, 204, 404}, statuses
        site.assert_agree("pd")
        assert site.temporaries() == []


def test_a_put_does_not_overwrite_a_file_holding_another_article(site: Site) -> None:
    (site.corpus / "victim.md").write_text("---\nid: keeper\ntitle: Gardé\n---\nLe texte de keeper, motkeeper.\n")
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    res = site.put("victim", "Un nouvel article, motvictim.")
    assert res.status_code == 409 and "keeper" in res.json()["detail"], res.text
    assert "motkeeper" in (site.corpus / "victim.md").read_text()
    assert site.client.get("/articles/keeper").status_code == 200
    assert site.client.get("/articles/victim").status_code == 404


def test_an_unindexed_file_holding_the_id_is_not_silently_undone(site: Site) -> None:
    (site.corpus / "sub").mkdir()
    (site.corpus / "sub" / "late.txt").write_text("Arrivé par le dossier, motdossier.\n")
    res = site.put("late", "Écrit par l'API, motapi.")
    assert res.status_code == 409 and "sub/late.txt" in res.json()["detail"], res.text
    assert not (site.corpus / "late.md").exists()


def test_two_files_of_one_id_are_reported_and_a_delete_removes_both(site: Site) -> None:
    (site.corpus / "dup.txt").write_text("Premier texte, motun.\n")
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    (site.corpus / "dup.md").write_text("Second texte, motdeux.\n")
    report = sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    assert {e.file for e in report.errors} == {"dup.md", "dup.txt"}
    assert Engine.open(site.engine.settings, site.engine.encoder).get_article("dup")[0].text == "Premier texte, motun."
    site.engine.refresh()
    assert site.delete("dup").status_code == 204
    assert not (site.corpus / "dup.txt").exists() and not (site.corpus / "dup.md").exists()
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    site.engine.refresh()
    assert site.client.get("/articles/dup").status_code == 404  # it did come back, from dup.md


def test_a_full_disk_answers_507_and_changes_nothing(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    assert site.put("kept", "La première version, motpremier.").status_code == 201
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    res = site.put("kept", "Une seconde version, motsecond.")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert res.status_code == 507 and "disk is full" in res.json()["detail"], res.text
    assert site.assert_agree("kept") == "La première version, motpremier."
    assert site.temporaries() == []
    res = site.put("other", "Jamais écrit, motjamais.")
    assert res.status_code == 201  # the disk has room again


def test_leftover_temporary_files_are_removed_by_the_next_sync(site: Site) -> None:
    leftover = site.corpus / f"{TEMP_PREFIX}x-abc.tmp"
    leftover.write_text("half a write")
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    assert not leftover.exists()


def test_non_questions_and_invisible_articles_are_refused_over_http(site: Site) -> None:
    for question in ("?", "*", "\u0000", "…", "le la les ?"):
        res = site.client.post("/ask", json={"question": question})
        assert res.status_code == 200 and res.json()["answer"] is None, (question, res.text)
    res = site.put("ghost", "\u200b\u200c\u2060")
    assert res.status_code == 422 and "no visible character" in res.text, res.text
    assert not (site.corpus / "ghost.md").exists()
