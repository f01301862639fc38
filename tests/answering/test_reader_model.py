"""The fitted reader with the real model on hand-made passages: the sentence with the number, an absent fact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa.answering.reader import reader_for

pytestmark = pytest.mark.model

MOSQUES = """Réouverture des mosquées au Kazakhstan

Les mosquées du Kazakhstan ont rouvert leurs portes lundi, après deux mois de fermeture liée à l'épidémie.
Les fidèles devront porter un masque et apporter leur propre tapis de prière.
Les autorités ont limité le nombre de fidèles à trente par mosquée, et la prière du vendredi reste suspendue.
Le mufti a salué une décision « raisonnable » et appelé les croyants à la patience.
"""

STEPPE = """Une nouvelle ligne ferroviaire dans la steppe

Le gouvernement a inauguré jeudi une ligne de chemin de fer de 800 kilomètres entre Dostyk et Moïnty.
La ligne doit doubler la capacité de transit des marchandises entre la Chine et l'Europe.
Les travaux ont duré trois ans et coûté 1,2 milliard de dollars, selon le ministère des Transports.
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Any:
    from qa.core.config import Settings
    from qa.engine import Engine
    from qa.index.sync import sync_corpus

    base: Path = tmp_path_factory.mktemp("reader")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "mosquees.txt").write_text(MOSQUES, encoding="utf-8")
    (corpus / "rail.txt").write_text(STEPPE, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=base / "index")
    sync_corpus(corpus, settings.index_dir, encoder, progress=False)
    return Engine.open(settings, encoder)


def assert_quoted_exactly(engine: Any, answer: Any) -> None:
    """The short answer is exactly its citation's article text between its offsets."""
    article, _ = engine.get_article(answer.citations[answer.short.citation - 1].article_id)
    assert article.text[answer.short.start : answer.short.end] == answer.short.text


def test_the_default_model_has_a_fitted_reader(encoder: Any) -> None:
    assert reader_for(encoder.info.name) is not None


def test_a_number_question_finds_the_sentence_with_the_number(engine: Any) -> None:
    # Issue #17's own example: the rules prefer the first sentence (closer cosine, the question's words, and
    # « deux mois », a number too); the span reader, reading their best three, finds « à trente » among them.
    answer = engine.ask("Combien de fidèles sont admis dans chaque mosquée après la réouverture au Kazakhstan ?")
    assert answer.answer is not None and "trente" in answer.answer
    assert answer.short is not None and "trente" in answer.short.text
    assert_quoted_exactly(engine, answer)


def test_a_number_question_over_one_sentence_gets_the_number_as_its_short_answer(engine: Any) -> None:
    answer = engine.ask("Combien de kilomètres mesure la nouvelle ligne ferroviaire entre Dostyk et Moïnty ?")
    assert answer.answer is not None and "800 kilomètres" in answer.answer
    assert answer.short is not None and "800" in answer.short.text
    assert_quoted_exactly(engine, answer)


def test_an_absent_fact_abstains_with_a_reason(engine: Any) -> None:
    answer = engine.ask("Quel est le prix actuel du baril de pétrole kazakh ?")
    assert answer.answer is None and answer.short is None
    assert answer.abstained_because
