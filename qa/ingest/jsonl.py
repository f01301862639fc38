"""JSON Lines archives (.jsonl, .jsonl.gz): one article per line, OrangeSum's field names included."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from io import BufferedIOBase
from pathlib import Path

from qa.core.errors import InputError
from qa.core.types import Article, FileError
from qa.ingest.common import build_article, normalize_text, validate_article_id

JSONL_SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz")

# Where a record's body may be: our own `text`, or OrangeSum's `article`.
_BODY_KEYS = ("text", "article")
# A record longer than this is refused unread, past its first bytes: one huge line (a 486 KB .jsonl.gz can
# hold a 500 MB record) must not take the whole memory and stall every article after it. As for a file of
# one article (MAX_FILE_BYTES): no news article comes near it.
MAX_RECORD_BYTES = 32 * 1024 * 1024
_SKIP_CHUNK = 1 << 20


def _lines(stream: BufferedIOBase) -> Iterator[bytes | None]:
    """The stream's lines, each read up to MAX_RECORD_BYTES; a longer one is skipped to its end and yields None."""
    limit = MAX_RECORD_BYTES
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
            pass
        yield None


def iter_jsonl_file(path: Path, rel: str) -> Iterator[tuple[str, Article | FileError]]:
    """Stream the records of one file as (where, article or error), where = "rel:LINE".

    Reading stops at a corrupt or truncated gzip stream, after yielding the records before it. Ids are
    checked for shape here; duplicates across records and files are the caller's business.
    """
    try:
        with _open(path) as stream:
            records = 0
            for lineno, line in enumerate(_lines(stream), 1):
                if line is not None and not line.strip():
                    continue
                records += 1
                where = f"{rel}:{lineno}"
                item: Article | FileError
                try:
                    if line is None:
                        limit = MAX_RECORD_BYTES
                        shown = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"
                        raise InputError(f"record too large (over {shown}): not read")
                    item = parse_record(line, source=rel)
                except InputError as exc:
                    item = FileError(where, str(exc))
                yield where, item
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a truncated .gz ends in EOFError.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        yield rel, FileError(rel, f"cannot read: {reason}")
        return
    if records == 0:
        yield rel, FileError(rel, "empty file")


def parse_record(line: bytes | str, *, source: str | None = None) -> Article:
    """Turn one JSON line into an Article; raises InputError saying what is wrong with it."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = line[exc.start]
            raise InputError(f"not UTF-8 text (byte 0x{bad:02X} at column {exc.start + 1})") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise InputError(f"record is a JSON {type(record).__name__}, expected an object")

    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        raise InputError("record has no id")
    # OrangeSum numbers its articles: integer ids are taken as their decimal text.
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise InputError(f"id must be a string or an integer, not {type(raw_id).__name__}")
    article_id = validate_article_id(str(raw_id))

    body = next((record[key] for key in _BODY_KEYS if record.get(key)), "")
    if not isinstance(body, str):
        raise InputError(f"text must be a string, not {type(body).__name__}")
    if not body.strip():
        # Checked before the heading is added: a lead paragraph alone is no article.
        raise InputError("empty text")
    heading = record.get("heading")
    if isinstance(heading, str):
        lead = normalize_text(heading)
        if lead and lead not in normalize_text(body):
            body = f"{lead}\n\n{body}"

    return build_article(
        article_id,
        body,
        title=record.get("title"),
        date=record.get("date"),
        url=record.get("url"),
        lang=record.get("lang"),
        source=source,
    )


def _open(path: Path) -> BufferedIOBase:
    # Binary lines: a bad byte spoils one record, not the decoder for the rest of the file.
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")
