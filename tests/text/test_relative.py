"""Relative dates: no reading from a look-alike letter, a compound number, an imprecise anchor or out of range."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.core.types import Article
from qa.text.relative import relative_date
from qa.timeline.events import article_events

TUESDAY = dt.date(2019, 4, 16)


@pytest.mark.parametrize("sentence", ["Il est venu hıer.", "Troıs jours plus tard, rien.", "LUNDİ, il a parlé."])
def test_a_look_alike_letter_reads_nothing_and_breaks_nothing(sentence: str) -> None:
    assert relative_date(sentence, published=TUESDAY, previous="2019-04-01") is None


@pytest.mark.parametrize(
    "sentence", ["Dix-huit mois plus tard, rien.", "Vingt et un ans après, rien.", "1 000 jours après, la fin."]
)
def test_the_count_is_a_whole_number_not_its_last_word(sentence: str) -> None:
    assert relative_date(sentence, published=None, previous="2019-04-01") is None


def test_a_shift_finer_than_its_anchor_is_no_date_but_a_coarser_one_is() -> None:
    # "six mois plus tard" after "en 2019" may be 2019 or 2020: no date; three years later is 2022.
    assert relative_date("Six mois plus tard, rien.", published=None, previous="2019") is None
    later = relative_date("Trois ans plus tard, rien.", published=None, previous="2019")
    assert later is not None and later.value == "2022"


def test_a_chain_of_shifts_out_of_range_dates_nothing_and_keeps_the_rest() -> None:
    text = "Le roi est né en 1500.\n\nLa ville fut fondée 999 ans avant.\n\nLe site était occupé 999 ans avant."
    events = article_events(Article("a", text, "T", TUESDAY))
    assert [e.date for e in events] == ["1500"]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Trois jours avant, rien.", "2019-03-29"),  # counted from the previous date, 2019-04-01
        ("Trois jours avant l'élection, rien.", None),  # counted from the election, which it names
        ("Deux ans après sa mort, rien.", None),
        ("Il a 20 ans après tout.", None),  # an age
        ("La veille, il était là.", "2019-03-31"),
        ("La veille sanitaire alerte.", None),
        ("Next Tuesday, talks resume.", "2019-04-23"),  # the coming one, not this very day
        ("Les soldes du Black Friday.", None),
        ("Selon le Mail on Sunday, rien.", None),
        ("Lundi, il a dit que l'an dernier était dur.", "2019-04-15"),  # the first phrase of the sentence
    ],
)
def test_what_a_phrase_counts_from_and_what_is_no_date(sentence: str, expected: str | None) -> None:
    found = relative_date(sentence, published=TUESDAY, previous="2019-04-01")
    assert (found.value if found else None) == expected
