"""Property tests: stored articles read back exactly, and no input bytes crash the text parser."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.core.errors import InputError
from qa.core.types import Article
from qa.ingest import (
    DERIVED_TITLE_MAX,
    article_to_markdown,
    build_article,
    derive_title,
    normalize_text,
    parse_date,
    parse_html_file,
    parse_record,
    parse_text_file,
)

# Text that looks like what users paste: letters, punctuation, newlines (\r too), odd Unicode.
_ALPHABET = st.characters(codec="utf-8")
_texts = st.text(_ALPHABET, max_size=400) | st.sampled_from(
    [
        "---\ntitle: x\n---\nbody",
        "date 2025-11-19 Depuis juin 2025, un texte.",
        "Un titre\nUn sous-titre\n\nLe corps.",
        "# Titre\n\nCorps",
        "e\u0301t\u00e9\r\nligne\rsuite",
        " \ufeffbom inside",
    ]
)
_titles = st.none() | st.text(_ALPHABET, max_size=200) | st.sampled_from(["null", "yes", "2025-01-01", "- x", "a: b"])
_urls = (
    st.none()
    | st.text(st.characters(codec="ascii", exclude_characters=" "), max_size=60)
    | st.just("https://exemple.fr/article?id=1#é")
)
_langs = st.none() | st.sampled_from(["fr", "en", "en-GB", "pt_BR", "", "French", "x y"])
_ids = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}", fullmatch=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(article_id=_ids, text=_texts, title=_titles, date=st.none() | st.dates(), url=_urls, lang=_langs)
@example(article_id="a", text="Texte.", title=None, date=dt.date(1, 1, 1), url=None, lang=None)
def test_built_article_round_trips_through_markdown(
    article_id: str, text: str, title: str | None, date: dt.date | None, url: str | None, lang: str | None
) -> None:
    try:
        article = build_article(article_id, text, title=title, date=date, url=url, lang=lang)
    except InputError as exc:
        # The only reasons a field set cannot become an article, each said plainly.
        assert any(
            reason in str(exc)
            for reason in ("empty text", "no visible character", "NUL", "surrogate", "invalid url", "invalid lang")
        ), exc
        return
    stored = article_to_markdown(article).encode("utf-8")
    assert parse_text_file(stored, stem=article_id, suffix=".md") == article


@settings(max_examples=200, deadline=None)
@given(text=_texts, title=_titles, date=st.none() | st.dates() | st.datetimes(), url=_urls, lang=_langs)
def test_any_article_round_trips_or_is_refused_clearly(
    text: str, title: str | None, date: dt.date | None, url: str | None, lang: str | None
) -> None:
    article = Article(id="x1", text=text, title=title, date=date, url=url, lang=lang)
    try:
        stored = article_to_markdown(article)
    except InputError as exc:
        assert str(exc)
        return
    assert parse_text_file(stored.encode("utf-8"), stem="x1", suffix=".md") == article


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | _texts.map(lambda s: s.encode("utf-8", "surrogatepass")))
@example(raw=b"---\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n---\nx")
@example(raw=b"---\ndate: !!timestamp 2025-02-30\n---\nx")
@example(raw=b"---\n!!binary zz: 1\n---\nx")
@example(raw=b"---\n? [1]\n: 2\n---\nx")
@example(raw=b"---\ntitle: [a, b]\n---\nx")
@example(raw=b"---\nid: 1.5\n---\nx")
@example(raw=b"date 2025-13-45 texte")
@example(raw="Date : 31 février 2025\ntexte".encode())
def test_parse_text_file_only_raises_input_error(raw: bytes) -> None:
    try:
        article = parse_text_file(raw, stem="doc", suffix=".txt")
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert article.text and article.text == normalize_text(article.text)


@settings(deadline=None)
@given(text=_texts)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\r" not in once


@settings(deadline=None)
@given(text=st.text(_ALPHABET, min_size=1, max_size=2000))
def test_derived_title_is_short_and_one_line(text: str) -> None:
    title = derive_title(normalize_text(text))
    if title is None:
        # Nothing visible to make a title from: only spaces and control characters.
        assert not "".join(ch for ch in text if ch.isprintable()).strip()
    else:
        assert 0 < len(title) <= DERIVED_TITLE_MAX
        assert "\n" not in title and title == title.strip()


@settings(deadline=None)
@given(value=st.text(max_size=60) | st.integers() | st.floats() | st.booleans() | st.none())
def test_parse_date_returns_a_date_or_raises_input_error(value: object) -> None:
    try:
        result = parse_date(value)
    except InputError as exc:
        assert str(exc).startswith("impossible date")
        return
    assert result is None or isinstance(result, dt.date)


@pytest.mark.parametrize("day", [dt.date(2025, 11, 19), dt.date(1, 1, 1), dt.date(9999, 12, 31)])
def test_dates_survive_markdown(day: dt.date) -> None:
    article = build_article("d", "Texte.", date=day)
    assert parse_text_file(article_to_markdown(article).encode(), stem="d", suffix=".md").date == day


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_records = st.fixed_dictionaries(
    {},
    optional={
        key: _json_values | st.text(max_size=80) for key in ("id", "title", "date", "url", "lang", "text", "article", "heading")
    },
)


@settings(max_examples=200, deadline=None)
@given(record=_records | _json_values, raw=st.binary(max_size=60))
def test_parse_record_only_raises_input_error(record: object, raw: bytes) -> None:
    for line in (json.dumps(record), raw):
        try:
            article = parse_record(line)
        except InputError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert article.text == normalize_text(article.text) and article.text


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(lambda s: f"<html><p>{s}</p></html>".encode()))
def test_parse_html_file_only_raises_input_error(raw: bytes) -> None:
    try:
        article = parse_html_file(raw, stem="page")
    except InputError as exc:
        assert str(exc)
    else:
        assert article.text == normalize_text(article.text) and article.text
