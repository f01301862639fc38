"""Reading a corpus folder (.txt, .md, .jsonl, .jsonl.gz, .html) into normalised Articles and FileErrors."""

from __future__ import annotations

from qa.ingest.common import (
    ARTICLE_ID_RE,
    DERIVED_TITLE_MAX,
    build_article,
    derive_title,
    normalize_text,
    parse_date,
    validate_article_id,
)
from qa.ingest.corpus import CORPUS_SUFFIXES, MAX_FILE_BYTES, corpus_suffix, iter_corpus, load_corpus
from qa.ingest.html import HTML_SUFFIXES, parse_html_file
from qa.ingest.jsonl import JSONL_SUFFIXES, parse_record
from qa.ingest.text import TEXT_SUFFIXES, article_filename, article_to_markdown, parse_text_file

__all__ = [
    "ARTICLE_ID_RE",
    "CORPUS_SUFFIXES",
    "DERIVED_TITLE_MAX",
    "HTML_SUFFIXES",
    "JSONL_SUFFIXES",
    "MAX_FILE_BYTES",
    "TEXT_SUFFIXES",
    "article_filename",
    "article_to_markdown",
    "build_article",
    "corpus_suffix",
    "derive_title",
    "iter_corpus",
    "load_corpus",
    "normalize_text",
    "parse_date",
    "parse_html_file",
    "parse_record",
    "parse_text_file",
    "validate_article_id",
]
