"""Pure ranking and answer metrics: Recall@k, MRR@k, nDCG@k, answer matching, abstention, percentiles."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# One entry per rank, best first: the indices of the gold items the result at that rank matches.
# A gold item is an article (article level) or an evidence span (evidence level).
Judged = Sequence[frozenset[int]]


def judge_articles(ranked_articles: Sequence[str], gold_articles: Sequence[str]) -> list[frozenset[int]]:
    """For each ranked article id, the gold articles it is (a set of at most one index)."""
    where = {aid: i for i, aid in enumerate(gold_articles)}
    return [frozenset({where[a]}) if a in where else frozenset() for a in ranked_articles]


def judge_spans(ranked: Sequence[tuple[str, int, int]], gold: Sequence[tuple[str, int, int]]) -> list[frozenset[int]]:
    """For each ranked (article, start, end), the gold spans it overlaps: same article, [start, end) intersecting."""
    return [frozenset(i for i, (ga, gs, ge) in enumerate(gold) if ga == a and s < ge and gs < e) for a, s, e in ranked]


def _first_hits(judged: Judged, k: int) -> list[int]:
    """Per rank in the top k, how many gold items are found there for the first time."""
    seen: set[int] = set()
    out: list[int] = []
    for items in judged[:k]:
        new = items - seen
        out.append(len(new))
        seen |= new
    return out


def recall_at_k(judged: Judged, n_gold: int, k: int) -> float:
    """Share of the gold items found in the top k (the hit rate when there is one gold item)."""
    if n_gold <= 0:
        raise ValueError("recall needs at least one gold item")
    return min(sum(_first_hits(judged, k)), n_gold) / n_gold


def reciprocal_rank(judged: Judged, k: int = 10) -> float:
    """1/rank of the first result matching any gold item within the top k, else 0."""
    for rank, items in enumerate(judged[:k], start=1):
        if items:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(judged: Judged, n_gold: int, k: int = 10) -> float:
    """Binary-gain nDCG: a rank gains 1 when it finds a gold item not found above it (repeats gain 0)."""
    if n_gold <= 0:
        raise ValueError("nDCG needs at least one gold item")
    dcg = sum(1.0 / math.log2(rank + 1) for rank, new in enumerate(_first_hits(judged, k), start=1) if new)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    return dcg / ideal


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "\u00a0": " ", "\u202f": " ", "‑": "-", "–": "-"})
_SPACES = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Case-, accent- and spacing-insensitive form: "Tokaïev  a signé" and "tokaiev a signe" meet."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped).strip()


def answer_matches(answer: str | None, acceptable: Sequence[str]) -> bool:
    """True when the answer text holds one of the acceptable answers (none given: any answer counts)."""
    if answer is None:
        return False
    if not acceptable:
        return True
    norm = normalize_answer(answer)
    return any(normalize_answer(a) in norm for a in acceptable if a.strip())


# SQuAD's F1 drops articles and punctuation before counting shared words; FQuAD's French version drops these.
_ARTICLES = frozenset(["le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "a", "an", "the"])
_PUNCT = re.compile(r"[^\w\s]")


def _f1_tokens(text: str) -> list[str]:
    return [t for t in _PUNCT.sub(" ", normalize_answer(text)).split() if t not in _ARTICLES]


def span_f1(prediction: str | None, acceptable: Sequence[str]) -> float:
    """SQuAD-style F1 of a short answer against the best of the acceptable ones (shared words, articles aside)."""
    if prediction is None or not acceptable:
        return 0.0
    pred = _f1_tokens(prediction)
    best = 0.0
    for answer in acceptable:
        gold = _f1_tokens(answer)
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def abstention_precision_recall(abstained: Sequence[bool], answerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """(precision, recall) of abstaining as a detector of unanswerable questions; None where undefined."""
    if len(abstained) != len(answerable):
        raise ValueError("one abstention flag per question")
    right = sum(a and not ok for a, ok in zip(abstained, answerable, strict=True))
    total_abstained = sum(abstained)
    unanswerable = sum(not ok for ok in answerable)
    precision = right / total_abstained if total_abstained else None
    recall = right / unanswerable if unanswerable else None
    return precision, recall


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None for no values."""
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) by linear interpolation between closest ranks, as numpy's default."""
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def percentile_ms(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile of durations in seconds, in milliseconds to two decimals (None for no values)."""
    v = percentile(values, p)
    return None if v is None else round(v * 1000, 2)
