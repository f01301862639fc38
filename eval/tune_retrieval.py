"""Offline study of fusion variants on PIAF (dev split by default): each side retrieved once, fusions compared."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.core.config import Settings
from qa.engine import Engine
from qa.evaluation.gold import GoldQuestion, resolve_evidence
from qa.evaluation.metrics import judge_articles, judge_spans, mean, recall_at_k, reciprocal_rank
from qa.evaluation.piaf import EN_PATH, english_questions, load_piaf, load_translations, sample_questions, to_gold
from qa.retrieval.candidates import dense_hits, lexical_hits
from qa.retrieval.query import analyse

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "cache"
N = 100

Hits = list[tuple[int, float]]


def question_vectors(engine: Engine, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Question embeddings, cached on disk by text (embedding is the slow part of a study)."""
    # One file per model: a vector of one model means nothing to another.
    path = CACHE / f"question-vectors-{Path(engine.manifest.model.name).name}.npz"
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as z:
            keys = json.loads(str(z["keys"]))
            cached = dict(zip(keys, z["vecs"], strict=True))
    todo = [t for t in dict.fromkeys(texts) if t not in cached]
    if todo:
        encoder: Any = engine.encoder  # the real encoder: embeds a batch of questions at once
        vecs = encoder.embed_queries(todo)
        cached.update(zip(todo, vecs, strict=True))
        keys = list(cached)
        np.savez(path, keys=json.dumps(keys), vecs=np.stack([cached[k] for k in keys]))
    return {t: cached[t] for t in texts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--index", type=Path, default=CACHE / f"piaf-index-{Path(Settings().model).name}")
    args = ap.parse_args(argv)
    piaf = load_piaf()
    engine = Engine.open(Settings(index_dir=args.index))
    sets = {
        "fr": [to_gold(q) for q in sample_questions(piaf, args.split)],
        "en": [p[1] for p in english_questions(piaf, load_translations(EN_PATH), args.split)],
    }
    sets["fr-of-en"] = [p[0] for p in english_questions(piaf, load_translations(EN_PATH), args.split)]
    all_q = [q for qs in sets.values() for q in qs]
    vecs = question_vectors(engine, [q.question for q in all_q])
    store, dense = engine.store, engine.dense
    chunks = store.chunks_by_id([int(i) for ids, _ in store.iter_chunk_vectors() for i in ids])
    spans = resolve_evidence(all_q, lambda aid: a.text if (a := store.get_article(aid)) else None)

    def sides(q: GoldQuestion) -> tuple[Hits, Hits]:
        # The same candidate functions retrieve() calls, with the same analysed question.
        query = analyse(q.question)
        return dense_hits(dense, vecs[q.question], N), lexical_hits(store, query, N)

    retrieved = {q.id: sides(q) for q in all_q}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, qs in sets.items():
        print(f"== {name}: {len(qs)} questions")
        table[name] = {}
        for label, fuse in variants().items():
            table[name][label] = score(qs, retrieved, fuse, chunks, spans)
        # The pipeline as it stands: qa.retrieval.search.retrieve itself, fed the same question vectors.
        pipeline = {
            q.id: [c.passage.id for c in engine.retrieve(analyse(q.question), vecs[q.question], 10).candidates] for q in qs
        }
        table[name]["qa.search.retrieve (hybrid)"] = score(qs, retrieved, lambda d, lex: [], chunks, spans, fixed=pipeline)
        for label, row in table[name].items():
            print(f"{label:28s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
    out = ROOT / "reports" / f"tuning-{args.split}.json"
    out.write_text(json.dumps({"split": args.split, "candidates_per_side": N, "sets": table}, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out}")
    return 0


def z(h: Hits) -> dict[int, float]:
    if not h:
        return {}
    v = np.array([s for _, s in h])
    sd = float(v.std()) or 1.0
    return {i: (s - float(v.mean())) / sd for i, s in h}


def minmax(h: Hits) -> dict[int, float]:
    if not h:
        return {}
    v = [s for _, s in h]
    lo, hi = min(v), max(v)
    return {i: (s - lo) / ((hi - lo) or 1.0) for i, s in h}


def convex(norm: Callable[[Hits], dict[int, float]], alpha: float, floor: str = "min") -> Callable[[Hits, Hits], list[int]]:
    def fuse(d: Hits, lex: Hits) -> list[int]:
        nd, nl = norm(d), norm(lex)
        fd = min(nd.values(), default=0.0) if floor == "min" else 0.0
        fl = min(nl.values(), default=0.0) if floor == "min" else 0.0
        ids = set(nd) | set(nl)
        s = {i: alpha * nd.get(i, fd) + (1 - alpha) * nl.get(i, fl) for i in ids}
        return sorted(s, key=lambda i: -s[i])

    return fuse


def rrf(k: int, w: float) -> Callable[[Hits, Hits], list[int]]:
    def fuse(d: Hits, lex: Hits) -> list[int]:
        s: dict[int, float] = {}
        for r, (i, _) in enumerate(d, 1):
            s[i] = s.get(i, 0) + 1 / (k + r)
        for r, (i, _) in enumerate(lex, 1):
            s[i] = s.get(i, 0) + w / (k + r)
        return sorted(s, key=lambda i: -s[i])

    return fuse


def variants() -> dict[str, Callable[[Hits, Hits], list[int]]]:
    out: dict[str, Callable[[Hits, Hits], list[int]]] = {
        "dense": lambda d, lex: [i for i, _ in d],
        "bm25": lambda d, lex: [i for i, _ in lex],
    }
    for k in (10, 30, 60):
        for w in (0.5, 1.0):
            out[f"rrf k={k} w={w}"] = rrf(k, w)
    for a in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        out[f"z a={a}"] = convex(z, a)
    for a in (0.4, 0.5, 0.6, 0.7):
        out[f"minmax a={a}"] = convex(minmax, a)
    return out


def score(
    qs: Sequence[GoldQuestion],
    retrieved: dict[str, tuple[Hits, Hits]],
    fuse: Callable[[Hits, Hits], list[int]],
    chunks: dict[int, Any],
    spans: dict[str, Any],
    *,
    fixed: dict[str, list[int]] | None = None,
) -> dict[str, float]:
    """Article-level R@1/5/10 and MRR@10, evidence-level R@5, of one fusion (or fixed rankings) over the questions."""
    r1: list[float] = []
    r5: list[float] = []
    r10: list[float] = []
    mrr: list[float] = []
    e5: list[float] = []
    for q in qs:
        order = fixed[q.id] if fixed is not None else fuse(*retrieved[q.id])
        ranked = [chunks[i] for i in order if i in chunks]
        picked: list[Any] = []
        for c in ranked:  # one citation per passage, as retrieve does
            if any(
                p.chunk.article_id == c.chunk.article_id and p.chunk.start < c.chunk.end and c.chunk.start < p.chunk.end
                for p in picked
            ):
                continue
            picked.append(c)
            if len(picked) == 10:
                break
        aj = judge_articles([c.chunk.article_id for c in picked], q.articles)
        ej = judge_spans(
            [(c.chunk.article_id, c.chunk.start, c.chunk.end) for c in picked],
            [(s.article_id, s.start, s.end) for s in spans[q.id]],
        )
        r1.append(recall_at_k(aj, 1, 1))
        r5.append(recall_at_k(aj, 1, 5))
        r10.append(recall_at_k(aj, 1, 10))
        mrr.append(reciprocal_rank(aj, 10))
        e5.append(recall_at_k(ej, 1, 5))
    return {
        "R@1": mean(r1) or 0.0,
        "R@5": mean(r5) or 0.0,
        "R@10": mean(r10) or 0.0,
        "MRR@10": mean(mrr) or 0.0,
        "evR@5": mean(e5) or 0.0,
    }


if __name__ == "__main__":
    sys.exit(main())
