"""Chunking: exact offsets, coverage and size on any text; sentence- and paragraph-aware cuts."""

from __future__ import annotations

import datetime as dt
import itertools
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.core.types import Article, Chunk
from qa.index.chunking import CHUNK_OVERLAP, CHUNK_SIZE, WINDOW_STEP, WINDOW_WORDS, chunk_article, sentence_windows
from qa.text.sentences import split_sentences

SEEDS = pathlib.Path(__file__).resolve().parents[2] / "corpus"

_PIECES = st.sampled_from(
    [
        "M. Dupont",
        "arrive.",
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
        "\t",
        "x" * 120,
        "Pyrénées.Alors",
        "«",
        "»",
        "•",
        "…",
        "?",
        "!",
        ".",
        ",",
        ";",
        "—",
        "\u2028",
        "16 juin 2025",
        "les 11 et 12 novembre 2025",
        "en 2024",
        "aaa aaa",
    ]
)
NEWSY = st.lists(_PIECES, max_size=200).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=400), NEWSY, st.text(alphabet="ab \n", max_size=400))


def check_chunks(text: str, chunks: list[Chunk], size: int) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    covered = bytearray(len(text))
    for i, chunk in enumerate(chunks):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert len(chunk.text) <= size
        if i:
            assert chunks[i - 1].start < chunk.start
            assert chunks[i - 1].end < chunk.end
        covered[chunk.start : chunk.end] = b"\x01" * len(chunk.text)
        previous_end = chunk.start
        for sentence in chunk.sentences:
            assert previous_end <= sentence.start < sentence.end <= chunk.end
            previous_end = sentence.end
    assert all(covered[i] for i, c in enumerate(text) if not c.isspace())


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.integers(1, 120), st.integers(0, 119))
def test_invariants_on_any_text(text: str, size: int, overlap: int) -> None:
    overlap = min(overlap, size - 1)
    chunks = chunk_article(Article(id="a", text=text), size=size, overlap=overlap)
    check_chunks(text, chunks, size)
    assert chunk_article(Article(id="a", text=text), size=size, overlap=overlap) == chunks


@settings(max_examples=50, deadline=None)
@given(NEWSY)
def test_invariants_with_default_sizes(text: str) -> None:
    text *= 5
    check_chunks(text, chunk_article(Article(id="a", text=text)), CHUNK_SIZE)


def test_edge_texts() -> None:
    for text in ["", " ", "\n\n\n", "x", "x" * 5000, " x" * 3000, "😀" * 2000, "e\u0301" * 1500]:
        chunks = chunk_article(Article(id="a", text=text))
        check_chunks(text, chunks, CHUNK_SIZE)
    assert chunk_article(Article(id="a", text=" \n ")) == []


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        chunk_article(Article(id="a", text="x"), size=100, overlap=100)
    with pytest.raises(ValueError):
        chunk_article(Article(id="a", text="x"), size=0, overlap=0)


def _paragraphs(n: int) -> str:
    sentence = "Le ministre a présenté le plan aux élus de la région, qui l'ont jugé insuffisant. "
    return "\n\n".join(f"Titre {i}\n\n" + sentence * 3 + f"Phrase numéro {i}." for i in range(n))


def test_cuts_fall_on_sentence_boundaries() -> None:
    text = _paragraphs(12)
    starts = {s.start for s in split_sentences(text)}
    ends = {s.end for s in split_sentences(text)}
    chunks = chunk_article(Article(id="a", text=text))
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.start in starts
        assert chunk.end in ends


def test_overlap_repeats_the_sentence_before_a_cut() -> None:
    sentence = "Cette phrase ordinaire compte un peu moins de quatre-vingts caractères au total. "
    text = "".join(sentence.replace("Cette", f"Phrase{i}") for i in range(40))
    chunks = chunk_article(Article(id="a", text=text), size=500, overlap=150)
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # they overlap, by whole sentences
        assert after.text.startswith("Phrase")


def test_long_sentence_is_cut_at_clauses_then_words() -> None:
    text = "Au début, " + ", ".join(f"clause numéro {i} du texte" for i in range(60)) + "."
    chunks = chunk_article(Article(id="a", text=text), size=300, overlap=60)
    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(",")


def test_sentences_and_dates_are_attached() -> None:
    text = (
        "Moscou (11–12 novembre 2025) : une visite\n\n"
        "Tokaïev s'est rendu à Moscou les 11 et 12 novembre 2025. Il y a signé des accords.\n\n"
        "Le 9 juin, un autre sommet a eu lieu."
    )
    (chunk,) = chunk_article(Article(id="k", text=text, date=dt.date(2025, 11, 19)))
    assert chunk.article_id == "k"
    assert chunk.dates == ("2025-11-11", "2025-11-12", "2025-06-09")
    assert [text[s.start : s.end] for s in chunk.sentences] == [
        "Moscou (11–12 novembre 2025) : une visite",
        "Tokaïev s'est rendu à Moscou les 11 et 12 novembre 2025.",
        "Il y a signé des accords.",
        "Le 9 juin, un autre sommet a eu lieu.",
    ]


def test_sentences_are_clipped_to_their_chunk() -> None:
    text = "Court. " + "mot " * 400 + "fin."
    for chunk in chunk_article(Article(id="a", text=text), size=200, overlap=50):
        assert chunk.sentences
        assert all(chunk.start <= s.start < s.end <= chunk.end for s in chunk.sentences)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed corpus not available")
def test_seed_article() -> None:
    text = (SEEDS / "000_2ce4f8cb43b28473.txt").read_text(encoding="utf-8")
    chunks = chunk_article(Article(id="seed", text=text))
    check_chunks(text, chunks, CHUNK_SIZE)
    assert 5 <= len(chunks) <= 15
    with_june_16 = [c for c in chunks if "2025-06-16" in c.dates]
    assert with_june_16 and all("16 juin 2025" in c.text for c in with_june_16)
    assert CHUNK_OVERLAP < CHUNK_SIZE


def check_windows(chunk: Chunk) -> None:
    """Windows tile each long sentence word by word: WINDOW_WORDS words, WINDOW_STEP apart, the last one at its end."""
    windows = sentence_windows(chunk)
    for position, sentence in enumerate(chunk.sentences):
        words = chunk.text[sentence.start - chunk.start : sentence.end - chunk.start].split()
        mine = [span for p, span in windows if p == position]
        if len(words) <= WINDOW_WORDS:
            assert mine == []
            continue
        texts = [chunk.text[w.start - chunk.start : w.end - chunk.start] for w in mine]
        for i, text in enumerate(texts):
            assert text.split() == words[i * WINDOW_STEP : i * WINDOW_STEP + WINDOW_WORDS]
        assert texts[-1].split()[-1] == words[-1]
        assert all(sentence.start <= w.start < w.end <= sentence.end for w in mine)
    assert [p for p, _ in windows] == sorted(p for p, _ in windows)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_windows_tile_long_sentences(text: str) -> None:
    for chunk in chunk_article(Article(id="a", text=text * 3), size=300, overlap=60):
        check_windows(chunk)


def test_windows_of_a_seed_sentence() -> None:
    text = (
        "Le 4 avril 2025, le Kazakhstan a pris part au premier sommet entre l’Union européenne et l’Asie centrale, "
        "tenu à Samarcande, en Ouzbékistan. Bref."
    )
    (chunk,) = chunk_article(Article(id="a", text=text))
    windows = sentence_windows(chunk)
    assert {p for p, _ in windows} == {0}  # "Bref." is too short to need any
    texts = [text[w.start : w.end] for _, w in windows]
    assert texts[0] == "Le 4 avril 2025, le Kazakhstan a pris part au"
    assert texts[-1].endswith("tenu à Samarcande, en Ouzbékistan.")
