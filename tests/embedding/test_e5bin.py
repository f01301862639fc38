"""The E5S1 reader: header, vocabulary, exact Q4_0 dequantisation, and refusal of damaged files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from qa.embedding import e5bin

from . import synthetic


def test_dequantize_one_block_by_hand() -> None:
    # byte j packs weight j (low nibble) and weight j+16 (high nibble); value = (nibble - 8) * scale
    nibbles = list(range(16)) + [15 - i for i in range(16)]
    raw = synthetic.q4_block(0.5, nibbles)
    got = e5bin.dequantize_q4_0(raw, 32)
    want = np.array([(n - 8) * 0.5 for n in nibbles], dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    assert got[0] == -4.0 and got[15] == 3.5 and got[16] == 3.5 and got[31] == -4.0


def test_dequantize_uses_fp16_scale_exactly() -> None:
    scale = 0.0123  # not representable in fp16: the stored (rounded) scale is what counts
    nibbles = [0, 15] * 16
    got = e5bin.dequantize_q4_0(synthetic.q4_block(scale, nibbles), 32)
    d = np.float32(np.float16(scale))
    np.testing.assert_array_equal(got[:2], np.array([-8 * d, 7 * d], dtype=np.float32))


def test_dequantize_subnormal_and_negative_scales() -> None:
    for scale in (-0.25, 3.0e-6, 0.0):
        nibbles = list(range(32 - 16)) * 2
        got = e5bin.dequantize_q4_0(synthetic.q4_block(scale, nibbles), 32)
        np.testing.assert_array_equal(got, np.array(synthetic.q4_expected(scale, nibbles), dtype=np.float32))


def test_dequantize_many_blocks_matches_reference() -> None:
    rng = np.random.default_rng(1)
    raw, want = b"", []
    # more blocks than one internal chunk, so that chunk boundaries are exercised
    for _ in range((1 << 16) + 3):
        s = float(rng.uniform(-1, 1))
        nib = [int(x) for x in rng.integers(0, 16, 32)]
        raw += synthetic.q4_block(s, nib)
        want += synthetic.q4_expected(s, nib)
    np.testing.assert_array_equal(e5bin.dequantize_q4_0(raw, len(want)), np.array(want, dtype=np.float32))


def test_parse_synthetic_file() -> None:
    syn = synthetic.build()
    ckpt = e5bin.parse(syn.data)
    hp = ckpt.hparams
    assert (hp.hidden, hp.layers, hp.heads, hp.ffn, hp.vocab, hp.max_positions, hp.type_vocab) == (
        synthetic.H,
        synthetic.LAYERS,
        synthetic.HEADS,
        synthetic.FFN,
        synthetic.VOCAB,
        synthetic.MAXP,
        synthetic.TYPES,
    )
    assert hp.eps == pytest.approx(1e-12)
    assert ckpt.pieces == synthetic.PIECES
    assert (ckpt.bos, ckpt.eos, ckpt.pad, ckpt.unk) == (0, 2, 1, 3)
    assert ckpt.scores[5] == -5.0
    assert set(ckpt.tensors) == set(syn.expected)
    for name, want in syn.expected.items():
        np.testing.assert_array_equal(ckpt.tensor(name), want, err_msg=name)
    assert ckpt.tensors["emb.word"].dtype == e5bin.DTYPE_Q4_0
    assert ckpt.tensors["emb.pos"].dtype == e5bin.DTYPE_F32


def test_every_bert_weight_is_mapped_once() -> None:
    ckpt = e5bin.parse(synthetic.build().data)
    plan = list(e5bin.bert_tensor_map(ckpt.hparams))
    assert {src for src, _, _ in plan} == set(ckpt.tensors)
    assert len({dst for _, dst, _ in plan}) == len(plan)
    for src, _, shape in plan:
        assert ckpt.tensors[src].count == int(np.prod(shape)), src


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "version"),
        (lambda b: b[:200], "truncated"),
        (lambda b: b[:-10], "extent"),
        (lambda b: b[:40] + struct.pack("<i", 16) + b[44:], "block size"),
    ],
)
def test_damaged_files_are_refused(mutate: object, message: str) -> None:
    data = synthetic.build().data
    with pytest.raises(e5bin.E5BinError, match=message):
        e5bin.parse(mutate(data))  # type: ignore[operator]


def test_wrong_q4_size_is_refused() -> None:
    with pytest.raises(e5bin.E5BinError):
        e5bin.dequantize_q4_0(b"\0" * 17, 32)
    with pytest.raises(e5bin.E5BinError):
        e5bin.dequantize_q4_0(b"\0" * 18, 31)
