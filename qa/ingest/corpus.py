"""Walking a corpus folder: which files are articles, in what order, and which ids clash."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

from qa.core.errors import CorpusError, InputError
from qa.core.types import Article, FileError
from qa.ingest.html import HTML_SUFFIXES, parse_html_file
from qa.ingest.jsonl import JSONL_SUFFIXES, iter_jsonl_file
from qa.ingest.text import TEXT_SUFFIXES, parse_text_file

# Longest first, so that "x.jsonl.gz" is not taken for something ending in ".gz".
CORPUS_SUFFIXES: tuple[str, ...] = tuple(sorted(TEXT_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES, key=len, reverse=True))
# Suffixes of files that hold one article each: what an API write may replace or delete.
SINGLE_ARTICLE_SUFFIXES: frozenset[str] = frozenset(TEXT_SUFFIXES + HTML_SUFFIXES)

OUTSIDE_LINK = "a symbolic link to outside the corpus folder (or to nothing): not followed; copy the file in"

# A single article file is read whole; past this it is surely not one article (archives go in .jsonl.gz).
MAX_FILE_BYTES = 32 * 1024 * 1024


def corpus_suffix(name: str) -> str | None:
    """The corpus format suffix a file name ends with (lower-cased), or None if it is not a corpus file."""
    lowered = name.lower()
    return next((s for s in CORPUS_SUFFIXES if lowered.endswith(s) and len(name) > len(s)), None)


def iter_corpus(corpus_dir: Path, *, outside_links: bool = False) -> Iterator[Article | FileError]:
    """Stream every article of the folder, and a FileError for each file or record that is not one.

    Files are visited in a stable order (sorted names, depth first); hidden entries and other extensions
    are skipped silently. When two articles share an id, the later one is an error naming both places.
    A symbolic link to a file outside the folder is an error, not read, unless `outside_links`: the
    service must never serve a file that is not the corpus's (`ln -s /etc/passwd corpus/leak.txt`).
    Raises CorpusError at once (not on first iteration) if the folder itself cannot be read.
    """
    root = Path(corpus_dir)
    _check_folder(root)
    return _iter_articles(root, None if outside_links else root.resolve())


def load_corpus(corpus_dir: Path, *, outside_links: bool = False) -> tuple[list[Article], list[FileError]]:
    """All articles of the folder and all the errors met; raises CorpusError if the folder is unusable."""
    articles: list[Article] = []
    errors: list[FileError] = []
    for item in iter_corpus(corpus_dir, outside_links=outside_links):
        if isinstance(item, Article):
            articles.append(item)
        else:
            errors.append(item)
    return articles, errors


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise CorpusError(f"corpus folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise CorpusError(f"corpus folder {str(root)!r} is not a folder")
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise CorpusError(f"cannot read corpus folder {str(root)!r}: {exc.strerror or exc}") from None


def links_outside(path: Path, inside: Path) -> bool:
    """Whether `path` is a symbolic link whose target is not under the (resolved) folder `inside`."""
    if not path.is_symlink():
        return False
    try:
        return not path.resolve(strict=True).is_relative_to(inside)
    except (OSError, RuntimeError):  # a dangling link or a loop: nothing under `inside` either
        return True


def _iter_articles(root: Path, inside: Path | None) -> Iterator[Article | FileError]:
    # id -> where it was first seen ("a.txt" or "b.jsonl:12"); a few bytes per article, even for 36k.
    seen: dict[str, str] = {}
    contested: set[str] = set()
    for item in _walk(root, "", inside):
        if isinstance(item, FileError):
            yield item
            continue
        path, rel, suffix = item
        for where, result in _read_file(path, rel, suffix):
            if isinstance(result, Article):
                first = seen.setdefault(result.id, where)
                if first != where:
                    # Neither is taken: which one is the article is the user's call, not the reader's.
                    if first not in contested:
                        contested.add(first)
                        yield FileError(first, f"duplicate id {result.id!r}: also held by {where}", result.id)
                    result = FileError(where, f"duplicate id {result.id!r}: already held by {first}", result.id)
            yield result


def _walk(root: Path, rel_dir: str, inside: Path | None) -> Iterator[tuple[Path, str, str] | FileError]:
    """Corpus files under root/rel_dir as (path, path relative to root, suffix), depth first by name; links
    to files outside `inside` are errors (None: any link is followed)."""
    folder = root / rel_dir if rel_dir else root
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        yield FileError(rel_dir, f"cannot read folder: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .git, .DS_Store, editor swap files, and dot-folders of tools
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            # Symlinked folders are not followed: a link back up would make the walk endless.
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(root, rel, inside)
                continue
            is_file = entry.is_file()
        except OSError:
            is_file = False
        suffix = corpus_suffix(entry.name)
        if not suffix or not (is_file or entry.is_symlink()):
            continue
        if inside is not None and entry.is_symlink() and links_outside(Path(entry.path), inside):
            # Not followed; and what an older version read through it is removed from the index.
            yield FileError(rel, OUTSIDE_LINK, keeps_indexed=False)
        elif is_file:
            yield Path(entry.path), rel, suffix


def _read_file(path: Path, rel: str, suffix: str) -> Iterator[tuple[str, Article | FileError]]:
    """The articles (or errors) of one corpus file, each with the place it came from."""
    if suffix in JSONL_SUFFIXES:
        yield from iter_jsonl_file(path, rel)
        return
    try:
        article = read_single(path, rel)
    except InputError as exc:
        yield rel, FileError(rel, str(exc))
    except OSError as exc:
        yield rel, FileError(rel, f"cannot read: {exc.strerror or exc}")
    else:
        yield rel, dataclasses.replace(article, source=rel)


def read_single(path: Path, rel: str) -> Article:
    """The article of one single-article file (.txt, .md, .html); InputError or OSError saying why not."""
    suffix = corpus_suffix(path.name) or ""
    if suffix not in SINGLE_ARTICLE_SUFFIXES:
        raise InputError(f"{rel} is not a single-article file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"file too large for one article (over {MAX_FILE_BYTES // 2**20} MiB)")
    raw = path.read_bytes()
    parse = _parse_html if suffix in HTML_SUFFIXES else parse_text_file
    return parse(raw, stem=path.name[: -len(suffix)], suffix=suffix)


def _parse_html(raw: bytes, *, stem: str, suffix: str) -> Article:
    del suffix  # .html and .htm are read alike
    return parse_html_file(raw, stem=stem)
