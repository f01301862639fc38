"""The index manifest: what the folder holds, which model built it; the index exists iff it does."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.core.errors import IndexStateError, ModelError
from qa.core.model import ModelStamp
from qa.index.chunking import CHUNK_OVERLAP, CHUNK_SIZE, WINDOW_STEP, WINDOW_WORDS
from qa.ingest.files import sync_folder
from qa.text.analyzer import ANALYZER

MANIFEST = "manifest.json"
STORE = "store.sqlite"
FORMAT = "qa-index/1"


@dataclass(frozen=True, slots=True)
class PipelineStamp:
    """How an index's passages were cut and analysed: an index built otherwise is rebuilt, never mixed."""

    chunk_size: int
    chunk_overlap: int
    window_words: int
    window_step: int
    analyzer: str


# What this code cuts and analyses with.
PIPELINE = PipelineStamp(CHUNK_SIZE, CHUNK_OVERLAP, WINDOW_WORDS, WINDOW_STEP, ANALYZER)
# What indexes written before the manifest recorded it were built with.
LEGACY_PIPELINE = PipelineStamp(900, 200, 10, 5, "fr-elision-stopwords-snowball-fold/1")


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
    # The delta over dense_file (ids added and removed since it was written), or None: see qa/dense.py.
    dense_delta: str | None = None
    pipeline: PipelineStamp = LEGACY_PIPELINE
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def next_generation(committed: int, stored: int) -> int:
    """The generation a writer commits next: past the manifest's and past the store's (a killed run may
    have left the store ahead of the manifest), so a generation number is never reused."""
    return max(committed, stored) + 1


def dense_file_name(generation: int) -> str:
    return f"dense-{generation:08d}.faiss"


def delta_file_name(generation: int) -> str:
    return f"delta-{generation:08d}.npz"


def files_of(manifest: Manifest | None) -> set[str]:
    """The dense files a manifest names."""
    if manifest is None:
        return set()
    return {manifest.dense_file} | ({manifest.dense_delta} if manifest.dense_delta else set())


def remove_stale_files(index_dir: Path, current: Manifest, previous: Manifest | None) -> None:
    """Delete dense files that neither the current nor the previous manifest names, and leftover temporaries.

    The previous generation's files are kept: a reader that has just read the previous manifest can
    still load them (and retries with the new manifest if they vanish under it all the same).
    """
    keep = files_of(current) | files_of(previous)
    for path in [*index_dir.glob("dense-*.faiss*"), *index_dir.glob("delta-*.npz*"), index_dir / (MANIFEST + ".tmp")]:
        if path.name not in keep:
            path.unlink(missing_ok=True)


def manifest_key(index_dir: Path) -> tuple[int, int, int, bytes]:
    """Changes whenever the manifest is replaced.

    Its stat alone is not enough: a folder deleted and built again can give the new manifest the freed
    inode, and file times move in clock ticks of a few milliseconds, so the manifest's bytes (a few hundred,
    naming the generation) are part of the key.
    """
    path = index_dir / MANIFEST
    try:
        st = os.stat(path)
        content = path.read_bytes()
    except FileNotFoundError:
        return (0, 0, 0, b"")
    return (st.st_ino, st.st_mtime_ns, st.st_size, content)


def read_manifest(index_dir: Path) -> Manifest:
    """The current manifest, or IndexStateError saying how to build one."""
    path = index_dir / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexStateError(f"no index at {index_dir}: build it with `qa index --index {index_dir}`") from None
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"unreadable index manifest {path}: {exc}") from None
    if raw.get("format") != FORMAT:
        raise IndexStateError(f"index at {index_dir} has format {raw.get('format')!r}, expected {FORMAT!r}: rebuild it")
    return manifest_from(raw, path)


def manifest_from(raw: dict[str, Any], where: object) -> Manifest:
    """A manifest from its JSON object, or IndexStateError naming `where` it was read from."""
    try:
        return Manifest(
            generation=int(raw["generation"]),
            model=ModelStamp(**raw["model"]),
            articles=int(raw["articles"]),
            chunks=int(raw["chunks"]),
            dense_file=str(raw["dense_file"]),
            dense_kind=str(raw["dense_kind"]),
            updated=str(raw["updated"]),
            dense_delta=str(raw["dense_delta"]) if raw.get("dense_delta") else None,
            pipeline=PipelineStamp(**raw["pipeline"]) if "pipeline" in raw else LEGACY_PIPELINE,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexStateError(f"corrupt index manifest {where}: {exc}") from None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: readers see the old generation or the new one, never half."""
    path = index_dir / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    sync_folder(index_dir)


def check_model(index_dir: Path | str, built: ModelStamp, wanted: ModelStamp) -> None:
    """Refuse to mix vectors of two models in one index."""
    if (built.name, built.dim) == (wanted.name, wanted.dim) and built.fingerprint != wanted.fingerprint:
        # Same model, other vectors: another runtime (OpenVINO int8 or torch fp32) or another build of it.
        raise ModelError(
            f"the index at {index_dir} was embedded by another runtime or build of model {built.name} "
            f"({built.fingerprint[:12]}, not {wanted.fingerprint[:12]}): rebuild it with `qa index --rebuild`, "
            "or set QA_RUNTIME=torch if torch fp32 built it"
        )
    if (built.name, built.dim, built.fingerprint) != (wanted.name, wanted.dim, wanted.fingerprint):
        raise ModelError(
            f"the index at {index_dir} was built with model {built.name} (dim {built.dim}, {built.fingerprint[:12]}), "
            f"not {wanted.name} (dim {wanted.dim}, {wanted.fingerprint[:12]}): set QA_MODEL={built.name} "
            f"or rebuild with `qa index --rebuild`"
        )


def check_pipeline(index_dir: Path | str, built: PipelineStamp, wanted: PipelineStamp = PIPELINE) -> None:
    """Refuse an index whose passages were cut or analysed otherwise than this code does."""
    if built != wanted:
        differs = ", ".join(
            f"{name} {getattr(built, name)!r} (now {getattr(wanted, name)!r})"
            for name in PipelineStamp.__slots__
            if getattr(built, name) != getattr(wanted, name)
        )
        raise IndexStateError(f"the index at {index_dir} was built with {differs}: rebuild it with `qa index --rebuild`")
