"""The news training questions (eval/news_train): well formed, split by article, their evidence in OrangeSum."""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from qa.evaluation.gold import resolve_evidence
from qa.ingest.jsonl import parse_record

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "eval"))

from news import RECORDS, load_news, news_split  # type: ignore[import-not-found]  # noqa: E402

ORANGESUM = ROOT.parent / "shared" / "data" / "orangesum" / "orangesum_articles.jsonl.gz"


def test_each_article_has_answerable_and_unanswerable_questions_in_both_languages() -> None:
    questions = load_news()
    assert len(questions) == 640 and len({q.id for q in questions}) == 640
    per_article = Counter((q.articles[0], q.answerable, q.lang) for q in questions)
    assert set(per_article.values()) == {1} and len(per_article) == 640
    assert all(q.evidence and q.answers for q in questions if q.answerable)
    assert not any(q.evidence or q.answers for q in questions if not q.answerable)


def test_one_article_s_questions_never_fall_on_both_sides() -> None:
    sides: dict[str, set[str]] = {}
    for q in load_news():
        sides.setdefault(q.articles[0], set()).add(news_split(q))
    assert all(len(s) == 1 for s in sides.values())
    counts = Counter(news_split(q) for q in load_news())
    assert 0.2 < counts["calibrate"] / sum(counts.values()) < 0.4


@pytest.mark.skipif(not ORANGESUM.exists(), reason="OrangeSum data not present")
def test_the_evidence_is_in_the_orangesum_articles_as_the_product_reads_them() -> None:
    questions = load_news()
    asked = {q.articles[0] for q in questions}
    texts: dict[str, str] = {}
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= RECORDS[1]:
                break
            if i >= RECORDS[0] and str(json.loads(line)["id"]) in asked:
                article = parse_record(line)
                texts[article.id] = article.text
    assert set(texts) == asked
    spans = resolve_evidence(questions, texts.get)
    assert all(spans[q.id] for q in questions if q.answerable)
