"""What the fitted reader reads of each candidate sentence and of the question: named feature columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.answering.evidence import Sentence, date_match, is_heading, pool_idf, pool_lexical
from qa.answering.spans import ANSWER_TYPES, kind_near_question, word_flags
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import Query
from qa.text.answer_types import holds_type

if TYPE_CHECKING:
    from numpy.typing import NDArray


SENTENCE_FEATURES = (
    "cosine",  # the closer of the sentence's and its closest window's cosine to the question
    "own_cosine",
    "window_cosine",
    "cosine_gap",  # how far below the pool's closest sentence
    "cosine_rank",  # 0 for the pool's closest sentence
    "lexical",  # share of the question's terms it holds, weighted by rarity in the pool
    "lexical_gap",
    "matched_terms",
    "prev_lexical",  # the same for the sentences around it: the scene is often set next door
    "next_lexical",
    "prev_cosine",
    "next_cosine",
    "date_match",  # +1 it names the period asked, -1 only other periods, 0 no date or none asked
    "type_match",  # it holds the kind of thing asked for (a number, a date, a name)
    "passage_rank",
    "passage_cosine",
    "passage_score",  # the fused retrieval score of its passage
    "heading",
    "chars",
    "position",  # its place in its passage
    "answer_type",
    "english",
    "question_terms",
    "archive_lexical",  # share of the question's terms it holds, weighted by rarity in the whole archive
    "rarest_hit",  # it holds the question's rarest term
    "density",  # question terms it holds per word
    "kind_near",  # words from a word of the asked kind (a number, a date, a name) to the nearest question word
    "kind_words",
)


@dataclass(frozen=True, slots=True)
class SentenceTable:
    """The pool's sentences and their feature rows (one row per sentence, columns SENTENCE_FEATURES)."""

    sentences: tuple[Sentence, ...]
    rows: NDArray[np.float32]
    lexical: tuple[float, ...]


def sentence_table(
    query: Query, candidates: Sequence[Candidate], sentences: Sequence[Sentence], archive_idf: Mapping[str, float] | None = None
) -> SentenceTable:
    """Every feature of every pool sentence, in SENTENCE_FEATURES order; `archive_idf`, the question terms'
    IDF over the whole archive (the pool's when not given)."""
    lexical = pool_lexical(query, sentences)
    q_terms = set(query.terms)
    idf = dict(archive_idf) if archive_idf else pool_idf(sentences)
    q_mass = sum(idf.get(t, 0.0) for t in q_terms) or 1.0
    rarest = max(q_terms, key=lambda t: (idf.get(t, 0.0), t)) if q_terms else None
    by_place = {(s.index, s.position): i for i, s in enumerate(sentences)}
    best_cos = max((s.cosine for s in sentences), default=0.0)
    best_lex = max(lexical, default=0.0)
    order = sorted(range(len(sentences)), key=lambda i: -sentences[i].cosine)
    rank = {i: r for r, i in enumerate(order)}
    kind = ANSWER_TYPES[query.answer_type]
    rows = np.zeros((len(sentences), len(SENTENCE_FEATURES)), dtype=np.float32)
    for i, s in enumerate(sentences):
        flags = word_flags(query, s.text)
        near, kinds = kind_near_question(flags)
        matched = q_terms & s.terms
        prev = by_place.get((s.index, s.position - 1))
        nxt = by_place.get((s.index, s.position + 1))
        cand = candidates[s.index]
        rows[i] = (
            s.cosine,
            s.own_cosine,
            s.window_cosine,
            best_cos - s.cosine,
            rank[i],
            lexical[i],
            best_lex - lexical[i],
            len(matched),
            lexical[prev] if prev is not None else 0.0,
            lexical[nxt] if nxt is not None else 0.0,
            sentences[prev].cosine if prev is not None else 0.0,
            sentences[nxt].cosine if nxt is not None else 0.0,
            date_match(query.dates, s.text),
            holds_type(query.answer_type, s.text, query.words, money=not query.money_excluded),
            s.index,
            cand.cosine,
            cand.score,
            is_heading(s.text),
            len(s.text),
            s.position,
            kind,
            query.language == "en",
            len(query.terms),
            sum(idf.get(t, 0.0) for t in matched) / q_mass,
            rarest is not None and rarest in s.terms,
            len(matched) / max(1, len(flags.starts)),
            near,
            kinds,
        )
    return SentenceTable(tuple(sentences), rows, tuple(lexical))
