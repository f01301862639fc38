"""One evaluation end to end: every mode of the engine and the baseline over a question set, scored and reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qa.evaluation.baseline import SYSTEM, build_baseline, run_baseline
from qa.evaluation.gold import GoldQuestion, resolve_evidence
from qa.evaluation.harness import embed_seconds, run_modes
from qa.evaluation.report import build_report
from qa.evaluation.scoring import SystemScore, score_system
from qa.retrieval.search import MODES, Mode

if TYPE_CHECKING:
    from qa.engine import Engine


def article_text(engine: Engine, article_id: str) -> str | None:
    """The text the index stores for an article (the offsets' reference), or None."""
    article = engine.store.get_article(article_id)
    return None if article is None else article.text


def score_all(
    engine: Engine,
    questions: Sequence[GoldQuestion],
    *,
    modes: Sequence[Mode] = MODES,
    baseline: bool = True,
    progress: bool = False,
) -> list[SystemScore]:
    """The questions run and scored in each mode, then (optionally) through the LangChain baseline."""
    spans = resolve_evidence(questions, lambda aid: article_text(engine, aid))
    runs = run_modes(engine, questions, modes, progress=progress)
    scores: list[SystemScore] = [score_system(m, questions, spans, runs[m]) for m in modes]
    if baseline:
        base_runs = run_baseline(build_baseline(engine), questions)
        scores.append(score_system(SYSTEM, questions, spans, base_runs, answers=False))
    return scores


def evaluate(
    engine: Engine,
    questions: Sequence[GoldQuestion],
    name: str,
    *,
    modes: Sequence[Mode] = MODES,
    baseline: bool = True,
    progress: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run and score the questions in each mode (and the LangChain baseline); the report as a dict."""
    scores = score_all(engine, questions, modes=modes, baseline=baseline, progress=progress)
    info = {
        "model": engine.manifest.model.name,
        "index": engine.where,
        "articles": engine.manifest.articles,
        "chunks": engine.manifest.chunks,
        # The answer step's settings: reports made with another abstention or without the span reader differ.
        "span_reader": engine.settings.span_reader,
        "abstention": engine.settings.abstention,
        "questions": len(questions),
        **(meta or {}),
    }
    return build_report(
        name, scores, embed_seconds=embed_seconds(engine, questions), baseline=SYSTEM if baseline else None, meta=info
    )
