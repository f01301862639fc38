"""Sentence encoder: embeds queries, passages and spans of passages with one loaded sentence-transformers model."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.core.errors import ModelError
from qa.core.limits import MAX_QUESTION_TOKENS
from qa.core.model import ModelInfo

# The forward pass of another runtime (the OpenVINO int8 variant): model inputs to the torch model's outputs.
Forward = Callable[[dict[str, Any]], dict[str, Any]]


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
        batch_size: int = 32,
        forward: Forward | None = None,
        query_forward: Forward | None = None,
    ) -> None:
        self._model = model
        self.info = info
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.bf16 = bf16
        self.batch_size = batch_size
        self._runtime_forward = forward
        self._query_forward = query_forward or forward
        self._tokenizer_lock = threading.Lock()
        # Found once: span vectors of every passage go through them while indexing.
        self._post_pooling = _post_pooling_modules(model)
        model.eval()

    # --- public -------------------------------------------------------------------------------------

    @property
    def torch_model(self) -> Any:
        """The loaded SentenceTransformer (its tokenizer and torch forward pass serve every runtime)."""
        return self._model

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One L2-normalised float32 row per question, with the model's query prompt, from the question's first
        MAX_QUESTION_TOKENS tokens: what a question costs is bounded whatever it holds."""
        return self._encode(
            [self.first_tokens(t, MAX_QUESTION_TOKENS) for t in texts],
            self.query_prompt,
            batch_size=32,
            progress=False,
            query=True,
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

    def embed_passages(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> NDArray[np.float32]:
        """One L2-normalised float32 row per passage, with the model's passage prompt (batches: the encoder's size)."""
        return self._encode(texts, self.passage_prompt, batch_size=batch_size or self.batch_size, progress=progress)

    def embed_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int | None = None,
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
        for idx, features, offsets in self._batches(texts, prompt, batch_size or self.batch_size, progress, offsets=True):
            out = self._forward(features)
            vectors[idx] = _normalise(out["sentence_embedding"])
            tokens = out["token_embeddings"].float().cpu().numpy()
            for row, i in enumerate(idx):
                # A token belongs to the span its last character is in: a word's token also covers the space
                # before it, which belongs to the previous sentence.
                ends = offsets[row][:, 1] - len(prompt)
                real = _text_tokens(offsets[row], len(prompt))
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

    def token_states(
        self, texts: Sequence[str], *, query: bool = False, batch_size: int = 16, progress: bool = False
    ) -> list[tuple[NDArray[np.float32], NDArray[np.int64]]]:
        """Per text, the final hidden state of each of its tokens and the token's (start, end) characters in the
        text, with the passage (or query) prompt's tokens left out: what a reader over token states reads."""
        prompt = (self.query_prompt if query else self.passage_prompt) or ""
        out: list[tuple[NDArray[np.float32], NDArray[np.int64]]] = [
            (np.zeros((0, 0), np.float32), np.zeros((0, 2), np.int64))
        ] * len(texts)
        for idx, features, offsets in self._batches(texts, prompt, batch_size, progress, offsets=True):
            hidden = self._forward(features, query=query)["token_embeddings"].float().cpu().numpy()
            for row, i in enumerate(idx):
                real = _text_tokens(offsets[row], len(prompt))
                out[i] = (hidden[row][real], np.maximum(offsets[row][real] - len(prompt), 0))
        return out

    # --- internals ----------------------------------------------------------------------------------

    def tokenize(self, prompted: list[str]) -> dict[str, Any]:
        """The model's input tensors for texts that already carry their prompt."""
        with self._tokenizer_lock:
            return self._preprocess(prompted, "")

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

    def _encode(
        self, texts: Sequence[str], prompt: str | None, *, batch_size: int, progress: bool, query: bool = False
    ) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for idx, features, _ in self._batches(texts, prompt or "", batch_size, progress, offsets=False):
            out[idx] = _normalise(self._forward(features, query=query)["sentence_embedding"])
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

    def _forward(self, features: dict[str, Any], *, query: bool = False) -> dict[str, Any]:
        forward = self._query_forward if query else self._runtime_forward
        return forward(features) if forward is not None else self.torch_forward(features)

    def torch_forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """The torch model's own forward pass (what another runtime is checked against)."""
        import torch

        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if self.bf16 and self._model.device.type == "cpu"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            out: dict[str, Any] = self._model(features)
        return out


def _text_tokens(offsets: NDArray[np.int64], prompt_chars: int) -> NDArray[np.bool_]:
    """Which tokens of a prompted text are the text's own: specials and padding have empty offsets, and prompt
    tokens end before the text does."""
    mask: NDArray[np.bool_] = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 1] - prompt_chars > 0)
    return mask


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
