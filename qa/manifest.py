"""The index manifest: what the folder holds, which model built it; the index exists iff it does."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.errors import IndexStateError, ModelError

MANIFEST = "manifest.json"
STORE = "store.sqlite"
FORMAT = "qa-index/1"


@dataclass(frozen=True, slots=True)
class ModelStamp:
    """The embedding model an index is bound to."""

    name: str
    dim: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """One committed generation of the index."""

    generation: int
    model: ModelStamp
    articles: int
    chunks: int
    dense_file: str
    dense_kind: str
    updated: str
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def dense_file_name(generation: int) -> str:
    return f"dense-{generation:08d}.faiss"


def read_manifest(index_dir: Path) -> Manifest:
    """The current manifest, or IndexStateError saying how to build one."""
    path = index_dir / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexStateError(f"no index at {index_dir}: build it with `qa index --index {index_dir}`") from None
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"unreadable index manifest {path}: {exc}") from None
    try:
        if raw.get("format") != FORMAT:
            raise IndexStateError(f"index at {index_dir} has format {raw.get('format')!r}, expected {FORMAT!r}: rebuild it")
        return Manifest(
            generation=int(raw["generation"]),
            model=ModelStamp(**raw["model"]),
            articles=int(raw["articles"]),
            chunks=int(raw["chunks"]),
            dense_file=str(raw["dense_file"]),
            dense_kind=str(raw["dense_kind"]),
            updated=str(raw["updated"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStateError(f"corrupt index manifest {path}: {exc}") from None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: readers see the old generation or the new one, never half."""
    path = index_dir / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_model(index_dir: Path, built: ModelStamp, wanted: ModelStamp) -> None:
    """Refuse to mix vectors of two models in one index."""
    if (built.name, built.dim, built.fingerprint) != (wanted.name, wanted.dim, wanted.fingerprint):
        raise ModelError(
            f"the index at {index_dir} was built with model {built.name} (dim {built.dim}, {built.fingerprint[:12]}), "
            f"not {wanted.name} (dim {wanted.dim}, {wanted.fingerprint[:12]}): set QA_MODEL={built.name} "
            f"or rebuild with `qa index --rebuild`"
        )
