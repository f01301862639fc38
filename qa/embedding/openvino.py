"""OpenVINO int8 variant of a sentence-transformers model: built once beside it, verified against torch, run on the CPU.

The variant is the model's ONNX export (torch's dynamo exporter; sentence-transformers' own OpenVINO export
gives wrong vectors for embeddinggemma), converted by OpenVINO into two models: passages run quantized
statically (int8 weights and activations, calibrated by NNCF on the texts of calibration.json), questions
with int8 weights only, because static int8 costs a question far more of its vector (cosine to fp32 0.977
against 0.9997 here) for little time. Its folder holds plain files (passages.xml/.bin, queries.xml/.bin,
manifest.json); it exists when its manifest does, and is trusted only while the manifest's file sizes,
hashes and versions match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.core.errors import ModelError
from qa.embedding.provision import (
    check_files,
    file_record,
    folder_lock,
    remove_leftovers,
    replace_folder,
    staging_folder,
)

log = logging.getLogger(__name__)

VARIANT = "openvino-int8"
FORMAT = 2
MANIFEST = "manifest.json"
CALIBRATION = Path(__file__).with_name("calibration.json")
# The build is refused below these cosines to torch fp32 on the verification texts, with room for another
# CPU's rounding. Measured here for embeddinggemma-300m: passages mean 0.994 / min 0.991 (64 calibration
# texts gave 0.991 / 0.970, hence 256), questions 0.9996 / 0.9994.
MIN_MEAN_COSINE = {"passage": 0.985, "query": 0.995}
MIN_COSINE = {"passage": 0.95, "query": 0.98}
MODELS = ("passages", "queries")
# OpenVINO's precision for what is not int8, per model (None: the plugin's choice). On a CPU with AMX the
# plugin picks bf16: faster for passages in batches (19 against 16 passages/s here), slower for one question
# (38 against 27 ms), and a question keeps more of its vector in f32.
PRECISION: dict[str, str | None] = {"passages": None, "queries": "f32"}
LOCK_TIMEOUT_S = 1800.0
OUTPUTS = ("token_embeddings", "sentence_embedding")


@dataclass(frozen=True, slots=True)
class Variant:
    """A built, verified int8 variant: its folder and the fingerprint it gives the vectors."""

    folder: Path
    fingerprint: str

    def runner(self, which: str, threads: int | None) -> Runner:
        """The compiled model for "passages" or "queries"."""
        return Runner(self.folder / f"{which}.xml", threads, PRECISION[which])


def variant_dir(cache_dir: Path, name: str, source_fingerprint: str) -> Path:
    """Where the variant of one model (by name and fingerprint) is kept, beside the provisioned models."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    return cache_dir / "models" / f"{safe}-{VARIANT}-{source_fingerprint[:12]}"


def versions() -> dict[str, str]:
    """The versions a variant depends on: another OpenVINO or NNCF may quantize or run it otherwise."""
    return {pkg: metadata.version(pkg) for pkg in ("openvino", "nncf")}


def read_variant(folder: Path, source_fingerprint: str, *, full: bool = False) -> Variant | str:
    """The variant in `folder`, or why it cannot be used (absent, built for another model or versions, damaged)."""
    path = folder / MANIFEST
    if not path.is_file():
        return "not built"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
        fresh = (m["format"], m["variant"], m["source_fingerprint"], m["versions"], m["calibration"]["sha256"]) == (
            FORMAT,
            VARIANT,
            source_fingerprint,
            versions(),
            _calibration_sha256(),
        )
        files, fingerprint = m["files"], m["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError) as e:
        return f"manifest {path} is unreadable or OpenVINO is missing ({type(e).__name__})"
    if not fresh:
        return "built for another model, another OpenVINO / NNCF or other calibration texts"
    problem = check_files(folder, files, full=full)
    if problem is not None:
        return problem
    return Variant(folder, str(fingerprint))


# ------------------------------------------------------------------------------------------------ build


def _calibration_sha256() -> str:
    return hashlib.sha256(CALIBRATION.read_bytes()).hexdigest()


def _exportable(model: Any) -> Any:
    """The model as one torch module from (input_ids, attention_mask) to its token states and its embedding."""
    import torch

    class Exportable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
            out = self.model({"input_ids": input_ids, "attention_mask": attention_mask})
            return out["token_embeddings"], out["sentence_embedding"]

    return Exportable().eval()


def _texts(section: str, query_prompt: str | None, passage_prompt: str | None, *, kind: str | None = None) -> list[str]:
    """The calibration file's texts of one section (of one kind), each with the prompt the model embeds it with."""
    doc = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    prompts = {"query": query_prompt or "", "passage": passage_prompt or ""}
    return [prompts[t["kind"]] + t["text"] for t in doc[section] if kind in (None, t["kind"])]


def _export_onnx(model: Any, tokenize: Callable[[list[str]], dict[str, Any]], path: Path) -> None:
    import torch

    sample = tokenize(["title: none | text: une phrase pour l'export", "court"])
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # it warns of every torchvision operator it skips
    # ... and of its own deprecations and renamed axes, which say nothing to someone provisioning a model.
    try:
        with torch.no_grad(), contextlib.redirect_stdout(None), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _exportable(model),
                (sample["input_ids"], sample["attention_mask"]),
                str(path),
                dynamo=True,
                input_names=["input_ids", "attention_mask"],
                output_names=list(OUTPUTS),
                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                external_data=True,
                verbose=False,
            )
    finally:
        exporter_log.setLevel(level)


def _as_arrays(features: dict[str, Any]) -> dict[str, NDArray[np.int64]]:
    return {k: features[k].cpu().numpy().astype(np.int64) for k in ("input_ids", "attention_mask")}


def _cosines(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    result: NDArray[np.float32] = (a * b).sum(axis=1)
    return result


def _verify(
    staging: Path,
    which: str,
    kind: str,
    tokenize: Callable[[list[str]], dict[str, Any]],
    torch_embed: Callable[[list[str]], NDArray[np.float32]],
    prompts: tuple[str | None, str | None],
) -> dict[str, float | int]:
    """The built model's cosines to torch fp32 on the verification texts of its kind; ModelError below the bar."""
    check = _texts("verify", *prompts, kind=kind)
    runner = Runner(staging / f"{which}.xml", None, PRECISION[which])
    cos = _cosines(torch_embed(check), runner.embed(tokenize, check))
    mean, low = float(cos.mean()), float(cos.min())
    if mean < MIN_MEAN_COSINE[kind] or low < MIN_COSINE[kind]:
        raise ModelError(
            f"the {VARIANT} build for {which} strays from torch fp32 (cosine mean {mean:.4f}, min {low:.4f}; "
            f"at least {MIN_MEAN_COSINE[kind]} and {MIN_COSINE[kind]} are needed)"
        )
    return {"texts": len(check), "mean_cosine": round(mean, 6), "min_cosine": round(low, 6)}


def _manifest(staging: Path, source_fingerprint: str, calibrated: int, verification: dict[str, Any]) -> dict[str, Any]:
    """What the variant's folder holds, and the fingerprint its vectors get (from both weight files)."""
    files = {f"{m}.{ext}": file_record(staging / f"{m}.{ext}") for m in MODELS for ext in ("xml", "bin")}
    weights = ":".join(files[f"{m}.bin"]["sha256"] for m in MODELS)
    return {
        "format": FORMAT,
        "variant": VARIANT,
        "source_fingerprint": source_fingerprint,
        "fingerprint": hashlib.sha256(f"{source_fingerprint}:{VARIANT}:{weights}".encode()).hexdigest()[:16],
        "versions": versions(),
        "calibration": {"file": CALIBRATION.name, "sha256": _calibration_sha256(), "texts": calibrated},
        "verification": verification,
        "files": files,
    }


def build_variant(
    model: Any,
    tokenize: Callable[[list[str]], dict[str, Any]],
    torch_embed: Callable[[list[str]], NDArray[np.float32]],
    prompts: tuple[str | None, str | None],
    source_fingerprint: str,
    dest: Path,
    *,
    progress: bool,
) -> Variant:
    """Export, convert, quantize and verify the model into `dest` (replaced whole, or left as it was on failure).

    `tokenize` gives the model's input tensors for texts, `torch_embed` its fp32 embeddings, the reference
    the variant must stay close to.
    """
    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(dest)
    steps = tqdm(total=5, desc=f"building {VARIANT}", unit="step", disable=not progress)
    try:
        with steps:
            import nncf
            import openvino as ov

            steps.set_postfix_str("export to ONNX")
            onnx_dir = staging / "onnx"
            onnx_dir.mkdir()
            _export_onnx(model, tokenize, onnx_dir / "model.onnx")
            steps.update(1)
            steps.set_postfix_str("int8 weights for questions")
            converted = ov.convert_model(str(onnx_dir / "model.onnx"))
            ov.save_model(nncf.compress_weights(converted.clone()), str(staging / "queries.xml"))
            steps.update(1)
            steps.set_postfix_str("calibrate int8 for passages")
            calibration = [_as_arrays(tokenize([t])) for t in _texts("calibrate", *prompts)]
            quantized = nncf.quantize(
                converted,
                nncf.Dataset(calibration),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(calibration),
            )
            ov.save_model(quantized, str(staging / "passages.xml"))
            del converted, quantized
            shutil.rmtree(onnx_dir)
            steps.update(1)
            verification = {}
            for kind, which in (("passage", "passages"), ("query", "queries")):
                steps.set_postfix_str(f"verify {which} against torch")
                verification[which] = _verify(staging, which, kind, tokenize, torch_embed, prompts)
                steps.update(1)
        manifest = _manifest(staging, source_fingerprint, len(calibration), verification)
        # Written last: a folder without its manifest is not a variant.
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        replace_folder(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    variant = read_variant(dest, source_fingerprint)
    if isinstance(variant, str):
        raise ModelError(f"built {VARIANT} at {dest} but it does not verify: {variant}")
    return variant


@contextlib.contextmanager
def build_lock(dest: Path) -> Iterator[None]:
    """One build of a variant at a time across processes (the second waits, then finds it built)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(dest.parent, dest.name, what="build", timeout=LOCK_TIMEOUT_S):
        remove_leftovers(dest.parent, dest.name)  # left by a killed build
        yield


# -------------------------------------------------------------------------------------------------- run


class Runner:
    """The compiled variant: the model's forward pass on the CPU, callable from several threads at once."""

    def __init__(self, xml: Path, threads: int | None, precision: str | None = None) -> None:
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = threads
        if precision is not None:
            config["INFERENCE_PRECISION_HINT"] = precision
        self._compiled = ov.Core().compile_model(str(xml), "CPU", config)
        self._local = threading.local()

    def _request(self) -> Any:
        # An infer request is not thread-safe; one per thread lets concurrent questions run side by side.
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request

    def __call__(self, features: dict[str, Any]) -> dict[str, Any]:
        """Token states and embeddings as torch tensors, as the torch model's forward returns them."""
        import torch

        request = self._request()
        request.infer(_as_arrays(features))
        return {
            name: torch.from_numpy(np.array(request.get_output_tensor(i).data, dtype=np.float32))
            for i, name in enumerate(OUTPUTS)
        }

    def embed(self, tokenize: Callable[[list[str]], dict[str, Any]], texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeddings of prompted texts, one at a time (for verification)."""
        rows = [self(tokenize([t]))["sentence_embedding"].numpy()[0] for t in texts]
        return np.stack(rows).astype(np.float32)
