"""The span reader in the answer step, scripted: when it overrules the rules' sentence, and how its margin abstains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answering.answer import compose_answer, decide
from qa.answering.reader import Policy, Reader
from qa.answering.reading import Short, reader_abstains
from qa.answering.span_reader import AbstainParams, ChoiceParams, Found
from qa.core.types import Span
from qa.retrieval.query import analyse
from tests.answering.test_reader import candidates_of

TEXT = (
    "Les mosquées du Kazakhstan ont rouvert leurs portes lundi après deux mois de fermeture. "
    "Les autorités ont limité le nombre de fidèles à trente par mosquée."
)
QUESTION = "Combien de fidèles sont admis dans chaque mosquée au Kazakhstan ?"


class Scripted:
    """A span reader whose margin for each window is set by a word the window holds; it points at that word."""

    def __init__(
        self,
        margins: dict[str, float],
        choice: ChoiceParams,
        abstention: AbstainParams | None = None,
        answerable: Any = None,
        chooser: Any = None,
    ) -> None:
        self.margins, self.choice = margins, choice
        self.abstention = abstention or AbstainParams()
        self.answerable = answerable
        self.chooser = chooser
        self.read_texts: list[str] = []

    def read(self, questions: Sequence[str], texts: Sequence[str]) -> list[Found]:
        self.read_texts.extend(texts)
        out = []
        for text in texts:
            word = next(w for w in self.margins if w in text)
            at = text.index(word)
            out.append(Found(at, at + len(word), self.margins[word], 0.0))
        return out


def reader_with(span_reader: Scripted) -> Reader:
    class Never:
        def predict(self, data: object, **kwargs: object) -> object:
            raise AssertionError("the LightGBM models are not read when the span reader answers")

    return Reader(Never(), Never(), None, Policy("rules", "rules"), span_reader)  # type: ignore[arg-type]


def ask(span_reader: Scripted) -> Any:
    query = analyse(QUESTION)
    cands = candidates_of("mosquees", TEXT, offset=7)
    return compose_answer(decide(query, np.zeros(4, np.float32), cands, {}, reader=reader_with(span_reader)))


def test_the_rules_first_sentence_stands_when_the_reader_reads_one() -> None:
    scripted = Scripted({"deux mois": 1.0, "trente": 9.0}, ChoiceParams(k=1, delta=0.0))
    answer = ask(scripted)
    assert len(scripted.read_texts) == 1
    assert answer.answer is not None and "rouvert" in answer.answer  # the rules prefer the first sentence
    assert answer.short is not None and answer.short.text == "deux mois"


def test_another_sentence_wins_only_by_delta() -> None:
    kept = ask(Scripted({"deux mois": 1.0, "trente": 4.0}, ChoiceParams(k=2, delta=4.0)))
    assert "rouvert" in kept.answer and kept.short.text == "deux mois"
    overruled = ask(Scripted({"deux mois": 1.0, "trente": 5.5}, ChoiceParams(k=2, delta=4.0)))
    assert "trente" in overruled.answer and overruled.short.text == "trente"
    # The short answer's offsets are its article's, whichever sentence answers.
    cited = overruled.citations[overruled.short.citation - 1]
    assert TEXT[overruled.short.start - 7 : overruled.short.end - 7] == "trente"
    assert cited.highlight is not None and cited.highlight.start <= overruled.short.start


def test_a_low_margin_abstains_with_the_readers_reason() -> None:
    answer = ask(Scripted({"deux mois": -6.0, "trente": -7.0}, ChoiceParams(2, 4.0), AbstainParams(-4.0, 5.0)))
    assert answer.answer is None and answer.short is None
    assert "reader finds no answer" in answer.abstained_because and "-6.0" in answer.abstained_because


@pytest.mark.parametrize(
    ("rules", "margin", "abstains"),
    [(None, 0.0, False), (None, -5.0, True), ("the passages found never mention Tokyo", 0.0, True), ("no", 6.0, False)],
)
def test_the_rules_abstention_stands_below_high_and_the_margin_alone_below_low(
    rules: str | None, margin: float, abstains: bool
) -> None:
    short = Short(0, Span(0, 1), margin)
    verdict, reason = reader_abstains(AbstainParams(-4.0, 5.0), rules, short)
    assert verdict is abstains
    assert (reason is not None) is abstains
    if abstains and rules:
        assert reason == rules


@given(st.floats(-20, 20), st.booleans())
def test_the_default_abstention_params_leave_the_rules_alone(margin: float, by_rules: bool) -> None:
    assert AbstainParams().abstains(by_rules, margin) is by_rules


def test_no_short_answer_counts_as_no_margin() -> None:
    assert reader_abstains(AbstainParams(-4.0, 5.0), None, None)[0] is True


@given(st.integers(0, 40), st.sampled_from(["deux mois", "trente", "Kazakhstan", "mosquée"]), st.floats(-3, 12))
def test_the_short_answer_is_exactly_its_articles_text(offset: int, word: str, margin: float) -> None:
    margins = {w: (margin if w == word else 0.0) for w in ("deux mois", "trente", "Kazakhstan", "mosquée")}
    # The scripted reader points at the first of its words a window holds: put the chosen one first.
    ordered = {word: margins.pop(word), **margins}
    query = analyse(QUESTION)
    cands = candidates_of("mosquees", TEXT, offset=offset)
    article = " " * offset + TEXT
    answer = compose_answer(
        decide(query, np.zeros(4, np.float32), cands, {}, reader=reader_with(Scripted(ordered, ChoiceParams(2, 1.0))))
    )
    assert answer.short is not None
    assert article[answer.short.start : answer.short.end] == answer.short.text
