"""The committed generation as a reader loads it: its manifest and dense snapshot, retried across a racing commit."""

from __future__ import annotations

import os
import time
from pathlib import Path

from qa.core.errors import IndexStateError
from qa.index.dense import DenseIndex
from qa.index.manifest import Manifest, read_manifest


def file_identity(path: Path) -> tuple[int, int]:
    """(device, inode) of a file, (0, 0) when absent: a file replaced by another has another identity."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_dev, st.st_ino)


def load_snapshot(index_dir: Path, current: tuple[Manifest, DenseIndex] | None = None) -> tuple[Manifest, DenseIndex]:
    """The committed generation: its manifest and dense snapshot (sharing `current`'s base when it is the same file).

    A commit racing this read may delete the files of the manifest just read (two generations later):
    then the manifest is read again, a few times, before giving up.
    """
    for attempt in range(5):
        manifest = read_manifest(index_dir)
        reuse = current[1].base if current is not None and current[0].dense_file == manifest.dense_file else None
        delta = index_dir / manifest.dense_delta if manifest.dense_delta else None
        try:
            dense = DenseIndex.open(index_dir / manifest.dense_file, manifest.dense_kind, delta, manifest.model.dim, base=reuse)
        except (OSError, RuntimeError) as exc:  # FAISS raises RuntimeError for a file it cannot read
            if attempt == 4:
                raise IndexStateError(f"cannot read the dense index of {index_dir}: {exc}; run `qa index` to repair it") from None
            time.sleep(0.05 * (attempt + 1))
            continue
        return manifest, dense
    raise AssertionError("unreachable")
