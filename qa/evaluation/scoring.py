"""Scores runs against gold questions: retrieval at article and evidence level, answers, abstention, latency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from qa.evaluation.gold import GoldQuestion, Span
from qa.evaluation.harness import Run
from qa.evaluation.metrics import (
    abstention_precision_recall,
    answer_matches,
    judge_articles,
    judge_spans,
    mean,
    ndcg_at_k,
    percentile_ms,
    recall_at_k,
    reciprocal_rank,
    span_f1,
)

RECALL_KS = (1, 5, 10)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Mean ranking metrics over the answerable questions."""

    recall_1: float | None
    recall_5: float | None
    recall_10: float | None
    mrr_10: float | None
    ndcg_10: float | None


@dataclass(frozen=True, slots=True)
class SystemScore:
    """Everything measured for one system (a mode of the engine, or the baseline) on one question set."""

    system: str
    questions: int
    answerable: int
    article: Ranking
    evidence: Ranking
    answer_accuracy: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    wrong_abstentions: int | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    # Mean SQuAD F1 of the short answer over the answerable questions with acceptable answers (none given
    # counts 0); None when there are no answers to score.
    short_f1: float | None = None
    # Ids of the questions each check failed on, to read them rather than guess.
    misses: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _ranking(judged: Sequence[Sequence[frozenset[int]]], n_gold: Sequence[int]) -> Ranking:
    pairs = list(zip(judged, n_gold, strict=True))
    return Ranking(
        recall_1=mean([recall_at_k(j, n, 1) for j, n in pairs]),
        recall_5=mean([recall_at_k(j, n, 5) for j, n in pairs]),
        recall_10=mean([recall_at_k(j, n, 10) for j, n in pairs]),
        mrr_10=mean([reciprocal_rank(j, 10) for j, _ in pairs]),
        ndcg_10=mean([ndcg_at_k(j, n, 10) for j, n in pairs]),
    )


def score_system(
    system: str,
    questions: Sequence[GoldQuestion],
    spans: Mapping[str, Sequence[Span]],
    runs: Sequence[Run],
    *,
    answers: bool = True,
) -> SystemScore:
    """Score one system's runs (one per question, any order); `answers=False` for a retriever without answers."""
    by_id = {r.question_id: r for r in runs}
    missing = [q.id for q in questions if q.id not in by_id]
    if missing:
        raise ValueError(f"no run for question(s) {missing[:5]}")
    answerable = [q for q in questions if q.answerable]
    art_judged, art_n, ev_judged, ev_n = [], [], [], []
    misses: dict[str, list[str]] = {
        "article_top5": [],
        "evidence_top5": [],
        "answer": [],
        "wrong_abstention": [],
        "answered_unanswerable": [],
    }
    for q in answerable:
        run = by_id[q.id]
        aj = judge_articles([r.article_id for r in run.results], q.articles)
        gold = [(s.article_id, s.start, s.end) for s in spans[q.id]]
        ej = judge_spans([(r.article_id, r.start, r.end) for r in run.results], gold)
        art_judged.append(aj)
        art_n.append(len(q.articles))
        ev_judged.append(ej)
        ev_n.append(len(gold))
        if recall_at_k(aj, len(q.articles), 5) < 1:
            misses["article_top5"].append(q.id)
        if recall_at_k(ej, len(gold), 5) < 1:
            misses["evidence_top5"].append(q.id)
    accuracy = precision = recall = short_f1 = None
    wrong: int | None = None
    if answers:
        correct = [answer_matches(by_id[q.id].answer, q.answers) for q in answerable]
        misses["answer"] = [q.id for q, ok in zip(answerable, correct, strict=True) if not ok]
        accuracy = mean([1.0 if ok else 0.0 for ok in correct])
        short_f1 = mean([span_f1(by_id[q.id].short, q.answers) for q in answerable if q.answers])
        abstained = [by_id[q.id].answer is None for q in questions]
        precision, recall = abstention_precision_recall(abstained, [q.answerable for q in questions])
        misses["wrong_abstention"] = [q.id for q, a in zip(questions, abstained, strict=True) if a and q.answerable]
        misses["answered_unanswerable"] = [q.id for q, a in zip(questions, abstained, strict=True) if not a and not q.answerable]
        wrong = len(misses["wrong_abstention"])
    else:
        misses = {k: v for k, v in misses.items() if k in ("article_top5", "evidence_top5")}
    seconds = [by_id[q.id].seconds for q in questions]
    return SystemScore(
        system=system,
        questions=len(questions),
        answerable=len(answerable),
        article=_ranking(art_judged, art_n),
        evidence=_ranking(ev_judged, ev_n),
        answer_accuracy=accuracy,
        abstention_precision=precision,
        abstention_recall=recall,
        wrong_abstentions=wrong,
        latency_p50_ms=percentile_ms(seconds, 50),
        latency_p95_ms=percentile_ms(seconds, 95),
        short_f1=short_f1,
        misses=misses,
    )
