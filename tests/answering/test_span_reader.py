"""The span reader: its decoding over a scripted model with the real tokenizer, and the fine-tuned reader itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qa.answering.span_reader import SpanReader, null_margin_auc, span_reader_fitted

RAIL = "Le gouvernement a inauguré jeudi une ligne de chemin de fer de 800 kilomètres entre Dostyk et Moïnty."
MOSQUE = "Les autorités ont limité le nombre de fidèles à trente par mosquée, et la prière du vendredi reste suspendue."


def test_the_margin_auc_ranks_answering_windows_above_the_others() -> None:
    assert null_margin_auc([3.0, 2.0, -1.0, 0.5], [True, True, False, False]) == 1.0
    assert null_margin_auc([-1.0, 2.0], [True, False]) == 0.0
    assert null_margin_auc([1.0, 1.0], [True, False]) == 0.5


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from qa.answering.span_reader import base_folder
    from qa.core.config import Settings

    return AutoTokenizer.from_pretrained(base_folder(Settings().cache_dir))


class Scripted:
    """A stand-in for the fine-tuned model: its logits peak at the tokens a test names, by position."""

    def __init__(self, start: int, end: int, null: float = -20.0) -> None:
        self.start, self.end, self.null = start, end, null

    def __call__(self, inputs: dict[str, Any]) -> tuple[Any, Any]:
        shape = inputs["input_ids"].shape
        start, end = np.full(shape, -5.0, dtype=np.float32), np.full(shape, -5.0, dtype=np.float32)
        start[:, self.start], end[:, self.end] = 10.0, 10.0
        start[:, 0] = end[:, 0] = self.null / 2
        return start, end


def token_of(tokenizer: Any, question: str, text: str, word: str) -> int:
    """The position of the first token of `word` in the text part of the encoded pair."""
    enc = tokenizer(question, text, return_offsets_mapping=True)
    at = text.index(word)
    pairs = zip(enc.sequence_ids(), enc["offset_mapping"], strict=True)
    return next(i for i, (sid, (a, b)) in enumerate(pairs) if sid == 1 and a <= at < b)


@pytest.mark.model
def test_decoding_gives_the_characters_of_the_chosen_tokens(tokenizer: Any) -> None:
    question = "Combien de kilomètres mesure la ligne ?"
    first = token_of(tokenizer, question, RAIL, "800")
    last = token_of(tokenizer, question, RAIL, "kilomètres") + 1  # "kilomètres" is two pieces
    found = SpanReader(Scripted(first, last), tokenizer, 128).read([question], [RAIL])[0]
    assert RAIL[found.start : found.end].startswith("800 kilom")
    assert found.margin > 0


@pytest.mark.model
def test_the_question_and_an_inverted_or_overlong_span_are_never_read_as_the_answer(tokenizer: Any) -> None:
    question = "Combien de kilomètres mesure la ligne ?"
    # The model points inside the question: the answer still lies in the text.
    found = SpanReader(Scripted(2, 3), tokenizer, 128).read([question], [RAIL])[0]
    assert 0 <= found.start < found.end <= len(RAIL)
    far = token_of(tokenizer, question, RAIL, "Moïnty")
    near = token_of(tokenizer, question, RAIL, "gouvernement")
    reader = SpanReader(Scripted(far, near), tokenizer, 128, max_answer_tokens=5)
    found = reader.read([question], [RAIL])[0]
    assert found.start < found.end and len(tokenizer(RAIL[found.start : found.end])["input_ids"]) <= 5 + 2


@pytest.mark.model
def test_a_question_longer_than_the_token_budget_still_gets_a_span_of_the_text(tokenizer: Any) -> None:
    question = "Combien de kilomètres mesure la ligne ? " * 60  # 2,400 characters, far past 128 tokens
    at = token_of(tokenizer, "Combien ?", RAIL, "800")
    found = SpanReader(Scripted(at, at), tokenizer, 128).read([question], [RAIL])[0]
    assert 0 <= found.start < found.end <= len(RAIL)


@pytest.mark.model
def test_a_batch_reads_each_text_for_its_own_question(tokenizer: Any) -> None:
    questions = ["Combien de kilomètres ?", "Combien de fidèles par mosquée ? Une question plus longue que l'autre"]
    at = token_of(tokenizer, questions[0], RAIL, "800")
    found = SpanReader(Scripted(at, at), tokenizer, 128).read(questions, [RAIL, MOSQUE])
    assert RAIL[found[0].start : found[0].end] == "800"
    assert 0 <= found[1].start < found[1].end <= len(MOSQUE)


@pytest.fixture(scope="module")
def fitted() -> SpanReader:
    from qa.answering.span_reader import span_reader_for
    from qa.core.config import Settings

    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None
    return reader


@pytest.mark.model
def test_a_span_reader_is_fitted() -> None:
    assert span_reader_fitted()


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("Combien de fidèles sont admis dans chaque mosquée après la réouverture ?", MOSQUE, "trente"),
        ("Combien de kilomètres mesure la nouvelle ligne ferroviaire ?", RAIL, "800"),
        ("How long is the new railway line?", RAIL, "800"),
        ("Entre quelles villes la ligne a-t-elle été inaugurée ?", RAIL, "Dostyk"),
    ],
)
def test_the_fitted_reader_points_at_the_answer(fitted: SpanReader, question: str, text: str, expected: str) -> None:
    found = fitted.read([question], [text])[0]
    assert expected in text[found.start : found.end]
    assert len(text[found.start : found.end]) < len(text) / 2


@pytest.mark.model
def test_a_window_without_the_answer_has_a_lower_margin(fitted: SpanReader) -> None:
    question = "Combien de fidèles sont admis dans chaque mosquée après la réouverture ?"
    answering, other = fitted.read([question, question], [MOSQUE, RAIL])
    assert answering.margin > other.margin
