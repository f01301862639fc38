"""Writes that never lose an article: concurrent PUT/DELETE of one id, ids held by other files, a full disk.

Each test runs the real app under uvicorn on a loopback port, over its own copy of the seed corpus indexed
with the bag-of-words FakeEncoder: what is tested is the write path (files, locks, index), not the model.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest

from qa.engine import Engine
from qa.index.sync import sync_corpus
from qa.ingest.files import TEMP_PREFIX
from tests.api.fake_site import AUTH, Site, open_site
from tests.api.service import SEED_ARTICLE as SEED_ID
from tests.conftest import FakeEncoder


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


class HeldEncoder(FakeEncoder):
    """FakeEncoder that, for a text holding 'motlent', waits until `release` is set: a PUT that embeds for
    as long as the test wants (as 100,000 tiny lines did, 100 s of it under the writer lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = threading.Event()
        self.release = threading.Event()

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if any("motlent" in t for t in texts):
            self.embedding.set()
            assert self.release.wait(60), "never released"
        return super().embed_passages(texts, batch_size=batch_size, progress=progress)


def test_a_long_embedding_does_not_hold_up_other_writers(tmp_path: Path) -> None:
    encoder = HeldEncoder()
    with open_site(tmp_path, encoder, lock_timeout=2, max_asks=4) as site:  # a CPU turn for each write
        slow: list[httpx.Response] = []
        writer = threading.Thread(target=lambda: slow.append(site.put("lent", "Un très long texte, motlent.")))
        writer.start()
        try:
            assert encoder.embedding.wait(30)
            # Meanwhile another article is written, and the first one deleted, without waiting for it.
            assert site.put("rapide", "Un texte court, motrapide.").status_code == 201
            assert site.delete(SEED_ID).status_code == 204
        finally:
            encoder.release.set()
            writer.join(60)
        assert slow and slow[0].status_code == 201, slow
        assert site.assert_agree("lent") == "Un très long texte, motlent."
        assert site.assert_agree("rapide") == "Un texte court, motrapide."
