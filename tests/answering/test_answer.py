"""Abstention signals: names (across French and English spellings), dates, headings."""

from __future__ import annotations

from qa.answering.evidence import is_heading
from qa.text.names import mentioned, missing_names, name_units


def test_names_group_adjacent_capitals_and_numbers_stand_alone() -> None:
    assert name_units("How much was announced with the United States in 2025 at Samarkand?") == [
        ("united", "states"),
        ("2025",),
        ("samarkand",),
    ]
    assert name_units("What did Tokayev sign in Tokyo?") == [("tokayev",), ("tokyo",)]


def test_spellings_across_languages_are_found_but_not_lookalikes() -> None:
    vocabulary = {"asie", "moscou", "kazakhstan", "europeenne", "pari", "tokaiev", "samarcande", "japon"}
    for term in ("asia", "moscow", "kazakh", "european", "tokayev", "samarkand", "japan"):
        assert mentioned(term, vocabulary), term
    for term in ("paris", "tokyo", "india", "2024"):
        assert not mentioned(term, vocabulary), term


def test_missing_names_use_the_french_forms_of_english_names() -> None:
    text = "Les États-Unis et le Conseil européen ont salué l’accord signé à Astana."
    assert missing_names(name_units("What did the United States and the European Council sign in Astana?"), [text]) == []
    assert missing_names(name_units("What did Japan sign in Astana?"), [text]) == [("japan",)]
    assert missing_names(name_units("Qu'a signé Tokaïev à Tokyo ?"), [text]) == [("tokaiev",), ("tokyo",)]


def test_headings_and_captions_are_not_sentences() -> None:
    assert is_heading("Kassym-Jomart Tokaïev au sommet UE-Asie centrale")
    assert is_heading("Newsletter")
    assert not is_heading("Les deux chefs d’État ont alors signé 24 accords bilatéraux.")
    assert not is_heading("• préserver sa souveraineté dans un espace soumis à plusieurs zones d’influence,")


def test_hybrid_fusion_weights_date_bonus_and_sentence_fallback() -> None:
    from qa.retrieval.candidates import best_sentence_cosines
    from qa.retrieval.fusion import FUSION_WEIGHTS, fuse_hybrid

    keys = [1, 2, 3]
    cosines = {1: 0.85, 2: 0.84, 3: 0.80}
    bm25 = {2: 12.0, 3: 3.0}
    # Chunk 3 has no sentence vectors: its passage cosine stands in.
    sentence = {1: 0.80, 2: 0.88}
    fr = [k for k, _ in fuse_hybrid(keys, cosines, bm25, sentence, language="fr")]
    assert fr[0] == 2
    dated = [k for k, _ in fuse_hybrid(keys, cosines, bm25, sentence, language="fr", dated=[3])]
    assert dated.index(3) < fr.index(3)
    assert FUSION_WEIGHTS["en"][1] < FUSION_WEIGHTS["fr"][1]  # English questions lean less on BM25

    import numpy as np

    q = np.array([1.0, 0.0], dtype=np.float32)
    vecs = {"h1": np.array([[0.0, 1.0], [0.6, 0.8]], dtype=np.float32)}
    assert best_sentence_cosines(q, {1: "h1", 2: "h2"}, vecs) == {1: np.float32(0.6)}
