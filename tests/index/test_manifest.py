"""The manifest records the model and the pipeline (chunking, analysis) that built an index, and both are checked."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from qa.core.config import Settings
from qa.core.errors import IndexStateError
from qa.engine import Engine
from qa.index.manifest import LEGACY_PIPELINE, MANIFEST, PIPELINE, STORE, manifest_key, next_generation, read_manifest
from qa.index.store import Store
from qa.index.sync import sync_corpus
from tests.conftest import FakeEncoder


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    path = index_dir / MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update(changes)
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_the_pipeline_is_recorded(fake_index: Settings) -> None:
    raw = json.loads((fake_index.index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert raw["pipeline"] == asdict(PIPELINE)
    assert read_manifest(fake_index.index_dir).pipeline == PIPELINE


def test_a_manifest_from_before_the_pipeline_was_recorded_reads_as_the_legacy_one(fake_index: Settings) -> None:
    path = fake_index.index_dir / MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["pipeline"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert read_manifest(fake_index.index_dir).pipeline == LEGACY_PIPELINE == PIPELINE  # today's values: still opens


def test_an_index_chunked_otherwise_is_refused_with_what_to_do(fake_index: Settings, fake_encoder: FakeEncoder) -> None:
    _edit_manifest(fake_index.index_dir, pipeline=asdict(replace(PIPELINE, chunk_size=500)))
    with pytest.raises(IndexStateError, match=r"chunk_size 500 \(now 900\).*qa index --rebuild"):
        Engine.open(fake_index, fake_encoder)


def test_a_writer_refuses_a_store_analysed_otherwise_until_rebuilt(fake_index: Settings, fake_encoder: FakeEncoder) -> None:
    store = Store(fake_index.index_dir / STORE)
    with store.transaction() as con:
        store.set_meta(con, "pipeline", json.dumps(asdict(replace(PIPELINE, analyzer="other/1"))))
    store.close()
    with pytest.raises(IndexStateError, match=r"analyzer 'other/1'"):
        sync_corpus(fake_index.corpus_dir, fake_index.index_dir, fake_encoder, progress=False)
    report = sync_corpus(fake_index.corpus_dir, fake_index.index_dir, fake_encoder, progress=False, rebuild=True)
    assert report.added == 2
    assert Engine.open(fake_index, fake_encoder).manifest.pipeline == PIPELINE


def test_the_next_generation_passes_both_the_manifest_and_the_store() -> None:
    assert next_generation(3, 3) == 4
    assert next_generation(3, 5) == 6  # a killed run left the store ahead
    assert next_generation(0, 0) == 1


def test_another_runtime_of_the_same_model_is_named_as_such(tmp_path: Path) -> None:
    from qa.core.errors import ModelError
    from qa.core.model import ModelStamp
    from qa.index.manifest import check_model

    fp32 = ModelStamp("embeddinggemma-300m", 768, "f6a0f7316cea2686")
    int8 = replace(fp32, fingerprint="412250f2f211efda")
    check_model(tmp_path, fp32, fp32)
    with pytest.raises(ModelError, match="another runtime or build of model embeddinggemma-300m") as err:
        check_model(tmp_path, fp32, int8)
    assert "qa index --rebuild" in str(err.value) and "QA_RUNTIME=torch" in str(err.value)
    with pytest.raises(ModelError, match="was built with model other"):
        check_model(tmp_path, replace(fp32, name="other"), int8)


def test_the_manifest_key_changes_with_the_manifest_even_when_its_stat_does_not(fake_index: Settings) -> None:
    # A folder deleted and built again within a clock tick can give the new manifest the old one's inode,
    # times and size: the refresh thread must still see another generation.
    path = fake_index.index_dir / MANIFEST
    before = manifest_key(fake_index.index_dir)
    st = os.stat(path)
    text = path.read_text(encoding="utf-8")
    changed = text.replace('"generation": 1', '"generation": 7')
    assert changed != text and len(changed) == len(text)
    with open(path, "r+", encoding="utf-8") as f:  # in place: the same inode
        f.write(changed)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_ino == st.st_ino and os.stat(path).st_mtime_ns == st.st_mtime_ns
    assert manifest_key(fake_index.index_dir) != before
