"""Events found in articles: French and English dates, spans of days, periods and relative dates left out,
one event per date in an article, the same event merged across articles, exact offsets."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.core.errors import InputError
from qa.core.types import Article
from qa.timeline.events import Timeline, archive_events, article_events, select_events


def article(text: str, article_id: str = "a", date: dt.date | None = dt.date(2025, 11, 19)) -> Article:
    return Article(article_id, text, "T", date, None, None, f"{article_id}.md")


def test_french_and_english_dates_at_their_precision() -> None:
    text = (
        "Le 4 avril 2025, le sommet s'est tenu à Samarcande. On 6 November 2025, Tokayev went to Washington. "
        "En 2024, les échanges ont atteint 46 milliards. En mars 2023, un accord a été signé."
    )
    found = {(e.date, e.precision) for e in article_events(article(text))}
    assert found == {("2025-04-04", "day"), ("2025-11-06", "day"), ("2024", "year"), ("2023-03", "month")}


def test_a_span_of_days_is_one_event_from_its_first_to_its_last_day() -> None:
    (event,) = article_events(article("Tokaïev s'est rendu à Moscou les 11 et 12 novembre 2025 pour une visite d'État."))
    assert (event.date, event.date_end, event.precision) == ("2025-11-11", "2025-11-12", "day")


def test_periods_and_relative_dates_date_no_event() -> None:
    text = "Depuis juin 2025, il voyage beaucoup. Trois mois plus tard, ils se sont revus. Since May 2024 it has grown."
    assert article_events(article(text)) == []


def test_a_relative_date_is_read_from_the_previous_dated_sentence_and_marked() -> None:
    text = (
        "Le 4 avril 2025, le sommet s'est tenu à Samarcande. Moins de trois mois plus tard, ils se sont revus. "
        "Le 11 novembre 2025, il arrive à Moscou. Deux jours plus tard, il signe. Le lendemain, il repart."
    )
    events = {(e.date, e.date_end): e for e in article_events(article(text))}
    within = events[("2025-04", "2025-07")]
    assert within.resolved is not None and within.precision == "month"
    assert (within.resolved.phrase, within.resolved.anchor, within.resolved.anchor_date) == (
        "Moins de trois mois plus tard",
        "previous",
        "2025-04-04",
    )
    later = events[("2025-11-13", None)]
    assert later.resolved is not None and later.resolved.anchor_date == "2025-11-11" and later.precision == "day"
    # Chained: "le lendemain" counts from the date just resolved.
    assert events[("2025-11-14", None)].resolved is not None
    assert events[("2025-04-04", None)].resolved is None


def test_a_relative_date_is_read_from_the_publication_in_french_and_english() -> None:
    # Published on Wednesday 19 November 2025.
    text = (
        "Lundi, le président a reçu son homologue. L'an dernier, les échanges ont doublé. On Friday, talks began. "
        "Mercredi, le ministre a parlé. Mercredi dernier, il a signé."
    )
    found = {(e.date, e.resolved.anchor if e.resolved else None) for e in article_events(article(text))}
    # "Mercredi" in Wednesday's paper is that very day; "mercredi dernier" the one before.
    assert found == {
        ("2025-11-17", "publication"),
        ("2024", "publication"),
        ("2025-11-14", "publication"),
        ("2025-11-19", "publication"),
        ("2025-11-12", "publication"),
    }
    english = "Two days later, they met. Last year, trade doubled."
    found = {(e.date, e.precision) for e in article_events(article("On 6 November 2025, Tokayev flew. " + english))}
    assert found == {("2025-11-06", "day"), ("2025-11-08", "day"), ("2024", "year")}


def test_without_its_anchor_a_relative_date_dates_nothing() -> None:
    # No dated sentence before, no publication date: nothing to count from.
    text = "Trois mois plus tard, ils se sont revus. Lundi, il a signé. L'an dernier, rien."
    assert article_events(article(text, date=None)) == []
    # A habit is no date, and a written date wins over a relative one in the same sentence.
    assert article_events(article("La prière du vendredi reste suspendue. Le lundi, il nage.")) == []
    (event,) = article_events(article("Moins de trois mois plus tard, le 30 août 2025, ils se sont retrouvés."))
    assert (event.date, event.resolved) == ("2025-08-30", None)


def test_a_day_without_a_year_takes_the_year_of_the_publication() -> None:
    (event,) = article_events(article("Le 9 juin, le ministre a annoncé un plan.", date=dt.date(2025, 6, 12)))
    assert event.date == "2025-06-09"


def test_a_heading_and_the_sentence_under_it_are_one_event_the_longer_kept() -> None:
    heading = "Washington (6 novembre 2025) : un partenariat"
    text = heading + "\n\nLe 6 novembre 2025, Tokaïev s'est rendu à Washington pour le sommet C5+1."
    (event,) = article_events(article(text))
    assert event.sources[0].text.startswith("Le 6 novembre 2025, Tokaïev")


def test_one_event_reported_by_two_articles_is_listed_once_citing_both() -> None:
    one = article("Le 16 juin 2025, à Astana, Tokaïev a accueilli Xi Jinping pour le sommet Chine–Asie centrale.", "one")
    two = article("Le 16 juin 2025, Xi Jinping a été accueilli à Astana par Tokaïev, au sommet Chine–Asie centrale.", "two")
    other = article("Le 16 juin 2025, la banque centrale a relevé ses taux d'intérêt de deux points.", "three")
    events = archive_events([one, two, other]).events
    assert sorted(len(e.sources) for e in events) == [1, 2]
    merged = next(e for e in events if len(e.sources) == 2)
    assert {s.article_id for s in merged.sources} == {"one", "two"}


def test_events_come_in_date_order_and_filter_by_period_and_query() -> None:
    text = (
        "Le 30 août 2025, ils se sont retrouvés à Tianjin. Le 4 avril 2025, sommet à Samarcande. "
        "Le 6 novembre 2025, visite à Washington. Les 11 et 12 novembre 2025, il était à Moscou."
    )
    events = archive_events([article(text)])
    assert [e.date for e in events.events] == ["2025-04-04", "2025-08-30", "2025-11-06", "2025-11-11"]
    assert [e.date for e in select_events(events, date_from="2025-05", date_to="2025-08")] == ["2025-08-30"]
    assert [e.date for e in select_events(events, date_from="2025-08-30")] == ["2025-08-30", "2025-11-06", "2025-11-11"]
    assert [e.date for e in select_events(events, date_from="2025-11-12", date_to="2025-11-30")] == ["2025-11-11"]
    assert [e.date for e in select_events(events, query="Que s'est-il passé à Tianjin ?")] == ["2025-08-30"]
    assert [e.date for e in select_events(events, limit=1)] == ["2025-04-04"]
    assert select_events(events, query="Tokyo") == []
    # An English name finds its French form.
    assert [e.date for e in select_events(events, query="What happened in Moscow?")] == ["2025-11-11"]


_DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31))


@settings(max_examples=100, deadline=None)
@given(
    spans=st.lists(st.tuples(_DAYS, st.integers(0, 90)), max_size=30),
    period=st.tuples(_DAYS, st.integers(0, 120)),
)
def test_the_period_cut_keeps_exactly_the_events_sharing_a_day_with_it(
    spans: list[tuple[dt.date, int]], period: tuple[dt.date, int]
) -> None:
    from qa.core.types import Event, EventSource

    source = EventSource("a", None, None, 0, 1, "x")
    events = [Event(d.isoformat(), (d + dt.timedelta(days=n)).isoformat() if n else None, "day", (source,)) for d, n in spans]
    first, last = period[0], period[0] + dt.timedelta(days=period[1])
    got = select_events(Timeline.of(events), date_from=first.isoformat(), date_to=last.isoformat(), limit=100)
    expected = [
        e
        for e in Timeline.of(events).events
        if dt.date.fromisoformat(e.date) <= last and first <= dt.date.fromisoformat(e.date_end or e.date)
    ]
    assert got == expected[:100]


@pytest.mark.parametrize(
    ("date_from", "date_to", "says"),
    [("2025-13", None, "not a real date"), ("25-06", None, "not YYYY"), ("2025-06-31", None, "not a real date"),
     ("2025-09", "2025-08", "reversed"), (None, "juin 2025", "not YYYY")],
)  # fmt: skip
def test_a_bad_period_is_refused_naming_it(date_from: str | None, date_to: str | None, says: str) -> None:
    with pytest.raises(InputError, match=says):
        select_events(Timeline.of([]), date_from=date_from, date_to=date_to)
    with pytest.raises(InputError, match="limit"):
        select_events(Timeline.of([]), limit=0)


_SENTENCES = st.sampled_from(
    [
        "Le 4 avril 2025, un sommet s'est tenu.",
        "Rien ne s'est passé.",
        "On 6 November 2025, he went there.",
        "Les 11 et 12 novembre 2025, une visite.",
        "En 2024, les échanges ont crû.",
        "Depuis juin 2025, il voyage.",
        "« Le 1er mai 2025 », a-t-il dit.",
        "Deux jours plus tard, il signe.",
        "Lundi, il a reçu son homologue.",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_SENTENCES, st.sampled_from([" ", "\n", "\n\n", "  \u00a0"])), max_size=12))
def test_every_source_is_exactly_its_article_text_between_its_offsets(parts: list[tuple[str, str]]) -> None:
    text = "".join(sentence + gap for sentence, gap in parts)
    a = article(text)
    for event in article_events(a):
        for source in event.sources:
            assert a.text[source.start : source.end] == source.text
            assert event.date[:4] in ("2024", "2025")


def test_an_event_of_two_articles_renders_as_the_api_says() -> None:
    from qa.render import event_to_dict

    one = article("Le 16 juin 2025, à Astana, Tokaïev a accueilli Xi Jinping pour le sommet Chine–Asie centrale.", "one")
    two = article("Le 16 juin 2025, Xi Jinping a été accueilli à Astana par Tokaïev, au sommet Chine–Asie centrale.", "two")
    (event,) = archive_events([one, two]).events
    shown = event_to_dict(event)
    first, other = event.sources
    assert (shown["article_id"], shown["start"], shown["end"], shown["text"]) == ("one", first.start, first.end, first.text)
    assert shown["published"] == "2025-11-19" and shown["title"] == "T"
    assert shown["also_in"] == [{"article_id": "two", "start": other.start, "end": other.end}]
