"""Files cut short while being written: an unterminated front matter is a bad file, not an article."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.core.errors import InputError
from qa.ingest import article_to_markdown, build_article, parse_text_file


@pytest.mark.parametrize(
    "raw",
    [
        b"---\n",
        b"---\n\n",
        b"---\ntitle: Nantes",
        b"---\ntitle: Nantes\ndate: 2026-02-02\nLe 2 f\xc3\xa9v",
        b"--- \r\nTitle: x\r\n",
        b"----\n\n  url: https://exemple.fr\n",
    ],
)
def test_unterminated_front_matter_is_refused_with_its_reason(raw: bytes) -> None:
    with pytest.raises(InputError, match="unterminated front matter"):
        parse_text_file(raw, stem="doc", suffix=".md")


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        # A rule above prose is not a header: the file is read as it is, as before.
        (b"-----\nUn filet, puis du texte.\nSuite.", "-----\nUn filet, puis du texte.\nSuite."),
        (b"---\ntitle: x\n---\nCorps.", "Corps."),
    ],
)
def test_closed_front_matter_and_rules_still_read(raw: bytes, text: str) -> None:
    assert parse_text_file(raw, stem="doc", suffix=".md").text == text


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=3, max_value=400))  # "-" or "--" alone is just text
def test_a_stored_article_cut_anywhere_in_its_header_is_refused(cut: int) -> None:
    """What the API writes, cut at any byte inside its front matter: an error, never a garbled article."""
    article = build_article(
        "kz", "Le 16 juin 2025, à Astana, 24 accords.", title="Astana", date="2025-06-17", url="https://e.fr/a"
    )
    stored = article_to_markdown(article).encode("utf-8")
    header_end = stored.index(b"\n---\n", 3) + len(b"\n---")  # through the closing line: then the text is empty
    raw = stored[: min(cut, header_end)]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # cut inside a character: reported as not UTF-8, tested elsewhere
    with pytest.raises(InputError):
        parse_text_file(raw, stem="kz", suffix=".md")
