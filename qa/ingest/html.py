"""Saved web pages (.html, .htm): the article body and metadata extracted by trafilatura."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from qa.core.errors import InputError
from qa.core.types import Article
from qa.ingest.common import (
    build_article,
    check_not_binary,
    clean_lang,
    clean_title,
    clean_url,
    parse_date,
    validate_article_id,
)

HTML_SUFFIXES: tuple[str, ...] = (".html", ".htm")

_T = TypeVar("_T")


def parse_html_file(raw: bytes, *, stem: str) -> Article:
    """Extract the main text of a news page (no menus, footers or "read also" boxes) into an Article.

    The id is the file stem; title, date, canonical URL and <html lang> come from the page when it has
    them. Raises InputError when there is no article text to find.
    """
    validate_article_id(stem)
    check_not_binary(raw)
    try:
        page: str | bytes = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        page = raw  # trafilatura then honours the page's own <meta charset>
    data, lang = _extract(page)

    text = data.get("text") or ""
    if not isinstance(text, str) or not text.strip():
        raise InputError("no article text found in the HTML page")
    title = _lenient(clean_title, data.get("title"))
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    # trafilatura keeps the <h1> as the first line; the title is already metadata, the body starts after.
    if title and len(paragraphs) > 1 and clean_title(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]

    return build_article(
        stem,
        # One paragraph per line in trafilatura's output; a blank line between them, as in .txt files.
        "\n\n".join(paragraphs),
        title=title,
        date=_lenient(parse_date, data.get("date")),
        url=_lenient(clean_url, data.get("url")),
        lang=_lenient(clean_lang, lang or data.get("language")),
    )


def _extract(page: str | bytes) -> tuple[dict[str, Any], str | None]:
    """trafilatura's metadata and text as a dict, and the <html lang> attribute."""
    # trafilatura (with lxml, htmldate, justext) takes ~0.2 s to import: only when a page is met.
    try:
        import trafilatura
        from trafilatura.utils import load_html
    except ImportError as exc:
        # e.g. jusText needing lxml_html_clean with lxml >= 5.2: one broken install must not stop a corpus run.
        raise InputError(f"cannot read HTML: trafilatura does not import ({exc})") from None

    try:
        tree = load_html(page)
        if tree is None:
            raise InputError("not an HTML page")
        lang = tree.get("lang")
        document = trafilatura.bare_extraction(
            tree,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # A publication date, not the last modification, and never one guessed from the prose.
            date_extraction_params={"original_date": True, "extensive_search": False},
        )
    except InputError:
        raise
    except Exception as exc:  # a third-party parser on arbitrary pages: one odd page must not stop a run
        raise InputError(f"cannot extract the HTML page: {type(exc).__name__}: {exc}") from None
    if document is None:
        raise InputError("no article text found in the HTML page")
    # trafilatura 2.x returns a Document, 1.x a dict.
    data: dict[str, Any] = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    return data, lang if isinstance(lang, str) else None


def _lenient(clean: Callable[[object], _T | None], value: object) -> _T | None:
    """Metadata read off a page is a hint: when it is malformed, drop it rather than the article."""
    try:
        return clean(value)
    except InputError:
        return None
