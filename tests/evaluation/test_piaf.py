"""PIAF as a benchmark: stable ids, a seeded split by page, corpus records, and our English translations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa.evaluation.piaf import (
    EN_PATH,
    PIAF_PATH,
    english_questions,
    load_piaf,
    load_translations,
    sample_questions,
    split_of,
    to_gold,
    write_corpus,
)

pytestmark = pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")


def test_samples_are_fixed_disjoint_and_split_by_page() -> None:
    piaf = load_piaf()
    assert len(piaf.paragraphs) == 1518 and len(piaf.questions) >= 7500
    dev, test = sample_questions(piaf, "dev"), sample_questions(piaf, "test")
    assert len(dev) == len(test) == 1000
    assert sample_questions(piaf, "test") == test  # seeded: the same every run
    assert not {q.title for q in dev} & {q.title for q in test}
    assert all(split_of(q.title) == "test" for q in test)


def test_gold_form_points_at_the_answer_span() -> None:
    piaf = load_piaf()
    paragraphs = {p.id: p.text for p in piaf.paragraphs}
    for q in sample_questions(piaf, "test", n=50):
        g = to_gold(q)
        ev = g.evidence[0]
        assert g.articles == (q.paragraph_id,) and g.answerable
        assert ev.start is not None and paragraphs[q.paragraph_id][ev.start : ev.start + len(ev.text)] == ev.text


def test_corpus_file_is_one_record_per_paragraph(tmp_path: Path) -> None:
    from qa.core.types import Article
    from qa.ingest import iter_corpus

    piaf = load_piaf()
    path = write_corpus(piaf.paragraphs[:5], tmp_path)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == piaf.paragraphs[0].id and first["title"] == piaf.paragraphs[0].title
    articles = [a for a in iter_corpus(tmp_path) if isinstance(a, Article)]
    assert [a.id for a in articles] == [p.id for p in piaf.paragraphs[:5]]


def test_english_translations_cover_both_splits() -> None:
    piaf = load_piaf()
    translations = load_translations(EN_PATH)
    assert len(translations) >= 50
    pairs = english_questions(piaf, translations)
    assert all(fr.articles == en.articles and en.lang == "en" for fr, en in pairs)
    assert len(english_questions(piaf, translations, "test")) >= 50
    test_ids = {q.id for q in sample_questions(piaf, "test")}
    assert all(fr.id in test_ids for fr, _ in english_questions(piaf, translations, "test"))


def test_holdout_makes_questions_unanswerable_by_removing_their_paragraph(tmp_path: Path, fake_encoder: Any) -> None:
    from qa.evaluation.piaf import holdout, holdout_index
    from qa.index.store import Store
    from qa.index.sync import sync_corpus

    piaf = load_piaf()
    questions = sample_questions(piaf, "dev", n=40)
    removed, golds = holdout(piaf, questions)
    assert holdout(piaf, questions)[0] == removed  # seeded
    assert {g.id for g in golds if not g.answerable} <= {q.id for q in questions if q.paragraph_id in removed}
    assert all(g.answerable == (q.paragraph_id not in removed) for q in questions for g in golds if g.id == q.id)

    kept = [p for p in piaf.paragraphs if p.id in removed][:2] + [p for p in piaf.paragraphs if p.id not in removed][:3]
    write_corpus(kept, tmp_path / "corpus")
    sync_corpus(tmp_path / "corpus", tmp_path / "full", fake_encoder, progress=False)
    embedded = len(fake_encoder.calls)
    holdout_index(tmp_path / "full", tmp_path / "held", removed, fake_encoder)
    assert len(fake_encoder.calls) == embedded  # removing embeds nothing
    assert sorted(Store(tmp_path / "held" / "store.sqlite").article_hashes()) == sorted(p.id for p in kept[2:])
    assert len(Store(tmp_path / "full" / "store.sqlite").article_hashes()) == 5
