"""Sentence splitting: French and English news conventions, and invariants on any text."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text.sentences import split_sentences

SEEDS = pathlib.Path(__file__).resolve().parents[2] / "corpus"

# Words, French/English punctuation, quotes, bullets, line breaks, emoji and combining marks.
_PIECES = st.sampled_from(
    [
        "M.",
        "Mme",
        "U.S.",
        "J.-C.",
        "av.",
        "1.5",
        "12 000",
        "«",
        "»",
        "“",
        "”",
        "•",
        "...",
        "…",
        "?",
        "!",
        ".",
        "Le",
        "la",
        "Paris",
        "été",
        "e\u0301",
        "👍🏽",
        "👨‍👩‍👧",
        "\n",
        "\n\n",
        "\r\n",
        " ",
        "\u202f",
        "\xa0",
        "\t",
        "x" * 50,
        "Pyrénées.Alors",
        "(",
        ")",
        ":",
        ";",
        ",",
        "—",
        "\u2028",
        "Ω",
        "Я",
    ]
)
NEWSY = st.lists(_PIECES, max_size=60).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), NEWSY)


def texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M. Dupont est arrivé. Mme Durand aussi.", ["M. Dupont est arrivé.", "Mme Durand aussi."]),
        ("Né en 52 av. J.-C. à Rome. Il meurt.", ["Né en 52 av. J.-C. à Rome.", "Il meurt."]),
        (
            "Les U.S. Marines sont là. Le taux est de 1.5 %. Il y a 12 000 personnes.",
            ["Les U.S. Marines sont là.", "Le taux est de 1.5 %.", "Il y a 12 000 personnes."],
        ),
        ("Il a dit : « C'est fini. » Puis il est parti.", ["Il a dit : « C'est fini. »", "Puis il est parti."]),
        ("« Vraiment ? » demande-t-il. Oui.", ["« Vraiment ? » demande-t-il.", "Oui."]),
        (
            "Mr. Smith went to Washington. He said hi... Then left! Really? Yes.",
            ["Mr. Smith went to Washington.", "He said hi...", "Then left!", "Really?", "Yes."],
        ),
        ("Dr. J. K. Rowling wrote it. It sold.", ["Dr. J. K. Rowling wrote it.", "It sold."]),
        ("Titre sans point\nLe texte suit. Et encore.", ["Titre sans point", "Le texte suit.", "Et encore."]),
        (
            "Objectifs :\n\n• préserver la souveraineté,\n\n• diversifier.",
            ["Objectifs :", "• préserver la souveraineté,", "• diversifier."],
        ),
        (
            "Pyrénées.Alors que les estives ont commencé.Une aide",
            ["Pyrénées.", "Alors que les estives ont commencé.", "Une aide"],
        ),
        ("une ligne coupée au\nmilieu. Suite.", ["une ligne coupée au\nmilieu.", "Suite."]),
        ("Vraiment\u202f? Oui\u202f!", ["Vraiment\u202f?", "Oui\u202f!"]),
        ("(Voir plus haut.) Ensuite, rien.", ["(Voir plus haut.)", "Ensuite, rien."]),
        (
            "Il cite “A New Era in U.S.–Kazakhstan Relations”. Puis part.",
            ["Il cite “A New Era in U.S.–Kazakhstan Relations”.", "Puis part."],
        ),
        ("Visitez www.lemonde.fr ou 3.405 km. Fin.", ["Visitez www.lemonde.fr ou 3.405 km.", "Fin."]),
        ("Il est né en 1952. Elle aussi.", ["Il est né en 1952.", "Elle aussi."]),
        ("  \n\n  ", []),
        ("", []),
    ],
)
def test_examples(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed articles not available")
def test_seed_articles_headings_and_bullets_are_sentences() -> None:
    text = (SEEDS / "000_2ce4f8cb43b28473.txt").read_text(encoding="utf-8")
    got = texts(text)
    assert "Une constante stratégique : la diplomatie multivectorielle" in got
    assert "• diversifier ses partenariats économiques, sécuritaires et politiques," in got
    assert "Moscou (11–12 novembre 2025) : consolider une relation historique" in got
    assert any(s.startswith("Un communiqué officiel, intitulé “A New Era in U.S.–Kazakhstan") for s in got)
    assert all("\n" not in s for s in got)


@settings(max_examples=300)
@given(ANY_TEXT)
def test_spans_are_ordered_trimmed_and_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    covered: set[int] = set()
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        covered.update(range(span.start, span.end))
        previous_end = span.end
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())
