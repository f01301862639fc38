"""Text and Markdown files: front matter, body heuristics, normalisation and the reasons a file is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.core.errors import InputError
from qa.core.types import Article
from qa.ingest import (
    ARTICLE_ID_RE,
    article_filename,
    article_to_markdown,
    build_article,
    derive_title,
    parse_date,
    parse_text_file,
    validate_article_id,
)


def parse(text: str | bytes, stem: str = "doc", suffix: str = ".md") -> Article:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_text_file(raw, stem=stem, suffix=suffix)


def test_markdown_with_front_matter() -> None:
    article = parse(
        "---\n"
        "title: Le Kazakhstan et l’UE\n"
        "date: 2025-04-04\n"
        "url: https://exemple.fr/kz-ue\n"
        "lang: fr\n"
        "author: ignored\n"
        "---\n\n"
        "Le 4 avril 2025, le Kazakhstan a pris part au premier sommet.\n\nDeuxième paragraphe.\n"
    )
    assert article == Article(
        id="doc",
        text="Le 4 avril 2025, le Kazakhstan a pris part au premier sommet.\n\nDeuxième paragraphe.",
        title="Le Kazakhstan et l’UE",
        date=dt.date(2025, 4, 4),
        url="https://exemple.fr/kz-ue",
        lang="fr",
    )


def test_front_matter_id_wins_over_the_file_name() -> None:
    assert parse("---\nid: 42\n---\nTexte.", stem="not an id!").id == "42"
    assert parse("---\nid: kz-2025\n---\nTexte.").id == "kz-2025"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-19", dt.date(2025, 11, 19)),
        ("'2025-11-19'", dt.date(2025, 11, 19)),
        ("2025-11-19T08:30:00+01:00", dt.date(2025, 11, 19)),
        ("2025-11-19 08:30:00", dt.date(2025, 11, 19)),
        ("19 novembre 2025", dt.date(2025, 11, 19)),
        ("mercredi 19 novembre 2025", dt.date(2025, 11, 19)),
        ("November 19, 2025", dt.date(2025, 11, 19)),
        ("19/11/2025", dt.date(2025, 11, 19)),
        ("null", None),
        ("''", None),
    ],
)
def test_front_matter_dates(value: str, expected: dt.date | None) -> None:
    assert parse(f"---\ndate: {value}\n---\nTexte.").date == expected


def test_parse_date_accepts_date_objects() -> None:
    assert parse_date(dt.date(2025, 1, 2)) == dt.date(2025, 1, 2)
    assert parse_date(dt.datetime(2025, 1, 2, 23, 59)) == dt.date(2025, 1, 2)
    assert parse_date(None) is None
    assert parse_date("  ") is None


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "30 février 2025", "hier", "2025", "bientôt", 2025, True])
def test_parse_date_refuses_impossible_dates(value: object) -> None:
    with pytest.raises(InputError, match="impossible date"):
        parse_date(value)


def test_plain_text_without_any_header_is_all_body() -> None:
    article = parse("Un texte qui commence tout de suite. Et qui continue.", suffix=".txt")
    assert article.text == "Un texte qui commence tout de suite. Et qui continue."
    assert article.title == "Un texte qui commence tout de suite"
    assert article.date is None


def test_markdown_heading_is_the_title() -> None:
    article = parse("# Le titre\n\nLe corps du texte.")
    assert (article.title, article.text) == ("Le titre", "Le corps du texte.")


def test_title_line_then_date_line() -> None:
    article = parse("Un titre\nDate : 19 novembre 2025\n\nLe corps.", suffix=".txt")
    assert (article.title, article.date, article.text) == ("Un titre", dt.date(2025, 11, 19), "Le corps.")


def test_a_date_line_that_is_prose_stays_in_the_text() -> None:
    text = "Date limite : dépôt des dossiers avant la fin du mois.\nSuite du texte."
    article = parse(text, suffix=".txt")
    assert article.date is None
    assert article.text == text


def test_a_first_sentence_is_not_taken_for_a_title_line() -> None:
    text = "Le sommet s'est tenu à Samarcande.\nLes dirigeants ont signé."
    assert parse(text, suffix=".txt").text == text


def test_explicit_front_matter_values_switch_the_heuristics_off() -> None:
    article = parse("---\ntitle: null\ndate: null\n---\ndate 2025-11-19 Titre\nCorps.")
    assert article.title is None
    assert article.date is None
    assert article.text == "date 2025-11-19 Titre\nCorps."


def test_normalisation_bom_crlf_nfc_and_outer_whitespace() -> None:
    raw = "\ufeff  Titre\r\n\r\nCafe\u0301 cre\u0300me\r\nfin.  \r\n".encode()
    article = parse(raw, suffix=".txt")
    assert article.title == "Titre"
    assert article.text == "Café crème\nfin."


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\n", "empty file"),
        (b"---\ntitle: Rien\n---\n\n  \n", "empty text"),
        (b"PK\x03\x04\x00\x00binary", "binary file"),
        ("Texte en latin-1 : été".encode("latin-1"), "not UTF-8 text"),
        (b"---\ntitle: [unclosed\n---\nTexte.", "broken YAML front matter"),
        (b"---\n- a\n- b\n---\nTexte.", "broken YAML front matter"),
        (b"---\ndate: 2025-02-30\n---\nTexte.", "impossible date '2025-02-30'"),
        (b"date 2025-02-30 Texte.", "impossible date '2025-02-30'"),
        (b"---\nid: ../etc\n---\nTexte.", "invalid article id '../etc'"),
        (b"---\ntitle: [a, b]\n---\nTexte.", "title must be text"),
        (b"---\nurl: not a url\n---\nTexte.", "invalid url"),
    ],
)
def test_bad_files_are_refused_with_their_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason.replace("[", r"\[")):
        parse(raw)


def test_a_file_name_that_is_not_an_id_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="invalid article id 'mon article'"):
        parse("Texte.", stem="mon article")


@pytest.mark.parametrize("good", ["a", "000_2ce4f8cb43b28473", "x.y-z_1", "A" * 128, "a..b", "-x"])
def test_valid_ids(good: str) -> None:
    assert validate_article_id(good) == good
    assert ARTICLE_ID_RE.fullmatch(good)


@pytest.mark.parametrize("bad", ["", ".", "..", ".hidden", "a b", "a/b", "é", "A" * 129, "a\n"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InputError, match="invalid article id"):
        validate_article_id(bad)


def test_derive_title_keeps_short_sentences_whole() -> None:
    assert derive_title("Le Kazakhstan signe 24 accords. Suite.") == "Le Kazakhstan signe 24 accords"
    assert derive_title("M. Guyot a rappelé les chiffres de 2019. Suite.") == ("M. Guyot a rappelé les chiffres de 2019")
    assert derive_title("Pourquoi Astana regarde vers Bruxelles ? Analyse.") == ("Pourquoi Astana regarde vers Bruxelles ?")
    assert derive_title("   ") is None


def test_derive_title_cuts_long_sentences_at_a_word() -> None:
    sentence = "mot " * 60 + "fin."
    title = derive_title(sentence)
    assert title is not None
    assert len(title) <= 80
    assert title.endswith("mot…")


def test_derive_title_cuts_a_single_huge_word() -> None:
    title = derive_title("x" * 500)
    assert title == "x" * 79 + "…"


def test_article_to_markdown_reads_back_identically() -> None:
    article = build_article(
        "kz-ue",
        "Premier paragraphe.\r\n\r\n---\n\nAprès une règle horizontale.",
        title="2025-01-01",
        date="19 novembre 2025",
        url="https://exemple.fr/a?b=c#d",
        lang="fr",
    )
    assert article.text == "Premier paragraphe.\n\n---\n\nAprès une règle horizontale."
    stored = article_to_markdown(article)
    assert stored.startswith("---\ntitle: '2025-01-01'\ndate: 2025-11-19\n")
    assert parse(stored, stem="kz-ue") == article
    assert article_filename("kz-ue") == "kz-ue.md"


def test_build_article_derives_a_missing_title() -> None:
    article = build_article("a", "Une phrase courte. Une autre.")
    assert article.title == "Une phrase courte"
    assert parse(article_to_markdown(article), stem="a") == article


def test_article_to_markdown_refuses_articles_that_would_not_read_back() -> None:
    with pytest.raises(InputError, match="text is not normalised"):
        article_to_markdown(Article(id="a", text="  padded  "))
    with pytest.raises(InputError, match="empty text"):
        article_to_markdown(Article(id="a", text=""))
    with pytest.raises(InputError, match="invalid article id"):
        article_to_markdown(Article(id="../a", text="x"))
    with pytest.raises(InputError, match="date is not normalised"):
        article_to_markdown(Article(id="a", text="x", date=dt.datetime(2025, 1, 1, 10, 0)))


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d\u2060", "\ufeff \u200b\n\u00a0", "\u200e\u200f"])
def test_a_text_of_invisible_characters_only_is_no_article(text: str) -> None:
    with pytest.raises(InputError, match="no visible character"):
        build_article("ghost", text)
    assert build_article("seen", "\u200bUn mot.").text == "\u200bUn mot."  # invisible ones beside text are kept
