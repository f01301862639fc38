"""The two seed articles in corpus/: kept byte for byte, and read with their quirks handled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qa.core.types import Article
from qa.ingest import DERIVED_TITLE_MAX, load_corpus, parse_text_file

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
SHARED_SEEDS = REPO.parent / "shared" / "data" / "seed-articles"
SEED_000 = "000_2ce4f8cb43b28473"
SEED_003 = "003_f24ee3bdac4f2389"


def _parse(stem: str) -> Article:
    return parse_text_file((CORPUS / f"{stem}.txt").read_bytes(), stem=stem, suffix=".txt")


def test_seed_000_date_prefix_becomes_the_date_and_a_short_title_is_derived() -> None:
    article = _parse(SEED_000)
    assert article.id == SEED_000
    assert article.date == dt.date(2025, 11, 19)
    assert article.text.startswith("Depuis juin 2025, le président kazakhstanais")
    assert "2025-11-19" not in article.text
    assert article.title is not None
    assert article.title.startswith("Depuis juin 2025")
    assert len(article.title) <= DERIVED_TITLE_MAX
    assert article.title.endswith("…")
    # Cut at a word boundary: the word before "…" is a whole word of the first sentence.
    assert article.text.startswith(article.title[:-1])
    assert article.text[len(article.title) - 1] == " "


def test_seed_003_title_line_becomes_the_title_and_the_subtitle_stays() -> None:
    article = _parse(SEED_003)
    assert article.id == SEED_003
    assert article.title == "Entre minerais et géopolitique, le Kazakhstan trace sa voie avec l’UE"
    assert article.text.startswith("Kassym-Jomart Tokaïev au sommet UE-Asie centrale\n\nLe 4 avril 2025")
    assert article.date is None


def test_the_corpus_folder_loads_both_seeds_without_errors() -> None:
    articles, errors = load_corpus(CORPUS)
    assert errors == []
    by_id = {article.id: article for article in articles}
    assert {SEED_000, SEED_003} <= set(by_id)
    assert by_id[SEED_000].source == f"{SEED_000}.txt"
    for article in by_id.values():
        assert article.text == article.text.strip()
        assert "\r" not in article.text


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="shared/data is not beside this checkout")
@pytest.mark.parametrize("stem", [SEED_000, SEED_003])
def test_seeds_are_copied_byte_for_byte(stem: str) -> None:
    name = f"{stem}.txt"
    assert (CORPUS / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()
