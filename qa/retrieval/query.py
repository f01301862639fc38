"""The question analysed once: one typed object that retrieval, answering and abstention all read."""

from __future__ import annotations

from dataclasses import dataclass

from qa.text.analyzer import analyze, analyze_query, fold, stop_words, words
from qa.text.answer_types import AnswerType, answer_type, money_excluded
from qa.text.dates import DateRange, query_dates
from qa.text.names import QUESTION_WORDS, name_forms, name_units


@dataclass(frozen=True, slots=True)
class Query:
    """A question and everything the pipeline reads of its text, computed once per request."""

    text: str
    language: str  # "fr" or "en"
    # The lexical query: French and English stems of its content words, plus French forms of English names.
    terms: tuple[str, ...]
    # French and English stems of its content words (what a following sentence must add to complete an answer).
    stems: frozenset[str]
    # Every word of it, folded: a name it already gives is not an answer to it.
    words: frozenset[str]
    # The periods it names ("en juin 2025"), as inclusive day ranges.
    dates: tuple[DateRange, ...]
    answer_type: AnswerType | None
    # It asks a quantity (a population, a count, a rate) that an amount of money does not give.
    money_excluded: bool
    # Its names and numbers, grouped ("United States"), folded: what a passage must mention to answer.
    names: tuple[tuple[str, ...], ...]
    # The index terms of its content words, question words left out: looked up in the whole archive.
    content_terms: tuple[str, ...]


def question_language(question: str) -> str:
    """ "en" or "fr", from which language's function words the question uses more."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    toks = [w.casefold() for w in words(question)]
    en = sum(t in STOPWORDS_EN_PLUS for t in toks)
    fr = sum(t in STOPWORDS_FRENCH for t in toks)
    return "en" if en > fr else "fr"


def _lexical_terms(stems: list[str], names: list[tuple[str, ...]]) -> list[str]:
    """The stems less stop words, plus the French form of any English name that no spelling rule reaches
    ("United States" -> "États-Unis")."""
    terms = [t for t in stems if t not in stop_words()]
    for unit in names:
        for term in analyze(" ".join(sorted(name_forms(unit) - set(unit)))):
            if term not in terms:
                terms.append(term)
    return terms


def analyse(question: str) -> Query:
    """The question analysed for every stage; `question` is taken as given (checked by the caller)."""
    stems = analyze_query(question)
    names = name_units(question)
    tokens = words(question)
    content = analyze(" ".join(w for w in tokens if fold(w) not in QUESTION_WORDS))
    return Query(
        text=question,
        language=question_language(question),
        terms=tuple(_lexical_terms(stems, names)),
        stems=frozenset(stems),
        words=frozenset(fold(w) for w in tokens),
        dates=tuple(query_dates(question)),
        answer_type=answer_type(question),
        money_excluded=money_excluded(question),
        names=tuple(names),
        content_terms=tuple(dict.fromkeys(content)),
    )
