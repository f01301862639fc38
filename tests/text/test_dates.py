"""Dates in French and English text, the periods questions name, and their overlap."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.text.dates import DateMention, DateRange, extract_dates, overlaps, query_dates, value_range

D = dt.date
FR_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def values(text: str, reference: dt.date | None = None) -> list[str]:
    return [m.value for m in extract_dates(text, reference=reference)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16 juin 2025", ["2025-06-16"]),
        ("La séquence s'est ouverte le 16 juin 2025, à Astana.", ["2025-06-16"]),
        ("le 30 août 2025", ["2025-08-30"]),
        ("le 15 aout 2025", ["2025-08-15"]),
        ("les 11 et 12 novembre 2025", ["2025-11-11", "2025-11-12"]),
        ("11–12 novembre 2025", ["2025-11-11", "2025-11-12"]),
        ("Moscou (11–12 novembre 2025) : consolider", ["2025-11-11", "2025-11-12"]),
        ("du 3 au 5 mars 2025", ["2025-03-03", "2025-03-04", "2025-03-05"]),
        ("du 30 juin au 2 juillet 2025", ["2025-06-30", "2025-07-01", "2025-07-02"]),
        ("juin 2025", ["2025-06"]),
        ("depuis juin 2025", ["2025-06"]),
        ("à la mi-juin 2025", ["2025-06"]),
        ("FÉVRIER 2024", ["2024-02"]),
        ("juin-juillet 2025", ["2025-06", "2025-07"]),
        ("entre juin et août 2025", ["2025-06", "2025-07", "2025-08"]),
        ("en 2024", ["2024"]),
        ("En 2013, une mère", ["2013"]),
        ("depuis 2015", ["2015"]),
        ("jusqu'en 2030", ["2030"]),
        ("d'ici 2030", ["2030"]),
        ("fin 2024", ["2024"]),
        ("mi-2025", ["2025"]),
        ("l'année 2019", ["2019"]),
        ("Parasite (2019)", ["2019"]),
        ("de 2019 à 2021", ["2019", "2020", "2021"]),
        ("entre 2012 et 2014", ["2012", "2013", "2014"]),
        ("Barack Obama (2009-2010)", ["2009", "2010"]),
        ("en 2019 et 2021", ["2019", "2021"]),
        ("1er mai 2024", ["2024-05-01"]),
        ("le 1ᵉʳ mai 2024", ["2024-05-01"]),
        ("le 3 sept. 2025", ["2025-09-03"]),
        ("le 3 janv. 2025", ["2025-01-03"]),
        ("2025-11-19", ["2025-11-19"]),
        ("date 2025-11-19 Depuis", ["2025-11-19"]),
        ("le 19/11/2025", ["2025-11-19"]),
        ("le 29 février 2024", ["2024-02-29"]),
        # English
        ("June 2025", ["2025-06"]),
        ("June 16, 2025", ["2025-06-16"]),
        ("16 June 2025", ["2025-06-16"]),
        ("June 16th, 2025", ["2025-06-16"]),
        ("June 16-17, 2025", ["2025-06-16", "2025-06-17"]),
        ("the 11th and 12th of November 2025", ["2025-11-11", "2025-11-12"]),
        ("Sept. 3, 2025", ["2025-09-03"]),
        ("in 2024", ["2024"]),
        ("since 2019", ["2019"]),
        ("by 2030", ["2030"]),
        ("late 2024", ["2024"]),
        ("May 2025", ["2025-05"]),
        ("between 2019 and 2021", ["2019", "2020", "2021"]),
    ],
)
def test_recognised(text: str, expected: list[str]) -> None:
    assert values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12 000 euros",
        "page 2025",
        "COVID-19",
        "G20",
        "le G7 de 2019",  # "de" alone is too loose a cue
        "31 février 2025",
        "le 29 février 2023",
        "32 mai 2025",
        "2025-13-01",
        "may 2025",  # English month names must be capitalised
        "Ils étaient sept 2000 à défiler",
        "depuis 1500 ans",
        "en 2000 exemplaires",
        "in 2000 cases",
        "un budget de 2025,5 millions",
        "1 2025 000",
        "dans les années 1990",
        "the 1990s",
        "COP21 et ISO 9001",
        "l'article 1240 du Code civil",
        "Il a marqué 2019 points.",
        "le 9 juin",  # no year and no reference date
        "mars",
        "Un total de 2 025 personnes",
    ],
)
def test_not_dates(text: str) -> None:
    assert values(text) == []


def test_spans_point_at_the_date() -> None:
    text = "Tokaïev s'est rendu à Moscou les 11 et 12 novembre 2025 pour une visite."
    mentions = extract_dates(text)
    assert mentions == [
        DateMention(33, 55, "2025-11-11"),
        DateMention(33, 55, "2025-11-12"),
    ]
    assert text[33:55] == "11 et 12 novembre 2025"


def test_several_dates_in_order() -> None:
    text = (
        "Depuis juin 2025, il voyage. Le 16 juin 2025 à Astana, le 30 août 2025 à Tianjin, "
        "puis Washington (6 novembre 2025). En 2024, rien."
    )
    assert values(text) == ["2025-06", "2025-06-16", "2025-08-30", "2025-11-06", "2024"]
    starts = [m.start for m in extract_dates(text)]
    assert starts == sorted(starts)


def test_year_inferred_from_a_reference_date() -> None:
    assert values("le 9 juin", reference=D(2020, 7, 2)) == ["2020-06-09"]
    assert values("le 20 décembre", reference=D(2021, 1, 10)) == ["2020-12-20"]
    assert values("on June 16", reference=D(2025, 6, 20)) == ["2025-06-16"]
    assert values("les 11 et 12 novembre", reference=D(2025, 11, 19)) == ["2025-11-11", "2025-11-12"]
    assert values("le 29 février", reference=D(2025, 3, 1)) == ["2024-02-29"]
    # an explicit year always wins over the reference
    assert values("le 9 juin 2018", reference=D(2020, 7, 2)) == ["2018-06-09"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened in June 2025?", [DateRange(D(2025, 6, 1), D(2025, 6, 30))]),
        ("Que s'est-il passé en juin 2025 ?", [DateRange(D(2025, 6, 1), D(2025, 6, 30))]),
        ("Qu'a fait Tokaïev en février 2024 ?", [DateRange(D(2024, 2, 1), D(2024, 2, 29))]),
        ("Who won in 2025?", [DateRange(D(2025, 1, 1), D(2025, 12, 31))]),
        ("Qui a gagné l'Euro 2016 ?", [DateRange(D(2016, 1, 1), D(2016, 12, 31))]),
        ("What happened on 16 June 2025?", [DateRange(D(2025, 6, 16), D(2025, 6, 16))]),
        ("Que s'est-il passé le 16 juin 2025 ?", [DateRange(D(2025, 6, 16), D(2025, 6, 16))]),
        ("What happened on June 16, 2025?", [DateRange(D(2025, 6, 16), D(2025, 6, 16))]),
        ("Where was he on the 11th and 12th of November 2025?", [DateRange(D(2025, 11, 11), D(2025, 11, 12))]),
        ("Où était-il les 11 et 12 novembre 2025 ?", [DateRange(D(2025, 11, 11), D(2025, 11, 12))]),
        ("Que s'est-il passé entre 2019 et 2021 ?", [DateRange(D(2019, 1, 1), D(2021, 12, 31))]),
        ("Compare 2019 and 2021", [DateRange(D(2019, 1, 1), D(2019, 12, 31)), DateRange(D(2021, 1, 1), D(2021, 12, 31))]),
        ("en juin 2025, et le 16 juin 2025 ?", [DateRange(D(2025, 6, 1), D(2025, 6, 30))]),
        ("What did he do last autumn?", []),
        ("Qu'a-t-il fait l'an dernier ?", []),
        ("Combien coûte le plan de 12 000 euros ?", []),
        ("Que dit la page 2025 ?", []),
        ("Combien de cas de COVID-19 au G20 ?", []),
        ("Combien de personnes en 2000 exemplaires ?", []),
    ],
)
def test_query_dates(question: str, expected: list[DateRange]) -> None:
    assert query_dates(question) == expected


@pytest.mark.parametrize(
    ("value", "rng", "expected"),
    [
        ("2025-06", DateRange(D(2025, 6, 16), D(2025, 6, 16)), True),
        ("2025-06", DateRange(D(2025, 7, 1), D(2025, 7, 31)), False),
        ("2025", DateRange(D(2025, 6, 1), D(2025, 6, 30)), True),
        ("2025", DateRange(D(2024, 12, 31), D(2024, 12, 31)), False),
        ("2024", DateRange(D(2024, 12, 31), D(2025, 1, 1)), True),
        ("2025-06-16", DateRange(D(2025, 6, 1), D(2025, 6, 30)), True),
        ("2025-06-16", DateRange(D(2025, 6, 17), D(2025, 6, 30)), False),
        ("2025-11-12", DateRange(D(2025, 11, 11), D(2025, 11, 12)), True),
    ],
)
def test_overlaps(value: str, rng: DateRange, expected: bool) -> None:
    assert overlaps(value, rng) is expected


def test_value_range() -> None:
    assert value_range("2024") == DateRange(D(2024, 1, 1), D(2024, 12, 31))
    assert value_range("2024-02") == DateRange(D(2024, 2, 1), D(2024, 2, 29))
    assert value_range("2024-02-03") == DateRange(D(2024, 2, 3), D(2024, 2, 3))


@given(st.text(max_size=300))
def test_any_text_gives_valid_mentions(text: str) -> None:
    for mention in extract_dates(text, reference=D(2025, 1, 1)):
        assert 0 <= mention.start < mention.end <= len(text)
        first, last = value_range(mention.value)
        assert first <= last
    for rng in query_dates(text):
        assert rng.first_day <= rng.last_day


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)))
def test_round_trip_of_written_days(day: dt.date) -> None:
    fr_month = FR_MONTHS[day.month - 1]
    en_month = EN_MONTHS[day.month - 1]
    assert values(f"le {day.day} {fr_month} {day.year}.") == [day.isoformat()]
    assert values(f"on {en_month} {day.day}, {day.year}.") == [day.isoformat()]
    assert values(f"le {day.isoformat()}") == [day.isoformat()]
    assert query_dates(f"Que s'est-il passé le {day.day} {fr_month} {day.year} ?") == [DateRange(day, day)]


_DATEY = st.lists(
    st.sampled_from(
        [
            "16",
            "1er",
            "11",
            "et",
            "–",
            "-",
            " ",
            "  ",
            "\n",
            "juin",
            "June",
            "SEPTEMBER",
            "through",
            "de l'année",
            "2025",
            "2019",
            "(",
            ")",
            "en",
            "à partir de",
            "mi-",
            "of",
            ",",
            "x",
            "é",
            "/",
            ".",
            "0",
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(_DATEY, st.text(max_size=200)))
def test_fast_scan_finds_what_a_plain_scan_finds(text: str) -> None:
    from qa.text.dates import _DATE_RE, _matches

    assert [m.span() for m in _matches(text)] == [m.span() for m in _DATE_RE.finditer(text)]
