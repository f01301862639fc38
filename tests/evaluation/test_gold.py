"""Gold files: validation with line numbers, evidence located in the indexed text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation.gold import Evidence, GoldError, load_gold, locate, parse_gold_lines, resolve_evidence

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "id": "q1",
    "question": "Combien d'accords ?",
    "lang": "fr",
    "answerable": True,
    "articles": ["a"],
    "evidence": [{"article_id": "a", "text": "24 accords"}],
    "answers": ["24"],
}


def _lines(*records: dict[str, object]) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in records]


def test_a_good_record_and_an_unanswerable_one() -> None:
    bad_q = {"id": "u1", "question": "Tokyo ?", "lang": "en", "answerable": False}
    questions = parse_gold_lines([*_lines(GOOD), "", *_lines(bad_q)])
    assert [q.id for q in questions] == ["q1", "u1"]
    assert questions[0].evidence == (Evidence("a", "24 accords"),)
    assert questions[1].articles == () and not questions[1].answerable


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lang": "de"}, "lang"),
        ({"answerable": "yes"}, "answerable"),
        ({"evidence": []}, "evidence"),
        ({"evidence": [{"article_id": "b", "text": "x"}]}, "not listed"),
        ({"answers": [""]}, "answers"),
        ({"extra": 1}, "unknown field"),
        ({"answerable": False}, "unanswerable question has no evidence"),
        ({"question": " "}, "question"),
    ],
)
def test_bad_records_are_named_with_their_line(change: dict[str, object], message: str) -> None:
    with pytest.raises(GoldError, match=rf"<gold>:2: .*{message}"):
        parse_gold_lines(["", *_lines({**GOOD, **change})])


def test_duplicate_ids_empty_files_and_bad_json() -> None:
    with pytest.raises(GoldError, match="duplicate id"):
        parse_gold_lines(_lines(GOOD, GOOD))
    with pytest.raises(GoldError, match="no gold questions"):
        parse_gold_lines(["", " "])
    with pytest.raises(GoldError, match=":1:"):
        parse_gold_lines(["{not json"])
    with pytest.raises(GoldError, match="cannot read"):
        load_gold(Path("/nonexistent/gold.jsonl"))


def test_locate_uses_the_start_hint_and_refuses_ambiguity() -> None:
    text = "un deux un trois"
    assert locate(Evidence("a", "deux"), text).start == 3
    assert locate(Evidence("a", "un", start=7), text).start == 8
    with pytest.raises(ValueError, match="occurs 2 times"):
        locate(Evidence("a", "un"), text)
    with pytest.raises(ValueError, match="not in article"):
        locate(Evidence("a", "quatre"), text)


def test_resolve_reports_what_the_index_lacks() -> None:
    questions = parse_gold_lines(_lines(GOOD))
    spans = resolve_evidence(questions, {"a": "ils ont signé 24 accords."}.get)
    assert [(s.article_id, s.start, s.end) for s in spans["q1"]] == [("a", 14, 24)]
    with pytest.raises(GoldError, match="article a is not in the index"):
        resolve_evidence(questions, {}.get)
    with pytest.raises(GoldError, match="not in article a"):
        resolve_evidence(questions, {"a": "rien"}.get)


def test_the_project_gold_file_fits_the_seed_corpus() -> None:
    from qa.core.types import Article
    from qa.ingest import iter_corpus

    questions = load_gold(ROOT / "eval" / "gold.jsonl")
    texts = {a.id: a.text for a in iter_corpus(ROOT / "corpus") if isinstance(a, Article)}
    spans = resolve_evidence(questions, texts.get)
    answerable = [q for q in questions if q.answerable]
    assert len(questions) >= 40 and len(questions) - len(answerable) >= 8
    assert {q.lang for q in questions} == {"fr", "en"}
    assert any(len(q.articles) == 2 for q in questions)
    assert all(spans[q.id] for q in answerable)


@pytest.mark.parametrize(("name", "answerable", "unanswerable"), [("gold_unseen.jsonl", 22, 8), ("gold_fresh.jsonl", 22, 8)])
def test_the_unseen_gold_files_fit_the_seed_corpus(name: str, answerable: int, unanswerable: int) -> None:
    from qa.core.types import Article
    from qa.ingest import iter_corpus

    questions = load_gold(ROOT / "eval" / name)
    texts = {a.id: a.text for a in iter_corpus(ROOT / "corpus") if isinstance(a, Article)}
    spans = resolve_evidence(questions, texts.get)
    assert sum(q.answerable for q in questions) == answerable
    assert sum(not q.answerable for q in questions) == unanswerable
    assert {q.lang for q in questions} == {"fr", "en"}
    assert all(spans[q.id] for q in questions if q.answerable)
    assert len({q.id for q in questions}) == len(questions)
