"""The Engine facade: how much one /ask reads, and what opening an index reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.core.config import Settings
from qa.engine import Engine
from qa.index import dense as dense_mod
from tests.conftest import FakeEncoder

QUESTIONS = [
    "Quels accords Tokaïev et Xi Jinping ont-ils signés à Astana en juin 2025 ?",
    "Quelle est la population du Kazakhstan ?",
    "Qu'a signé Tokaïev à Tokyo ?",
    "What did the United States and the European Council say about Kazakhstan in November 2025?",
    "Combien d'accords ont été signés ?",
]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_one_ask_issues_a_few_batched_statements_and_reads_each_vector_once(
    fake_index: Settings, fake_encoder: FakeEncoder, mode: str
) -> None:
    engine = Engine.open(fake_index, fake_encoder)
    engine.ask("warm up", 5)  # the thread's connection and its PRAGMAs
    statements: list[str] = []
    # FTS5 runs statements of its own inside a MATCH ("-- SELECT ... chunk_terms_idx"): only ours are counted.
    engine.store.connection().set_trace_callback(lambda s: statements.append(s) if not s.startswith("--") else None)
    for question in QUESTIONS:
        statements.clear()
        engine.ask(question, 10, mode=mode)  # type: ignore[arg-type]
        # Before batching: 47 statements for a question like these (one SELECT per row).
        assert len(statements) <= 7, statements
        vector_reads = [s for s in statements if "FROM vectors" in s]
        assert len(vector_reads) <= 2, vector_reads  # passage cosines not found by FAISS, then the spans
        assert sum("sentences" in s for s in vector_reads) <= 1


def test_serve_startup_reads_the_manifest_and_the_dense_base_once(
    fake_index: Settings, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.api.startup import open_or_build

    manifests: list[Path] = []
    loads: list[Path] = []
    read_text = Path.read_text
    load = dense_mod.FaissIndex.load.__func__  # type: ignore[attr-defined]

    def counting_read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "manifest.json":
            manifests.append(self)
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    def counting_load(cls: type, path: Path, kind: str) -> dense_mod.FaissIndex:
        loads.append(path)
        return load(cls, path, kind)  # type: ignore[no-any-return]

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    monkeypatch.setattr(dense_mod.FaissIndex, "load", classmethod(counting_load))
    engine = open_or_build(fake_index, fake_encoder)  # a restart: the index exists, the corpus is unchanged
    assert engine.health()["articles"] == 2
    # The last committed index opens first (it answers while the sync runs); the sync's writer reads the small
    # manifest again, but takes the dense base already loaded rather than loading it a second time.
    assert len(manifests) == 2, manifests
    assert len(loads) == 1, loads


@pytest.mark.parametrize("question", ["?", "*", "\u0000", " ?! … ", "le la les ?", "Qui ?", "What is it?"])
def test_a_non_question_abstains_honestly(fake_index: Settings, fake_encoder: FakeEncoder, question: str) -> None:
    answer = Engine.open(fake_index, fake_encoder).ask(question, 5)
    assert answer.answer is None and answer.citations  # the passages are still shown


def test_the_timeline_reads_again_only_the_articles_that_changed(
    fake_index: Settings, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.timeline.cache as cache_module
    from qa.core.types import Article

    read: list[str] = []
    real = cache_module.article_events
    monkeypatch.setattr(cache_module, "article_events", lambda a: read.append(a.id) or real(a))
    engine = Engine.open(fake_index, fake_encoder)
    first = engine.events()
    assert len(read) == 2 and engine.events() is first  # the seeds, read once per generation
    engine.put_article(Article("new", "Le 3 mars 2026, un accord a été signé à Astana.", "Nouveau", None))
    events = engine.events()
    assert read[2:] == ["new"]
    assert "2026-03-03" in {e.date for e in events.events}
