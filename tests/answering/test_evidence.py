"""Choosing the answering sentence and abstaining: answer types, dates, lists, local term weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from qa.answering.abstention import UNCALIBRATED, Archive, Bars
from qa.answering.answer import compose_answer, decide
from qa.answering.evidence import choose_sentence
from qa.core.types import Answer, Chunk, Passage
from qa.index.chunking import sentence_windows
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import analyse
from qa.text.dates import extract_dates
from qa.text.sentences import split_sentences


def answer_of(
    question: str,
    qvec: np.ndarray,
    cands: list[Candidate],
    vecs: dict[str, np.ndarray],
    bars: Bars = UNCALIBRATED,
    archive: Archive | None = None,
) -> Answer:
    """The answer step end to end over these candidates, as Engine.ask runs it."""
    return compose_answer(decide(analyse(question), qvec, cands, vecs, bars=bars, archive=archive))


def candidate(text: str, article: str = "a", cosine: float = 0.9) -> Candidate:
    sentences = tuple(split_sentences(text))
    dates = tuple(dict.fromkeys(m.value for m in extract_dates(text)))
    chunk = Chunk(article, 0, 0, len(text), text, sentences, dates)
    return Candidate(Passage(1, chunk, f"h-{article}-{len(text)}", None, None, None), cosine, cosine)


def flat_vectors(cands: list[Candidate]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every sentence equally close to the question: only what else the sentence offers decides."""
    q = np.array([1.0, 0.0], dtype=np.float32)
    out = {}
    for c in cands:
        n = len(c.passage.chunk.sentences)
        out[c.passage.hash] = np.tile(np.array([0.9, np.sqrt(1 - 0.81)], dtype=np.float32), (n, 1))
    return q, out


def chosen(question: str, cands: list[Candidate]) -> str:
    q, vecs = flat_vectors(cands)
    choice = choose_sentence(analyse(question), q, cands, vecs)
    assert choice is not None
    chunk = cands[choice.index].passage.chunk
    return chunk.text[choice.span.start - chunk.start : choice.span.end - chunk.start]


def test_the_sentence_naming_the_asked_date_wins() -> None:
    text = (
        "Le 16 juin 2025, Tokaïev a accueilli Xi Jinping à Astana. "
        "Le 30 août 2025, les deux dirigeants se sont retrouvés à Tianjin."
    )
    assert "Tianjin" in chosen("Où Tokaïev et Xi Jinping se sont-ils retrouvés le 30 août 2025 ?", [candidate(text)])
    assert "Astana" in chosen("Où Tokaïev et Xi Jinping se sont-ils retrouvés en juin 2025 ?", [candidate(text)])


def test_rare_question_terms_outweigh_the_subject_every_sentence_shares() -> None:
    text = (
        "Le Kazakhstan a fait de la diplomatie multivectorielle son credo. "
        "Le Kazakhstan poursuit la diplomatie multivectorielle avec Moscou. "
        "Ses objectifs sont au nombre de trois pour le Kazakhstan."
    )
    got = chosen("Quels sont les trois objectifs de la diplomatie multivectorielle du Kazakhstan ?", [candidate(text)])
    assert got.startswith("Ses objectifs")


def test_a_sentence_announcing_a_list_brings_the_list() -> None:
    text = (
        "Élaborée dans les années 1990, elle vise trois objectifs :\n\n"
        "• préserver sa souveraineté,\n\n• diversifier ses partenariats."
    )
    got = chosen("Quels objectifs vise-t-elle ?", [candidate(text)])
    assert "souveraineté" in got and "diversifier" in got


def test_abstains_when_the_answering_passage_is_about_another_period() -> None:
    june = candidate("Le 16 juin 2025, Tokaïev a accueilli Xi Jinping à Astana.", "june", 0.90)
    november = candidate("Le 6 novembre 2025, 17 milliards de dollars d’investissements ont été annoncés.", "nov", 0.91)
    q, vecs = flat_vectors([november, june])
    question = "Combien de dollars la Chine a-t-elle promis d'investir en juin 2025 ?"
    assert decide(analyse(question), q, [november, june], vecs).abstain
    asked = "Combien de dollars d'investissements ont été annoncés en novembre 2025 ?"
    answer = answer_of(asked, q, [november, june], vecs)
    assert answer.answer is not None and "17 milliards" in answer.answer


def test_abstains_when_a_well_known_name_is_absent_in_both_languages() -> None:
    cands = [candidate("Les deux pays ont signé 24 accords bilatéraux à Astana.", cosine=0.95)]
    q, vecs = flat_vectors(cands)
    assert answer_of("How many agreements did Kazakhstan sign with India?", q, cands, vecs).answer is None
    assert answer_of("How many agreements were signed in Astana?", q, cands, vecs).answer is not None


def test_english_names_reach_the_lexical_index_in_french() -> None:
    terms = analyse("What makes Kazakhstan attractive to the United States?").terms
    assert "etat" in terms and "unis" in terms
    assert "conseil" in analyse("Who presides the European Council?").terms


class FakeArchive:
    """An archive's words as a set: what the lexical index would answer, without one."""

    def __init__(self, words: set[str], absent: float = 0.0) -> None:
        self.words = words
        self.absent = absent

    def unheard(self, units: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
        return [unit for unit in units if not any(word in self.words for word in unit)]

    def absent_share(self, terms: Sequence[str]) -> float:
        return self.absent


def test_abstains_on_a_name_the_whole_archive_never_mentions() -> None:
    cands = [candidate("Tokaïev s’est rendu à Moscou les 11 et 12 novembre 2025.", cosine=0.95)]
    q, vecs = flat_vectors(cands)
    archive = FakeArchive({"moscou", "tokaiev", "pekin"})
    question = "Quand Tokaïev s'est-il rendu à Tokyo ?"
    bars = Bars({"fr": -1.0, "en": -1.0}, {"fr": -1.0, "en": -1.0})  # the sentence is close enough otherwise
    assert answer_of(question, q, cands, vecs, bars).answer is not None
    assert answer_of(question, q, cands, vecs, bars, archive).answer is None
    archive.words.add("tokyo")  # named elsewhere in the archive: the passages' silence is then the cosine bars' call
    assert answer_of(question, q, cands, vecs, bars, archive).answer is not None
    # An English capitalised word is often an ordinary word the French text says otherwise.
    assert answer_of("When did Tokayev go to Tokyo?", q, cands, vecs, bars, FakeArchive(set())).answer is not None


def test_abstains_when_the_archive_never_uses_the_words_the_question_hinges_on() -> None:
    cands = [candidate("Le Kazakhstan a échangé 46 milliards d’euros avec l’Union européenne en 2024.", cosine=0.95)]
    q, vecs = flat_vectors(cands)  # the sentence's cosine is 0.9
    question = "Quel climat le Kazakhstan a-t-il connu en 2024 ?"
    strict = Bars({"fr": -1.0, "en": -1.0}, {"fr": -1.0, "en": -1.0}, {"fr": (0.4, 0.95)})
    lenient = Bars({"fr": -1.0, "en": -1.0}, {"fr": -1.0, "en": -1.0}, {"fr": (0.4, 0.85)})
    assert answer_of(question, q, cands, vecs, strict, FakeArchive(set(), absent=0.5)).answer is None
    assert answer_of(question, q, cands, vecs, strict, FakeArchive(set(), absent=0.3)).answer is not None
    assert answer_of(question, q, cands, vecs, lenient, FakeArchive(set(), absent=0.5)).answer is not None
    english = "What was the climate of Kazakhstan in 2024?"  # no bar for English: its words are never in the archive
    assert answer_of(english, q, cands, vecs, strict, FakeArchive(set(), absent=1.0)).answer is not None


def test_an_amount_of_money_does_not_answer_a_population() -> None:
    cands = [candidate("Le Kazakhstan a échangé 46 milliards d’euros avec l’Union européenne en 2024.", cosine=0.95)]
    q, vecs = flat_vectors(cands)
    lenient = Bars({"fr": -1.0, "en": -1.0}, {"fr": -1.0, "en": -1.0})
    assert answer_of("Quelle est la population du Kazakhstan en 2024 ?", q, cands, vecs, lenient).answer is None
    assert answer_of("How many people lived in Kazakhstan in 2024?", q, cands, vecs, lenient).answer is None
    assert answer_of("Quel est le montant des échanges en 2024 ?", q, cands, vecs, lenient).answer is not None
    counted = [candidate("En 2024, le Kazakhstan comptait 20 millions d’habitants.", cosine=0.95)]
    q, vecs = flat_vectors(counted)
    assert answer_of("Quelle est la population du Kazakhstan en 2024 ?", q, counted, vecs, lenient).answer is not None


def test_a_long_sentence_counts_as_close_as_its_closest_window() -> None:
    text = (
        "À Samarcande, le Kazakhstan n’a pas assisté. "
        "Le 4 avril 2025, le Kazakhstan a pris part au premier sommet entre l’Union européenne et l’Asie centrale, "
        "tenu à Samarcande, en Ouzbékistan."
    )
    cand = candidate(text, cosine=0.5)
    q = np.array([1.0, 0.0], dtype=np.float32)

    def unit(cosine: float) -> np.ndarray:
        return np.array([cosine, np.sqrt(1 - cosine**2)], dtype=np.float32)

    # The short sentence is closer than the long one as a whole; the long one's last window is closest of all.
    sentences = {cand.passage.hash: np.stack([unit(0.65), unit(0.42)])}
    windows = sentence_windows(cand.passage.chunk)
    window_vectors = {cand.passage.hash: np.stack([unit(0.8 if i == len(windows) - 1 else 0.3) for i in range(len(windows))])}
    question = "Dans quel pays se trouve Samarcande ?"
    without = choose_sentence(analyse(question), q, [cand], sentences)
    with_windows = choose_sentence(analyse(question), q, [cand], sentences, window_vectors)
    assert without is not None and with_windows is not None
    assert text[without.span.start : without.span.end].startswith("À Samarcande")
    assert text[with_windows.span.start : with_windows.span.end].endswith("en Ouzbékistan.")
    assert with_windows.cosine == pytest.approx(0.8, abs=1e-6)
    # Window vectors that do not fit the chunk's windows (another chunking) are ignored, not misread.
    stale = {cand.passage.hash: window_vectors[cand.passage.hash][:-1]}
    ignored = choose_sentence(analyse(question), q, [cand], sentences, stale)
    assert ignored is not None and ignored.span == without.span
