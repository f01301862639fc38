"""Where an article's file lives in the corpus folder, and writing or removing it without ever leaving half of it."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

from qa.core.errors import ConflictError, InputError, StorageError
from qa.ingest.corpus import SINGLE_ARTICLE_SUFFIXES, corpus_suffix, links_outside, read_single
from qa.ingest.text import article_filename

# Temporary files of API writes: dot-files (the corpus reader skips them) with a prefix of their own, so
# that what a killed write leaves behind is recognised and removed, and nobody else's file is.
TEMP_PREFIX = ".qa-"
TEMP_SUFFIX = ".tmp"
_FULL = {errno.ENOSPC, errno.EDQUOT}


def storage_error(exc: OSError, what: str) -> StorageError:
    """A write that failed on the disk, said plainly: a full disk is told apart from other failures."""
    if exc.errno in _FULL:
        return StorageError(f"{what}: the disk is full; nothing was changed")
    return StorageError(f"{what}: {exc.strerror or exc}; nothing was changed")


def remove_leftovers(corpus: Path) -> list[str]:
    """Delete temporary files that killed writes left in the corpus folder; their names. Call under the writer lock."""
    removed = []
    for folder, dirs, files in os.walk(corpus):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX) and not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path.relative_to(corpus).as_posix())
    return removed


def _named_after(corpus: Path, article_id: str) -> Iterator[str]:
    """Corpus-relative single-article files whose name says this id (`<id>.md`, `sub/<id>.txt`, ...)."""
    for folder, dirs, files in os.walk(corpus):  # symlinked folders are not followed, as the reader does
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            suffix = corpus_suffix(name)
            if suffix in SINGLE_ARTICLE_SUFFIXES and name[: -len(suffix)] == article_id:
                yield str((Path(folder) / name).relative_to(corpus).as_posix())


def file_id(corpus: Path, rel: str) -> str | None:
    """The id the single-article file `rel` holds (its front matter may name another than its stem), or None
    when it cannot be read: such a file claims nothing (nor does a link out of the corpus, never read)."""
    if links_outside(corpus / rel, corpus.resolve()):
        return None
    try:
        return read_single(corpus / rel, rel).id
    except (InputError, OSError):
        return None


def claimants(corpus: Path, article_id: str, indexed_source: str | None) -> list[str]:
    """Every single-article corpus file that holds this id: the one it was indexed from, and any other named
    after it. More than one means the corpus does not say which version is the article."""
    found = dict.fromkeys(rel for rel in _named_after(corpus, article_id) if file_id(corpus, rel) == article_id)
    if indexed_source and corpus_suffix(indexed_source) in SINGLE_ARTICLE_SUFFIXES and (corpus / indexed_source).is_file():
        found.setdefault(indexed_source, None)
    return list(found)


def check_target(corpus: Path, article_id: str, claimed: Collection[str]) -> Path:
    """The file an API write of this id goes to; ConflictError when that file holds another article.
    `claimed`: the claimants() of the id, read already (a file among them holds this id)."""
    rel = article_filename(article_id)
    target = corpus / rel
    # A link there is replaced by the write, never read through nor written through.
    if rel not in claimed and target.exists() and not target.is_symlink():
        held = file_id(corpus, rel)
        if held is not None and held != article_id:
            raise ConflictError(
                f"{rel} holds article {held!r} (its front matter says so): writing {article_id!r} there would lose it; "
                f"rename that file or write {held!r} instead"
            )
    return target


def write_temp(corpus: Path, article_id: str, content: str) -> Path:
    """The content in a new temporary file of the corpus folder, flushed to the disk; StorageError if it cannot be."""
    fd, name = tempfile.mkstemp(dir=corpus, prefix=f"{TEMP_PREFIX}{article_id}-", suffix=TEMP_SUFFIX)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise storage_error(exc, f"cannot write article {article_id!r} to the corpus folder") from None
    return path


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that renames and removals in it survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(corpus: Path, rels: list[str], article_id: str) -> list[tuple[Path, Path]]:
    """Rename these files to temporary names (a removal that can still be undone): (original, aside) pairs."""
    moved: list[tuple[Path, Path]] = []
    try:
        for rel in rels:
            original = corpus / rel
            fd, name = tempfile.mkstemp(dir=original.parent, prefix=f"{TEMP_PREFIX}{article_id}-", suffix=TEMP_SUFFIX)
            os.close(fd)
            os.replace(original, name)
            moved.append((original, Path(name)))
    except OSError as exc:
        put_back(moved)
        raise storage_error(exc, f"cannot remove the file of article {article_id!r}") from None
    return moved


def put_back(moved: list[tuple[Path, Path]]) -> None:
    """Undo set_aside."""
    for original, aside in reversed(moved):
        with contextlib.suppress(FileNotFoundError):
            os.replace(aside, original)
