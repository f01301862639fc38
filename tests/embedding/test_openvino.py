"""The OpenVINO int8 variant on a tiny model: built, verified, reused, rebuilt when damaged, a fallback when it fails."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import Settings
from qa.core.errors import ModelError
from qa.embedding import loading
from qa.embedding import openvino as ov
from qa.embedding.encoder import Encoder
from qa.embedding.loading import choose_device, choose_runtime, load_encoder
from qa.embedding.provision import build_model_folder

from . import synthetic

TEXTS = ["le chat dort", "il pleut", "le chat dort . il pleut", "il pleut il pleut le chat"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny")
    build_model_folder(synthetic.build(seed=7).data, synthetic.tokenizer_json(), path)
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def torch_enc(folder: Path, cache: Path) -> Encoder:
    return load_encoder(str(folder), cache, progress=False, runtime="torch")


@pytest.fixture(scope="module")
def int8(folder: Path, cache: Path) -> Encoder:
    return load_encoder(str(folder), cache, progress=False, runtime="openvino")


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def test_the_variant_is_built_once_as_plain_files(int8: Encoder, torch_enc: Encoder, cache: Path) -> None:
    assert (int8.info.runtime, torch_enc.info.runtime) == (ov.VARIANT, "torch")
    # An index knows what embedded it: another runtime is another fingerprint, the name stays.
    assert int8.info.name == torch_enc.info.name and int8.info.fingerprint != torch_enc.info.fingerprint
    built = ov.variant_dir(cache, torch_enc.info.name, torch_enc.info.fingerprint)
    names = ["manifest.json", "passages.bin", "passages.xml", "queries.bin", "queries.xml"]
    assert sorted(p.name for p in built.iterdir()) == names
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["fingerprint"] == int8.info.fingerprint
    assert manifest["source_fingerprint"] == torch_enc.info.fingerprint
    assert manifest["verification"]["passages"]["min_cosine"] >= ov.MIN_COSINE["passage"]
    assert manifest["verification"]["queries"]["min_cosine"] >= ov.MIN_COSINE["query"]
    assert manifest["versions"] == ov.versions()
    assert not [p for p in built.parent.iterdir() if p.name.startswith(".tmp-")]


def test_vectors_stay_close_to_torch(int8: Encoder, torch_enc: Encoder) -> None:
    assert _cos(int8.embed_passages(TEXTS), torch_enc.embed_passages(TEXTS)).min() > 0.98
    assert _cos(int8.embed_queries(TEXTS), torch_enc.embed_queries(TEXTS)).min() > 0.98
    spans = [[(0, 2), (3, len(t))] for t in TEXTS]
    vec, span_vecs = int8.embed_passages_with_spans(TEXTS, spans)
    want, want_spans = torch_enc.embed_passages_with_spans(TEXTS, spans)
    assert _cos(vec, want).min() > 0.98
    assert _cos(np.vstack(span_vecs), np.vstack(want_spans)).min() > 0.95  # one-token spans of a random model
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1.0, atol=1e-5)


def test_concurrent_calls_give_what_one_call_gives(int8: Encoder) -> None:
    want = int8.embed_passages(TEXTS, batch_size=2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                np.testing.assert_allclose(int8.embed_passages(TEXTS, batch_size=3), want, atol=1e-5)
        except BaseException as e:  # collected so that the main thread fails the test
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_built_variant_is_reused(int8: Encoder, folder: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(ov, "build_variant", no_build)
    again = load_encoder(str(folder), cache, progress=False, runtime="openvino")
    assert again.info.fingerprint == int8.info.fingerprint


def test_a_damaged_variant_is_rebuilt(int8: Encoder, torch_enc: Encoder, cache: Path, tmp_path: Path, folder: Path) -> None:
    info = torch_enc.info
    built = ov.variant_dir(cache, info.name, info.fingerprint)
    other = ov.variant_dir(tmp_path, info.name, info.fingerprint)
    shutil.copytree(built, other)
    with (other / "passages.bin").open("r+b") as f:
        f.truncate(100)
    assert ov.read_variant(other, info.fingerprint) == "passages.bin has the wrong size"
    rebuilt = load_encoder(str(folder), tmp_path, progress=False, runtime="openvino")
    assert rebuilt.info.runtime == ov.VARIANT
    assert not isinstance(ov.read_variant(other, info.fingerprint), str)


def test_a_variant_of_other_versions_is_not_trusted(int8: Encoder, torch_enc: Encoder, cache: Path, tmp_path: Path) -> None:
    info = torch_enc.info
    other = ov.variant_dir(tmp_path, info.name, info.fingerprint)
    shutil.copytree(ov.variant_dir(cache, info.name, info.fingerprint), other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["versions"]["openvino"] = "0.0.1"
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert "another OpenVINO" in str(ov.read_variant(other, info.fingerprint))
    manifest["versions"] = ov.versions()
    manifest["calibration"]["sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert "other calibration texts" in str(ov.read_variant(other, info.fingerprint))
    (other / "manifest.json").unlink()
    assert ov.read_variant(other, info.fingerprint) == "not built"


def test_auto_falls_back_to_torch_when_the_build_fails(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(ov, "build_variant", broken)
    monkeypatch.setattr(loading, "choose_runtime", lambda wanted, device, measured: "openvino")
    with caplog.at_level(logging.WARNING):
        enc = load_encoder(str(folder), tmp_path, progress=False, runtime="auto")
    assert enc.info.runtime == "torch"
    assert "exporter exploded" in caplog.text and "torch fp32" in caplog.text
    with pytest.raises(ModelError, match=r"could not run .* through OpenVINO int8: exporter exploded"):
        load_encoder(str(folder), tmp_path, progress=False, runtime="openvino")


def test_a_variant_that_strays_from_torch_is_refused(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ov, "MIN_MEAN_COSINE", {"passage": 1.01, "query": 1.01})
    with pytest.raises(ModelError, match="strays from torch fp32"):
        load_encoder(str(folder), tmp_path, progress=False, runtime="openvino")
    built = [p for p in (tmp_path / "models").iterdir()]
    assert [p for p in built if not p.name.endswith(".lock")] == []  # nothing half-built is left


def test_runtime_and_device_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_runtime("auto", "cpu", True) == "openvino"
    assert choose_runtime("auto", "cpu", False) == "torch"
    assert choose_runtime("auto", "cuda", True) == "torch"
    assert choose_runtime("torch", "cpu", True) == "torch"
    assert choose_runtime("openvino", "cpu", False) == "openvino"
    with pytest.raises(ModelError, match="QA_RUNTIME=openvino runs on the CPU"):
        choose_runtime("openvino", "cuda", True)
    assert choose_device("cpu") == "cpu"
    import torch

    if not torch.cuda.is_available():
        assert choose_device("auto") == "cpu"
        with pytest.raises(ModelError, match=r"QA_DEVICE=cuda, but torch .* sees no CUDA GPU"):
            choose_device("cuda")
    # A machine whose torch sees a GPU: auto takes it, and there the model runs in torch, not OpenVINO.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto") == choose_device("cuda") == "cuda"
    assert choose_device("cpu") == "cpu"
    assert choose_runtime("auto", choose_device("auto"), True) == "torch"


def test_settings_name_a_bad_device(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("QA_DEVICE", "gpu")
    with pytest.raises(ValidationError, match="device"):
        Settings()
    monkeypatch.setenv("QA_DEVICE", "cuda")
    monkeypatch.setenv("QA_RUNTIME", "openvino")
    assert (Settings().device, Settings().runtime) == ("cuda", "openvino")
