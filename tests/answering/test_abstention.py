"""The period check of the abstention: what a passage speaks of, its publication included."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.answering.abstention import misses_dates, speaks_of
from qa.core.types import Chunk, Passage
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import analyse
from qa.text.dates import extract_dates, query_dates
from qa.text.sentences import split_sentences


def passage(text: str, published: dt.date | None) -> Passage:
    sentences = tuple(split_sentences(text))
    dates = tuple(dict.fromkeys(m.value for m in extract_dates(text)))
    return Passage(1, Chunk("a", 0, 0, len(text), text, sentences, dates), "h", "Titre", published, None)


# An OrangeSum-like report: it says "dimanche", never the month, and went out on Monday 7 September 2020.
HEAT = "Une température record de 49,4°C a été relevée dimanche à Woodland Hills. Les pompiers restent mobilisés."
MONDAY = dt.date(2020, 9, 7)


@pytest.mark.parametrize(
    "question",
    [
        "Quelle température record a été relevée à Woodland Hills en septembre 2020 ?",  # the month it went out
        "Quelle température a été relevée en 2020 à Woodland Hills ?",  # the year
        "Quelle température a été relevée le 6 septembre 2020 à Woodland Hills ?",  # "dimanche", told from Monday
        "Quelle température record a-t-on relevée fin août 2020 à Woodland Hills ?",  # the week before it went out
    ],
)
def test_a_news_passage_speaks_of_the_days_it_was_published_in(question: str) -> None:
    query = analyse(question)
    assert query.dates, question
    assert not misses_dates(query, [Candidate(passage(HEAT, MONDAY), 0.9, 0.9)])


@pytest.mark.parametrize(
    "question",
    [
        "Quelle température a été relevée en juillet 2019 à Woodland Hills ?",  # another month
        "Quelle température a été relevée le 7 septembre 2020 à Woodland Hills ?",  # its own day, which it never tells of
        "Quelle température a été relevée en octobre 2020 à Woodland Hills ?",  # after it went out
    ],
)
def test_other_periods_are_still_missed(question: str) -> None:
    assert misses_dates(analyse(question), [Candidate(passage(HEAT, MONDAY), 0.9, 0.9)])


def test_without_a_publication_date_only_written_dates_count() -> None:
    (september,) = query_dates("en septembre 2020")
    assert not speaks_of(passage(HEAT, None), september)
    assert speaks_of(passage("Le 6 septembre 2020, il a fait 49,4°C.", None), september)
