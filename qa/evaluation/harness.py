"""Runs questions through the same Engine the CLI and HTTP service use, in each mode, timing every call."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.retrieval.search import MODES, Mode

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.evaluation.gold import GoldQuestion

# Metrics go to rank 10, so that many passages are asked for (the answer itself reads only the first few).
EVAL_K = 10


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One cited passage, as a span of its article."""

    article_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Run:
    """What one system answered to one question, and how long it took."""

    question_id: str
    system: str
    results: tuple[Retrieved, ...]
    answer: str | None
    seconds: float
    short: str | None = None


def ask_one(engine: Engine, question: GoldQuestion, mode: Mode, k: int = EVAL_K) -> Run:
    """One timed `Engine.ask`: exactly what `qa ask` and `POST /ask` run."""
    t0 = time.perf_counter()
    answer = engine.ask(question.question, k, mode=mode)
    seconds = time.perf_counter() - t0
    results = tuple(Retrieved(c.article_id, c.start, c.end) for c in answer.citations)
    short = answer.short.text if answer.short is not None else None
    return Run(question.id, mode, results, answer.answer, seconds, short)


def run_modes(
    engine: Engine,
    questions: Sequence[GoldQuestion],
    modes: Sequence[Mode] = MODES,
    *,
    k: int = EVAL_K,
    progress: bool = False,
) -> dict[str, list[Run]]:
    """Every question in every mode; modes alternate per question so drifts in machine speed hit all alike."""
    from tqdm import tqdm

    for mode in modes:  # warm caches (model, SQLite pages, lazy imports) before anything is timed
        ask_one(engine, questions[0], mode, k)
    runs: dict[str, list[Run]] = {m: [] for m in modes}
    for q in tqdm(questions, desc="asking", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True):
        for mode in modes:
            runs[mode].append(ask_one(engine, q, mode, k))
    return runs


def embed_seconds(engine: Engine, questions: Sequence[GoldQuestion]) -> list[float]:
    """Time to embed each question alone: the floor any answer's latency is compared with."""
    engine.embed_question(questions[0].question)
    out: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        engine.embed_question(q.question)
        out.append(time.perf_counter() - t0)
    return out
