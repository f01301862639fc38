"""`qa index`: brings the index in line with the corpus folder, embedding only new and changed articles."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.core.model import Encoder
from qa.core.types import Article, FileError
from qa.index.backend import Backend, Writer
from qa.index.manifest import Manifest
from qa.ingest.files import remove_leftovers

# Changed articles kept in memory by the first pass, so that a small update reads the corpus once;
# past this many characters of text they are read again by a second pass instead (memory stays bounded).
BUFFER_CHARS = 16_000_000


@dataclass(frozen=True, slots=True)
class Committed:
    """The generation a sync left committed, as loaded: a service opens it without reading it back."""

    manifest: Manifest
    dense: Any  # the backend's Searcher for it
    key: object  # the backend's key() when it was committed


@dataclass
class IndexReport:
    """Counts of one sync, as `qa index --json` prints them."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    errors: list[FileError] = field(default_factory=list)
    committed: Committed | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "errors": [{"file": e.file, "error": e.error} for e in self.errors],
        }


def _error_file(error: FileError) -> str:
    """The corpus file an error is about: a record's error names it as "file:LINE"."""
    head, sep, tail = error.file.rpartition(":")
    return head if sep and tail.isdigit() else error.file


def sync_corpus(
    corpus_dir: Path,
    index: Path | Backend,
    encoder: Encoder,
    *,
    lock_timeout: float = 30.0,
    progress: bool = True,
    rebuild: bool = False,
    outside_links: bool = False,
    loaded: tuple[Manifest, Any] | None = None,
    embed_first: Callable[[Iterable[Article], Writer], int] | None = None,
) -> IndexReport:
    """Make the index (a folder, or a backend) match the corpus folder: embed new and changed articles, drop removed ones (and
        follow links to files outside it only when `outside_links`). `loaded`: the committed generation, when the
        caller has it in memory already (a service serving it), so that it is not read again. `embed_first`: embeds the
    changed articles' new passages into the writer's vector cache before they are stored (`qa index --ray`).

        Memory: the corpus is streamed (twice when many articles changed: once to count them for the
        progress bar's ETA, once to index them), in batches of EMBED_BATCH chunks. What is held for the
        whole run is index metadata: each indexed article's id, content hash and file, and the ids seen
        and to do (a few MB for the 36,000 articles of OrangeSum), plus the dense index itself.
    """
    from tqdm import tqdm

    from qa.index.local import LocalBackend
    from qa.ingest import iter_corpus

    backend = LocalBackend(index) if isinstance(index, Path) else index
    report = IndexReport()
    with backend.lock(lock_timeout):
        remove_leftovers(corpus_dir)  # temporary files of API writes killed midway: never an article
        writer = backend.writer(encoder, loaded=loaded, rebuild=rebuild)
        try:
            existing = writer.article_states()
            seen: set[str] = set()
            todo: set[str] = set()
            moved: dict[str, str | None] = {}
            buffered: list[Article] | None = []
            buffered_chars = 0
            # First pass, without the model: what changed, so that the progress bar can show an ETA.
            contested: set[str] = set()
            for item in iter_corpus(corpus_dir, outside_links=outside_links):
                if isinstance(item, FileError):
                    report.errors.append(item)
                    if item.article_id is not None:
                        contested.add(item.article_id)
                    continue
                seen.add(item.id)
                old = existing.get(item.id)
                if old is not None and old[0] == item.content_hash:
                    if old[1] != item.source:
                        moved[item.id] = item.source
                    continue
                todo.add(item.id)
                if buffered is not None:
                    buffered.append(item)
                    buffered_chars += len(item.text)
                    if buffered_chars > BUFFER_CHARS:
                        buffered = None  # too many to hold: the second pass reads them again

            # An id two files claim keeps the version indexed (or none): the reader does not guess which is right.
            todo -= contested
            for article_id in contested:
                moved.pop(article_id, None)
            report.added = len(todo - existing.keys())
            report.updated = len(todo) - report.added
            report.unchanged = len(seen - todo - contested)

            def changed() -> Iterator[Article]:
                if buffered is not None:
                    yield from (a for a in buffered if a.id in todo)
                    return
                for item in iter_corpus(corpus_dir, outside_links=outside_links):
                    if isinstance(item, Article) and item.id in todo:
                        yield item

            # Articles of a file with errors are kept as they were rather than dropped: nothing indexed is
            # lost to a bad copy. A bad record ("file.jsonl:LINE") names no id, so it protects its whole file
            # (OrangeSum's empty records thus keep articles removed from it: FileError would need the id).
            bad_files = {_error_file(e) for e in report.errors if e.keeps_indexed}
            removed = [aid for aid, (_, source) in existing.items() if aid not in seen and source not in bad_files]
            del existing  # not needed past here: free it before the long part
            embedded_first = embed_first(changed(), writer) if embed_first is not None and todo else 0
            with tqdm(
                total=len(todo),
                desc="indexing",
                unit="article",
                file=sys.stderr,
                disable=not progress or not todo,
                dynamic_ncols=True,
                smoothing=0.05,
            ) as bar:
                embedded, _ = writer.apply(changed(), removed, on_article=bar.update)
            writer.set_sources(moved)
            report.removed = len(removed)
            report.chunks_embedded = embedded_first + embedded
            manifest = writer.commit()
            report.committed = Committed(manifest, writer.dense, backend.key())
        finally:
            writer.close()
    return report
