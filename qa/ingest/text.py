"""Plain-text and Markdown articles (.txt, .md), with optional YAML front matter."""

from __future__ import annotations

import re
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from qa.core.errors import InputError
from qa.core.types import Article
from qa.ingest.common import (
    build_article,
    check_not_binary,
    clean_lang,
    clean_text,
    clean_title,
    clean_url,
    decode_utf8,
    normalize_text,
    parse_date,
    validate_article_id,
)

TEXT_SUFFIXES: tuple[str, ...] = (".txt", ".md")

# The front matter keys article_to_markdown writes. A key that is present, even as null, is taken as
# given; only an absent key lets the body heuristics below fill it in.
_WRITTEN_KEYS = ("title", "date", "url", "lang")

# " date 2025-11-19 Depuis juin..." — a date pasted in front of the first sentence, as users give it.
_INLINE_DATE_RE = re.compile(r"date\s*:?\s*(\d{4}-\d{2}-\d{2})(?=\s|$)\s*", re.IGNORECASE)
# "Date : 19 novembre 2025" alone on the first line.
_DATE_LINE_RE = re.compile(r"date\s*:\s*([^\n]{4,60})(?:\n|$)", re.IGNORECASE)
_MD_HEADING_RE = re.compile(r"#{1,6}[ \t]+([^\n]+?)[ \t#]*(?:\n|$)")
# "title: ..." — what the first line inside a front matter block looks like.
_FRONT_MATTER_KEY_RE = re.compile(r"[ \t]*[A-Za-z_][\w-]*[ \t]*:(?:[ \t]|$)")
_KEY_START_RE = re.compile(r"[ \t]*[A-Za-z_][\w-]*[ \t]*")
# A first line is a title when it is short and does not read as (the start of) a sentence.
_TITLE_LINE_MAX = 200
_NOT_TITLE_END = (".", ":", ";", ",")


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings, so "2025-02-30" is reported as an impossible date
    by parse_date instead of crashing YAML's own date constructor."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _StrictYAMLHandler(YAMLHandler):
    """YAML front matter that must be a mapping; anything else is a broken header, not silently nothing."""

    def load(self, fm: str, **kwargs: object) -> Any:
        data = yaml.load(fm, Loader=_FrontMatterLoader)
        if data is None:
            return {}
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise InputError(f"broken YAML front matter: expected 'key: value' lines, got a {kind}")
        return data


_HANDLER = _StrictYAMLHandler()


def parse_text_file(raw: bytes, *, stem: str, suffix: str) -> Article:
    """Parse one .txt/.md file into an Article (source left None); raises InputError saying why not.

    The id is the front matter `id`, else the file stem. Without front matter values, a leading
    "date YYYY-MM-DD" becomes the date, a short first line (or "# heading") the title, and a file with
    no title line gets one derived from its first sentence.
    """
    del suffix  # .txt and .md follow the same rules; kept so a format-specific rule has a place to go
    check_not_binary(raw)
    text = normalize_text(decode_utf8(raw))
    meta, body = _split_front_matter(text)

    article_id = _scalar_text(meta["id"], "id") if meta.get("id") not in (None, "") else stem
    validate_article_id(article_id)

    date_value: object = meta.get("date")
    title_value: object = meta.get("title")
    if "date" not in meta:
        date_value, body = _take_date_prefix(body)
    if "title" not in meta:
        title_value, body = _take_title_line(body)
        if "date" not in meta and date_value is None:
            date_value, body = _take_date_prefix(body)

    return build_article(
        article_id,
        body,
        title=title_value,
        date=date_value,
        url=meta.get("url"),
        lang=meta.get("lang"),
        # An explicit `title:` (even null) is kept as written so that stored articles read back exactly.
        derive_missing_title="title" not in meta,
    )


def article_to_markdown(article: Article) -> str:
    """Serialise an Article as a .md file (YAML front matter + text) that parses back to the same Article.

    The id is not written: store the result as article_filename(article.id). Raises InputError if the
    article is not in the normalised form build_article produces (it could not read back identically).
    """
    validate_article_id(article.id)
    canonical: dict[str, object] = {
        "text": clean_text(article.text),
        "date": parse_date(article.date),
        "title": clean_title(article.title),
        "url": clean_url(article.url),
        "lang": clean_lang(article.lang),
    }
    for field, value in canonical.items():
        if value != getattr(article, field):
            raise InputError(f"article {article.id!r}: {field} is not normalised; build the article with build_article()")
    metadata: dict[str, object] = {key: getattr(article, key) for key in _WRITTEN_KEYS}
    post = frontmatter.Post(article.text, handler=_HANDLER, **metadata)
    # sort_keys=False keeps the reading order; the huge width stops YAML from folding long titles.
    return frontmatter.dumps(post, sort_keys=False, width=1_000_000) + "\n"


def article_filename(article_id: str) -> str:
    """The file name under which an article written through the API is stored in the corpus folder."""
    return f"{validate_article_id(article_id)}.md"


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Front matter (lower-cased keys) and body; no front matter gives ({}, text)."""
    # Checked first: given a handler, frontmatter.parse would split on any "---" line, even mid-text.
    if not _HANDLER.detect(text):
        return {}, text
    opener_end = text.find("\n")
    after = "" if opener_end < 0 else text[opener_end + 1 :]
    if _HANDLER.FM_BOUNDARY is not None and not _HANDLER.FM_BOUNDARY.search(after):
        # No closing "---": frontmatter.parse would silently index the whole file, header lines and all, as
        # text. A file cut short while being written looks exactly like this; a "---" rule above prose does not.
        lines = [line for line in after.split("\n") if line.strip()]
        first = lines[0] if lines else ""
        # A key with its colon, or the start of one that is all the file still holds ("---\ntitl").
        if not first or _FRONT_MATTER_KEY_RE.match(first) or (len(lines) == 1 and _KEY_START_RE.fullmatch(first)):
            raise InputError("unterminated front matter: the opening '---' line has no closing '---' (file cut short?)")
        return {}, text
    try:
        meta, body = frontmatter.parse(text, handler=_HANDLER)
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise InputError(f"broken YAML front matter: {exc.problem or exc.context}{where}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # Explicit tags (!!timestamp, !!binary...) can fail in YAML's constructors with plain errors.
        raise InputError(f"broken YAML front matter: {' '.join(str(exc).split())}") from None
    lowered = {key.lower(): value for key, value in meta.items() if isinstance(key, str)}
    return lowered, body


def _scalar_text(value: object, field: str) -> str:
    """A YAML scalar given where text is expected (ids are often written unquoted as numbers)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"{field} must be text, not {type(value).__name__}")
    return str(value)


def _take_date_prefix(body: str) -> tuple[object, str]:
    """A date written in front of the text, and the text without it."""
    match = _INLINE_DATE_RE.match(body)
    if match:
        return match[1], body[match.end() :].lstrip()
    match = _DATE_LINE_RE.match(body)
    if match:
        try:
            date = parse_date(match[1])
        except InputError:
            return None, body  # "Date limite : ..." is prose, not a date line
        return date, body[match.end() :].lstrip()
    return None, body


def _take_title_line(body: str) -> tuple[str | None, str]:
    """A title line at the top of the text (a short line, or a Markdown heading), and the text after it."""
    first, sep, rest = body.partition("\n")
    if not sep or not rest.strip():
        return None, body  # a one-line text is all body
    heading = _MD_HEADING_RE.match(body)
    if heading:
        return clean_title(heading[1]), rest.lstrip()
    line = first.strip()
    if len(line) <= _TITLE_LINE_MAX and not line.endswith(_NOT_TITLE_END) and any(ch.isalnum() for ch in line):
        return clean_title(line), rest.lstrip()
    return None, body
