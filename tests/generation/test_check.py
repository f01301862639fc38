"""The check of generated sentences, on hand-made passages: citations, names, numbers, dates and language."""

from __future__ import annotations

import datetime as dt

from qa.core.types import Citation
from qa.generation.check import check, generated_sentences, sentence_language


def passage(n: int, text: str) -> Citation:
    return Citation(n, f"a{n}", None, dt.date(2025, 11, 19), None, text, 0, len(text), 1.0)


ASTANA = passage(
    1, "Le 16 juin 2025, à Astana, Tokaïev a accueilli Xi Jinping. Les deux chefs d'État ont signé 24 accords bilatéraux."
)
TIANJIN = passage(2, "Le 30 août 2025, les deux dirigeants se sont retrouvés à Tianjin en marge du sommet de l'OCS.")
PASSAGES = [ASTANA, TIANJIN]


def verdicts(text: str, language: str = "en") -> list[tuple[str, tuple[int, ...], str | None]]:
    return [(c.text, c.citations, c.dropped_because) for c in check(text, PASSAGES, language)]


def test_a_sentence_whose_facts_are_in_the_passage_it_cites_is_kept() -> None:
    [(_, cites, dropped)] = verdicts("Tokayev and Xi Jinping signed 24 bilateral agreements in Astana on June 16, 2025 [1].")
    assert cites == (1,) and dropped is None


def test_a_number_the_passage_does_not_give_is_dropped() -> None:
    [(_, _, dropped)] = verdicts("Tokayev and Xi Jinping signed 25 agreements in Astana [1].")
    assert dropped == "'25' is not in [1]"


def test_a_wrong_citation_is_corrected_to_the_passages_that_hold_the_sentence() -> None:
    [(text, cites, dropped)] = verdicts("Tokayev met Xi Jinping in Tianjin [1].")
    assert (text, cites, dropped) == ("Tokayev met Xi Jinping in Tianjin [1][2].", (1, 2), None)
    [(text, cites, dropped)] = verdicts("The two leaders met in Tianjin on August 30, 2025 [1].")
    assert (text, cites, dropped) == ("The two leaders met in Tianjin on August 30, 2025 [2].", (2,), None)


def test_a_name_no_given_passage_holds_is_dropped() -> None:
    [(_, _, dropped)] = verdicts("Tokayev met Putin in Tianjin [2].")
    assert dropped == "'putin' is not in [2]"


def test_a_date_the_passage_does_not_give_is_dropped() -> None:
    [(_, _, dropped)] = verdicts("They met in Astana on June 17, 2025 [1].")
    assert dropped == "a date it gives is not in [1]"


def test_a_sentence_in_the_other_language_is_dropped() -> None:
    [(_, _, dropped)] = verdicts("Tokaïev et Xi Jinping ont signé 24 accords à Astana [1].", "en")
    assert dropped == "it is in French, not English"


def test_a_bare_citation_or_number_is_dropped() -> None:
    assert [d for _, _, d in verdicts("[1]")] == ["it says nothing but a citation or a number"]
    assert [d for _, _, d in verdicts("24 [1].")] == ["it says nothing but a citation or a number"]


def test_a_citation_to_a_passage_not_given_is_dropped() -> None:
    [(_, _, dropped)] = verdicts("Tokayev welcomed Xi Jinping in Astana [3].")
    assert dropped == "it cites [3], which is not one of the passages given"


def test_an_uncited_sentence_gets_the_passage_that_holds_it_or_the_two_that_do() -> None:
    [(text, cites, dropped)] = verdicts("Tokayev welcomed Xi Jinping in Astana.")
    assert (text, cites, dropped) == ("Tokayev welcomed Xi Jinping in Astana [1].", (1,), None)
    [(text, cites, dropped)] = verdicts("Tokayev met Xi Jinping in Tianjin on August 30, 2025.")
    assert (cites, dropped) == ((1, 2), None) and text.endswith("[1][2].")
    [(_, cites, dropped)] = verdicts("Tokayev met Putin in Moscow.")
    assert cites == () and dropped == "it cites no passage"


def test_a_sentence_with_nothing_to_check_must_share_a_word_with_its_passage() -> None:
    [(_, _, dropped)] = verdicts("Les deux chefs d'État ont signé des accords [1].", "fr")
    assert dropped is None
    [(_, _, dropped)] = verdicts("Le temps était très beau ce jour-là [1].", "fr")
    assert dropped == "none of its words is in [1]"


def test_citations_after_the_stop_belong_to_the_sentence_before() -> None:
    assert generated_sentences("They signed 24 agreements. [1] They met in Tianjin. [2]") == [
        ("They signed 24 agreements [1].", (1,)),
        ("They met in Tianjin [2].", (2,)),
    ]
    assert generated_sentences("Both met [1, 2].") == [("Both met [1, 2].", (1, 2))]


def test_sentence_language() -> None:
    assert sentence_language("They signed the agreements in Astana") == "en"
    assert sentence_language("Ils ont signé les accords à Astana") == "fr"
    assert sentence_language("Xi Jinping, Astana, 2025") is None
