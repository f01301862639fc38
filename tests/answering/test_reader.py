"""The fitted answer step's logic, with stand-in scorers: spans, the short answer's offsets, abstention and its reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answering.answer import compose_answer, decide
from qa.answering.features import SENTENCE_FEATURES
from qa.answering.reader import QUESTION_FEATURES, Abstention, Policy, Reader
from qa.answering.spans import MAX_SPAN_WORDS, SPAN_FEATURES, span_table
from qa.core.types import Chunk, Passage, Span
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import analyse
from qa.text.sentences import split_sentences


class Column:
    """Scores each row by one of its columns: a stand-in for a fitted LightGBM model."""

    def __init__(self, names: tuple[str, ...], column: str, sign: float = 1.0) -> None:
        self.i, self.sign = names.index(column), sign

    def predict(self, data: Any, **kwargs: Any) -> Any:
        return self.sign * np.asarray(data)[:, self.i]


class Logistic:
    """A stand-in for the fitted abstention: a logistic of weighted features, with its contributions."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.coef = np.array([weights.get(f, 0.0) for f in QUESTION_FEATURES])

    def predict(self, data: Any, pred_contrib: bool = False, **kwargs: Any) -> Any:
        x = np.asarray(data, dtype=np.float64)
        if pred_contrib:
            return np.hstack([x * self.coef, np.zeros((len(x), 1))])
        return 1.0 / (1.0 + np.exp(-(x @ self.coef)))


def abstention(weights: dict[str, float], threshold: float, vetoes: tuple[str, ...] = ()) -> Abstention:
    return Abstention(Logistic(weights), threshold, vetoes)


def candidates_of(article_id: str, text: str, offset: int = 0) -> list[Candidate]:
    body = " " * offset + text
    sentences = tuple(split_sentences(body))
    chunk = Chunk(article_id, 0, offset, len(body), text, sentences)
    passage = Passage(1, chunk, "h-" + article_id, "Titre", dt.date(2025, 6, 17), None)
    return [Candidate(passage, 1.0, 0.8)]


def test_spans_stay_inside_one_clause_and_are_exact() -> None:
    query = analyse("Combien d'accords ont été signés ?")
    text = "Les deux chefs d’État ont signé 24 accords bilatéraux; le reste suivra. Fin."
    table = span_table(query, text)
    assert table.rows.shape == (len(table.spans), len(SPAN_FEATURES))
    pieces = {text[a:b] for a, b in table.spans}
    assert "24 accords bilatéraux" in pieces
    assert not any(";" in p or "." in p for p in pieces)
    assert all(p == p.strip() and p for p in pieces)
    assert max(len(p.split()) for p in pieces) <= MAX_SPAN_WORDS


def test_a_number_question_gets_the_number_as_its_short_answer() -> None:
    text = "Les mosquées ont rouvert lundi. Les autorités ont limité les fidèles à trente par mosquée."
    query = analyse("Combien de fidèles sont admis dans chaque mosquée ?")
    cands = candidates_of("mosquees", text)
    # Sentences ranked by how many question terms they hold; spans by whether they hold a quantity
    # and not the question's own words.
    reader = Reader(
        Column(SENTENCE_FEATURES, "matched_terms"),
        Column(SPAN_FEATURES, "type_match"),
        abstention({}, 0.0),
    )
    answer = compose_answer(decide(query, np.zeros(4, np.float32), cands, {}, reader=reader))
    assert answer.answer is not None and "trente" in answer.answer
    assert answer.short is not None and "trente" in answer.short.text
    assert text[answer.short.start : answer.short.end] == answer.short.text


def test_abstention_says_why() -> None:
    text = "Le président a reçu son homologue à Astana en juin 2025."
    cands = candidates_of("astana", text)
    reader = Reader(
        Column(SENTENCE_FEATURES, "cosine"),
        Column(SPAN_FEATURES, "words"),
        abstention({"missing_names": -3.0, "top_cosine": 1.0}, 0.5),
    )
    answer = compose_answer(decide(analyse("Qu'a signé Tokaïev à Tokyo ?"), np.zeros(4, np.float32), cands, {}, reader=reader))
    assert answer.answer is None and answer.short is None
    assert answer.abstained_because is not None and "tokyo" in answer.abstained_because
    # A veto settles it alone, and is the reason given.
    vetoing = Reader(reader.sentences, reader.spans, abstention({}, 0.0, ("missing_names",)))
    vetoed = compose_answer(decide(analyse("Qu'a signé Tokaïev à Tokyo ?"), np.zeros(4, np.float32), cands, {}, reader=vetoing))
    assert vetoed.answer is None and vetoed.abstained_because is not None and "tokyo" in vetoed.abstained_because
    # Present names: the same reader answers.
    answered = compose_answer(decide(analyse("Qui a été reçu à Astana ?"), np.zeros(4, np.float32), cands, {}, reader=reader))
    assert answered.answer is not None and answered.abstained_because is None


def test_stop_words_alone_abstain_with_a_reason() -> None:
    cands = candidates_of("a", "Une phrase quelconque.")
    reader = Reader(Column(SENTENCE_FEATURES, "cosine"), Column(SPAN_FEATURES, "words"), None)
    answer = compose_answer(decide(analyse("le la les ?"), np.zeros(4, np.float32), cands, {}, reader=reader))
    assert answer.answer is None and answer.abstained_because


_words = st.sampled_from(
    ["Astana", "le", "16", "juin", "2025", "accords", "24", "Xi", "Jinping", "«", "»", ",", "l’", "3,5", "é"]
)
_sentence = st.lists(_words, min_size=1, max_size=15).map(lambda ws: " ".join(ws) + ".")


@settings(max_examples=60, deadline=None)
@given(
    sentences=st.lists(_sentence, min_size=1, max_size=5),
    offset=st.integers(min_value=0, max_value=50),
    column=st.sampled_from(SPAN_FEATURES),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_the_short_answer_is_exactly_the_article_text_between_its_offsets(
    sentences: list[str], offset: int, column: str, sign: float
) -> None:
    text = " ".join(sentences)
    article = " " * offset + text
    reader = Reader(Column(SENTENCE_FEATURES, "position"), Column(SPAN_FEATURES, column, sign), abstention({}, 0.0))
    query = analyse("Qui a signé 24 accords à Astana ?")
    answer = compose_answer(decide(query, np.zeros(4, np.float32), candidates_of("x", text, offset), {}, reader=reader))
    if answer.short is not None:
        assert answer.short.text == article[answer.short.start : answer.short.end]
        assert answer.short.text.strip() == answer.short.text != ""
        highlight = answer.citations[answer.short.citation - 1].highlight
        assert isinstance(highlight, Span)
        assert highlight.start <= answer.short.start < answer.short.end <= highlight.end


def test_the_policy_gives_the_sentence_and_the_abstention_to_the_rules() -> None:
    text = "Le sommet a eu lieu à Astana.\nLes deux chefs d'État ont signé 24 accords bilatéraux à Astana."
    cands = candidates_of("astana", text)
    query = analyse("Combien d'accords ont été signés à Astana ?")
    # A ranker that always takes the first sentence, and an abstention that never abstains.
    first = Column(SENTENCE_FEATURES, "position", -1.0)
    fitted = Reader(first, Column(SPAN_FEATURES, "type_match"), abstention({}, 0.0))
    assert "24 accords" not in (compose_answer(decide(query, np.zeros(4, np.float32), cands, {}, reader=fitted)).answer or "")
    by_rules = Reader(first, Column(SPAN_FEATURES, "type_match"), abstention({}, 0.0), Policy("rules", "rules"))
    answer = compose_answer(decide(query, np.zeros(4, np.float32), cands, {}, reader=by_rules))
    assert answer.answer is not None and "24 accords" in answer.answer
    # The short answer is taken from the sentence the rules chose.
    highlight = answer.citations[0].highlight
    assert answer.short is not None and highlight is not None
    assert highlight.start <= answer.short.start < answer.short.end <= highlight.end
    # The rules abstain on a name the passages never mention, with their own reason.
    tokyo = compose_answer(decide(analyse("Qu'a signé Tokaïev à Tokyo ?"), np.zeros(4, np.float32), cands, {}, reader=by_rules))
    assert tokyo.answer is None and tokyo.abstained_because is not None and "tokyo" in tokyo.abstained_because
