"""Answer types: what a question asks for, and whether a sentence holds it."""

from __future__ import annotations

from qa.text.answer_types import answer_type, holds_type, money_excluded


def test_answer_types_come_from_question_words() -> None:
    assert answer_type("Combien d'accords ont été signés ?") == "number"
    assert answer_type("How much did Japan pledge?") == "number"
    assert answer_type("Combien de temps faut-il ?") is None  # a duration, often answered in words
    assert answer_type("Quand Tokaïev s'est-il rendu à Moscou ?") == "date"
    assert answer_type("In which decade was it developed?") == "date"
    assert answer_type("Où se sont-ils retrouvés ?") == "name"
    assert answer_type("Dans quel pays se trouve Samarcande ?") == "name"
    assert answer_type("What was signed in Astana?") is None


def test_digits_of_a_date_are_no_quantity() -> None:
    assert not holds_type("number", "La séquence s’est ouverte le 16 juin 2025, à Astana.", set())
    assert holds_type("number", "Ils ont signé 24 accords le 16 juin 2025.", set())
    assert holds_type("number", "Elle emploie des dizaines de milliers de personnes.", set())
    assert holds_type("date", "Élaborée dans les années 1990, elle repose sur trois objectifs.", set())
    assert holds_type("name", "Le sommet s’est tenu à Samarcande, en Ouzbékistan.", {"samarcande"})
    assert not holds_type("name", "Le sommet s’est tenu à Samarcande.", {"samarcande"})


def test_a_population_or_a_rate_asks_for_a_number() -> None:
    assert answer_type("Quelle est la population du Kazakhstan en 2024 ?") == "number"
    assert answer_type("Quel pourcentage de Mercure a pu être cartographié ?") == "number"
    assert answer_type("À quel âge est mort Georges Grossmith ?") == "number"
    assert answer_type("What share of its trade goes to the EU?") == "number"
    assert answer_type("Quelle est la tranche d'âge concernée ?") is None  # a range of ages, not "the age"


def test_money_does_not_answer_a_count() -> None:
    assert money_excluded("Quelle est la population du Kazakhstan en 2024 ?")
    assert money_excluded("Combien d'accords ont été signés ?")
    assert money_excluded("Combien y a-t-il d'habitants à Astana ?")
    assert money_excluded("How many people live in Astana?")
    assert not money_excluded("À combien s'élèvent les annonces d'investissements ?")
    assert not money_excluded("Combien de dollars la Chine a-t-elle promis ?")
    assert not money_excluded("Quel est le montant des investissements ?")
    assert not money_excluded("How much did Japan pledge?")


def test_an_amount_of_money_is_no_count() -> None:
    trade = "À l’image de ses 46 milliards d’euros d’échanges avec l’Union européenne en 2024, le Kazakhstan confirme sa place."
    assert holds_type("number", trade, set())
    assert not holds_type("number", trade, set(), money=False)  # 46 milliards is money, 2024 a date
    for amount in ("17 milliards de dollars", "3 000 €", "$5 million", "plusieurs millions d'euros", "€ 12,5 Md"):
        assert not holds_type("number", f"Ils ont annoncé {amount}.", set(), money=False), amount
    assert holds_type("number", "Ils ont signé 24 accords pour 17 milliards de dollars.", set(), money=False)
    assert holds_type("number", "Un quart des Chinois n’a pas accès à l’eau potable.", set(), money=False)
