"""Short-answer candidates: the word spans of the answering sentence, and what the span model reads of each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np

from qa.retrieval.query import Query
from qa.text.analyzer import fold, stem, stop_words
from qa.text.analyzer import words as analyzer_words
from qa.text.answer_types import is_number_word
from qa.text.dates import extract_dates

if TYPE_CHECKING:
    from numpy.typing import NDArray

# The question's answer type as a number the models read (None: an open question).
ANSWER_TYPES = {None: 0, "number": 1, "date": 2, "name": 3}
# A number keeps its thousands and decimals ("17 000", "3,5"); otherwise a token is a word or one mark.
_TOKEN = re.compile(r"\d+(?:[  \u202f]\d{3})*(?:[.,]\d+)?|\w+|[^\w\s]")
# A short answer never runs past the end of a clause.
_STOPS = frozenset(".!?;:")
_BRACKETS = frozenset('()[]«»"“”')
# Longest short answer, in words: PIAF's answers are at most this long for ~95% of questions.
MAX_SPAN_WORDS = 12
# Distances past this many words count as far.
FAR = 40

SPAN_FEATURES = (
    "words",
    "chars",
    "question_share",  # share of its words the question already says
    "first_in_question",
    "last_in_question",
    "left_distance",  # words back to the nearest question word before it
    "right_distance",
    "question_before",  # question words before it in the sentence
    "question_after",
    "first_stop",
    "last_stop",
    "prev_stop",  # the word before it is a stop word ("de", "le", "en")
    "prev_mark",  # a mark or the sentence's start before it
    "next_mark",
    "capital_first",
    "capital_share",
    "digits",
    "date_share",  # share of its words inside a date mention
    "type_match",  # it holds the kind of thing asked for: a quantity, a date, a name the question does not give
    "position",  # where it starts in the sentence, 0..1
    "sentence_words",
    "marks",
    "commas",
    "brackets",
    "answer_type",
    "english",
    "question_word",  # which question word the question opens with (QUESTION_WORD_CODES)
)
# Categorical columns: the models split them by value, not by order. (The words around a span, as hashed
# buckets, were tried too: they overfit, span F1 0.354 against 0.383 without them on calibration.)
CATEGORICAL = ("question_word",)
QUESTION_WORD_CODES = {
    w: i + 1
    for i, group in enumerate(
        [
            ("qui", "who", "whom", "whose"),
            ("quand", "when"),
            ("ou", "where"),
            ("combien", "how"),
            ("quel", "quelle", "quels", "quelles", "lequel", "laquelle", "which", "what"),
            ("comment",),
            ("pourquoi", "why"),
            ("que", "quoi", "qu"),
        ]
    )
    for w in group
}


@dataclass(frozen=True, slots=True)
class SpanTable:
    """Candidate spans of one text as (start, end) offsets into it, and their feature rows (SPAN_FEATURES)."""

    spans: tuple[tuple[int, int], ...]
    rows: NDArray[np.float32]


@dataclass(slots=True)
class Words:
    """The text's words, with per-word flags and the marks in the gap before each word."""

    starts: list[int]
    ends: list[int]
    asked: list[bool]
    stop: list[bool]
    capital: list[bool]
    digit: list[bool]
    dated: list[bool]
    kind: list[bool]  # holds the asked type
    gap_marks: list[int]
    gap_commas: list[int]
    gap_brackets: list[int]
    gap_stops: list[bool]
    end_mark: bool  # a mark after the last word


def word_flags(query: Query, text: str) -> Words:
    """The text's words with what the span model and the sentence ranker read of each."""
    stops = stop_words()
    dates = [(m.start, m.end) for m in extract_dates(text)]
    w = Words([], [], [], [], [], [], [], [], [], [], [], [], False)
    marks: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if not (tok[0].isalnum() or tok[0] == "_"):
            marks.append(tok)
            continue
        folded = fold(tok)
        asked = folded in query.words or stem(tok) in query.stems
        dated = any(a <= m.start() < b for a, b in dates)
        digit = any(ch.isdigit() for ch in tok)
        capital = tok[0].isupper()
        if query.answer_type == "number":
            kind = (digit or is_number_word(tok)) and not dated
        elif query.answer_type == "date":
            kind = dated
        elif query.answer_type == "name":
            kind = capital and not asked and bool(w.starts)
        else:
            kind = False
        w.starts.append(m.start())
        w.ends.append(m.end())
        w.asked.append(asked)
        w.stop.append(folded in stops)
        w.capital.append(capital)
        w.digit.append(digit)
        w.dated.append(dated)
        w.kind.append(kind)
        w.gap_marks.append(len(marks))
        w.gap_commas.append(sum(t == "," for t in marks))
        w.gap_brackets.append(sum(t in _BRACKETS for t in marks))
        w.gap_stops.append(any(t in _STOPS for t in marks))
        marks = []
    w.end_mark = bool(marks)
    return w


def question_word(query: Query) -> int:
    """The code of the first question word of the question (0: none)."""
    for word in analyzer_words(query.text):
        code = QUESTION_WORD_CODES.get(fold(word))
        if code:
            return code
    return 0


def kind_near_question(w: Words) -> tuple[int, int]:
    """(words from a word of the asked kind to the nearest question word, FAR when none; words of the asked kind)."""
    kinds = [i for i, k in enumerate(w.kind) if k]
    asked = [i for i, a in enumerate(w.asked) if a]
    if not kinds or not asked:
        return FAR, len(kinds)
    return min(FAR, min(abs(i - j) for i in kinds for j in asked)), len(kinds)


def _prefix(flags: list[bool] | list[int]) -> list[int]:
    return [0, *accumulate(int(f) for f in flags)]


def _distances(flags: list[bool], step: int) -> list[int]:
    """Per word, the words to the nearest flagged word in one direction, itself excluded (FAR when none)."""
    n = len(flags)
    out = [FAR] * n
    last: int | None = None
    for i in range(n)[::step]:
        if last is not None:
            out[i] = min(FAR, abs(i - last))
        if flags[i]:
            last = i
    return out


def span_table(query: Query, text: str) -> SpanTable:
    """Every word span of the text up to MAX_SPAN_WORDS words, within one clause, with its features."""
    w = word_flags(query, text)
    n = len(w.starts)
    asked, capital, digit, dated, kind = (_prefix(x) for x in (w.asked, w.capital, w.digit, w.dated, w.kind))
    marks, commas, brackets = (_prefix(x) for x in (w.gap_marks, w.gap_commas, w.gap_brackets))
    left, right = _distances(w.asked, 1), _distances(w.asked, -1)
    answer_type = ANSWER_TYPES[query.answer_type]
    english = query.language == "en"
    asked_word = question_word(query)
    spans: list[tuple[int, int]] = []
    rows: list[tuple[float, ...]] = []
    for i in range(n):
        for j in range(i, min(n, i + MAX_SPAN_WORDS)):
            if j > i and w.gap_stops[j]:
                break
            size = j - i + 1
            inner = slice(i + 1, j + 1)  # the gaps inside the span
            spans.append((w.starts[i], w.ends[j]))
            rows.append(
                (
                    size,
                    w.ends[j] - w.starts[i],
                    (asked[j + 1] - asked[i]) / size,
                    w.asked[i],
                    w.asked[j],
                    left[i],
                    right[j],
                    asked[i],
                    asked[n] - asked[j + 1],
                    w.stop[i],
                    w.stop[j],
                    i > 0 and w.stop[i - 1],
                    i == 0 or w.gap_marks[i] > 0,
                    (w.gap_marks[j + 1] > 0) if j + 1 < n else True,
                    w.capital[i],
                    (capital[j + 1] - capital[i]) / size,
                    digit[j + 1] > digit[i],
                    (dated[j + 1] - dated[i]) / size,
                    kind[j + 1] > kind[i],
                    i / max(1, n),
                    n,
                    marks[inner.stop] - marks[inner.start],
                    commas[inner.stop] - commas[inner.start],
                    brackets[inner.stop] - brackets[inner.start],
                    answer_type,
                    english,
                    asked_word,
                )
            )
    return SpanTable(tuple(spans), np.asarray(rows, dtype=np.float32).reshape(len(rows), len(SPAN_FEATURES)))
