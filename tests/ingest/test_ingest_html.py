"""Saved news pages: the article text without the site's menus, banners and footers, plus metadata."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qa.core.errors import InputError
from qa.ingest import load_corpus, parse_html_file

PAGE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Le Kazakhstan signe 24 accords avec la Chine | Journal d'Asie centrale</title>
<link rel="canonical" href="https://exemple.org/monde/kazakhstan-chine-accords">
<meta property="og:title" content="Le Kazakhstan signe 24 accords avec la Chine">
<meta property="article:published_time" content="2025-06-17T08:30:00+02:00">
<meta name="description" content="Astana et Pékin renforcent leur coopération.">
</head>
<body>
<header><nav><ul>
<li><a href="/">Accueil</a></li><li><a href="/monde">Monde</a></li>
<li><a href="/eco">Économie</a></li><li><a href="/abonnement">S'abonner</a></li>
</ul></nav></header>
<div class="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience.
<button>Accepter</button></div>
<main>
<article>
<h1>Le Kazakhstan signe 24 accords avec la Chine</h1>
<p class="byline">Par Anna Petrova, publié le <time datetime="2025-06-17">17 juin 2025</time></p>
<p>La séquence diplomatique s'est ouverte le 16 juin 2025, à Astana, lorsque le président chinois
Xi Jinping a été reçu par Kassym-Jomart Tokaïev pour une visite d'État de deux jours.</p>
<p>Les deux chefs d'État ont alors signé 24 accords bilatéraux, couvrant l'énergie, les transports,
l'agriculture et le numérique. Les échanges commerciaux ont atteint 43,8 milliards de dollars en 2024.</p>
<p>« Notre partenariat est stratégique et durable », a déclaré le président kazakhstanais lors d'une
conférence de presse commune, en insistant sur le corridor de transport transcaspien.</p>
<p>Pour Astana, ces accords s'inscrivent dans une diplomatie multivectorielle qui cherche à équilibrer
les relations avec Moscou, Pékin, Washington et Bruxelles.</p>
</article>
<aside class="related"><h2>À lire aussi</h2><ul>
<li><a href="/a">Ouzbékistan : la croissance ralentit</a></li><li><a href="/b">Le rouble chute encore</a></li>
</ul></aside>
</main>
<footer><p>© 2025 Journal d'Asie centrale. Tous droits réservés.</p>
<ul><li><a href="/mentions">Mentions légales</a></li><li><a href="/contact">Contact</a></li></ul>
<p>Newsletter : inscrivez-vous pour recevoir nos articles.</p></footer>
</body></html>
"""


def test_news_page_text_and_metadata() -> None:
    article = parse_html_file(PAGE.encode("utf-8"), stem="kz-chine")
    assert article.id == "kz-chine"
    assert article.title == "Le Kazakhstan signe 24 accords avec la Chine"
    assert article.date == dt.date(2025, 6, 17)
    assert article.url == "https://exemple.org/monde/kazakhstan-chine-accords"
    assert article.lang == "fr"
    assert article.text.startswith("La séquence diplomatique s'est ouverte le 16 juin 2025, à Astana")
    assert "ont alors signé 24 accords bilatéraux" in article.text
    assert article.text.endswith("Washington et Bruxelles.")
    # One paragraph per <p>, separated by a blank line as in text files.
    assert article.text.count("\n\n") == 3


@pytest.mark.parametrize(
    "boilerplate",
    [
        "Accueil",
        "S'abonner",
        "cookies",
        "Accepter",
        "À lire aussi",
        "rouble",
        "Tous droits réservés",
        "Mentions légales",
        "Newsletter",
        "Journal d'Asie centrale",
    ],
)
def test_site_boilerplate_stays_out_of_the_text(boilerplate: str) -> None:
    assert boilerplate not in parse_html_file(PAGE.encode("utf-8"), stem="p").text


def test_a_page_in_its_declared_legacy_encoding() -> None:
    page = PAGE.replace('charset="utf-8"', 'charset="windows-1252"').replace("« ", '"').replace(" »", '"')
    article = parse_html_file(page.encode("cp1252"), stem="p")
    assert "Kassym-Jomart Tokaïev" in article.text


def test_a_page_without_date_metadata_gets_no_guessed_date() -> None:
    page = PAGE.replace('<meta property="article:published_time" content="2025-06-17T08:30:00+02:00">', "")
    page = page.replace('<time datetime="2025-06-17">17 juin 2025</time>', "hier")
    assert parse_html_file(page.encode(), stem="p").date is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"<html><body></body></html>", "no article text"),
        (b"\x00\x01\x02<html>", "binary file"),
    ],
)
def test_pages_without_an_article(raw: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_html_file(raw, stem="p")


def test_html_in_a_corpus_folder(tmp_path: Path) -> None:
    (tmp_path / "page.htm").write_text(PAGE, encoding="utf-8")
    (tmp_path / "vide.html").write_text("<html><body></body></html>", encoding="utf-8")
    articles, errors = load_corpus(tmp_path)
    assert [(a.id, a.source) for a in articles] == [("page", "page.htm")]
    assert [e.file for e in errors] == ["vide.html"]
