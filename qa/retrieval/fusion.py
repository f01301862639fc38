"""Fusion of retrieval signals into one ranking (weighted z-normalised scores), and its spread across articles: pure functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def zscores(values: Mapping[K, float], keys: Sequence[K], *, default: float = 0.0) -> dict[K, float]:
    """Each key's value as standard deviations from the mean over `keys` (absent keys count as `default`).

    Cosines live in ~[0.7, 0.9] and BM25 in [0, 30+]: centred and scaled per question they can be added.
    A signal that is the same for every key carries no information and scores 0 everywhere.
    """
    if not keys:
        return {}
    xs = [values.get(key, default) for key in keys]
    mu = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mu) ** 2 for x in xs) / len(xs))
    if sd == 0.0:
        return dict.fromkeys(keys, 0.0)
    return {key: (x - mu) / sd for key, x in zip(keys, xs, strict=True)}


def weighted_fusion(
    signals: Sequence[Mapping[K, float]],
    weights: Sequence[float],
    keys: Sequence[K],
    *,
    bonus: Mapping[K, float] | None = None,
) -> list[tuple[K, float]]:
    """Best first: score(d) = sum_i w_i * z_i(d) + bonus(d), z_i the z-scores of signal i over `keys`.

    A convex combination of normalised scores keeps how much better a passage is, which reciprocal
    ranks throw away; ties keep the order of `keys`.
    """
    if len(signals) != len(weights):
        raise ValueError("one weight per signal")
    total = dict.fromkeys(keys, 0.0)
    for signal, w in zip(signals, weights, strict=True):
        if w:
            for key, z in zscores(signal, keys).items():
                total[key] += w * z
    for key, extra in (bonus or {}).items():
        if key in total:
            total[key] += extra
    order = {key: n for n, key in enumerate(keys)}
    return sorted(total.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def spread(
    ranked: Sequence[T], group: Callable[[T], Hashable], *, per_group: int, head: int, promotable: Callable[[T], bool]
) -> list[T]:
    """`ranked` with its first `head` items holding at most `per_group` of one group, where a `promotable`
    item of another group can take the place; within the head and after it, the ranking's order is kept."""
    counts: dict[Hashable, int] = {}
    top: list[int] = []
    for n, item in enumerate(ranked):
        if len(top) == head:
            break
        g = group(item)
        if counts.get(g, 0) < per_group and (n < head or promotable(item)):
            counts[g] = counts.get(g, 0) + 1
            top.append(n)
    # Too few items to promote: the head is completed with the deferred ones, best first.
    taken = set(top)
    rest = [n for n in range(len(ranked)) if n not in taken]
    top += rest[: head - len(top)]
    taken = set(top)
    return [ranked[n] for n in sorted(top)] + [ranked[n] for n in rest if n not in taken]


# Weights of the z-normalised (dense cosine, BM25, best sentence cosine) in the fused score, per
# question language. Tuned on the PIAF dev split (eval/tune_retrieval.py, eval/reports/tuning.md):
# French 0.30/0.40/0.30 beat plain RRF by +2.2 R@5 and +3.1 MRR@10. English questions meet French
# text mostly through names and numbers, so their lexical side counts half as much.
FUSION_WEIGHTS: dict[str, tuple[float, float, float]] = {"fr": (0.3, 0.4, 0.3), "en": (0.4, 0.2, 0.4)}
# Added to the fused score (in standard deviations) of a passage mentioning the date the question
# names; +0.5 lifted PIAF dev questions naming a date from 0.885 to 0.923 R@1.
DATE_WEIGHT = 0.5


def fuse_hybrid(
    keys: Sequence[K],
    cosines: Mapping[K, float],
    bm25: Mapping[K, float],
    sentence: Mapping[K, float],
    *,
    language: str,
    dated: Sequence[K] = (),
) -> list[tuple[K, float]]:
    """The candidates best first by the weighted z-scores of their signals, plus the date bonus.

    A chunk without a sentence cosine takes its passage cosine there; one no lexical term matches has BM25 0.
    """
    w_dense, w_lexical, w_sentence = FUSION_WEIGHTS.get(language, FUSION_WEIGHTS["fr"])
    sentence_or_passage = {i: sentence.get(i, cosines.get(i, 0.0)) for i in keys}
    return weighted_fusion(
        [cosines, bm25, sentence_or_passage],
        [w_dense, w_lexical, w_sentence],
        keys,
        bonus=dict.fromkeys(dated, DATE_WEIGHT),
    )
