"""Fits the reader on questions run through the real pipeline: sentence ranker, span model, calibrated abstention.

Three stages, each over the engine's own candidates:
1. on the full index, each question's pool sentences, labelled by whether they hold a gold answer: the
   sentence ranker (LightGBM, binary);
2. on the same runs, the spans of the chosen-and-extended sentence that holds the answer, labelled by their
   SQuAD F1 to the gold answers: the span model (LightGBM, cross-entropy on F1);
3. on an index without half the paragraphs asked about, each question's question features through the
   fitted ranker and span model, labelled by whether its paragraph is still there: the abstention (a
   logistic regression over standardised features), whose threshold is the lowest probability on the
   calibration questions that keeps wrong abstentions within the budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answering.evidence import extend, pool_sentences
from qa.answering.features import SENTENCE_FEATURES, sentence_table
from qa.answering.reader import ABSTENTION_MODEL, QUESTION_FEATURES, READER_FILE, SENTENCE_MODEL, SPAN_MODEL, Abstention, Reader
from qa.answering.spans import CATEGORICAL, SPAN_FEATURES, span_table
from qa.evaluation.gold import GoldQuestion
from qa.evaluation.metrics import answer_matches, span_f1
from qa.retrieval.candidates import Candidate
from qa.retrieval.query import analyse

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from qa.engine import Engine

SEED = 20261201
# Largest share of answerable calibration questions the threshold may turn into abstentions.
BUDGET = 0.03
# Shared by both LightGBM models: small trees, slow learning, deterministic on any machine.
LGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
ROUNDS = 400
# Signals that may settle an abstention alone (chosen by choose_vetoes on the training questions).
VETO_CANDIDATES = ("unheard_names", "known_missing", "missing_dates", "off_period", "no_quantity", "missing_names")
ALWAYS_VETO = ("known_missing",)
VETO_SUPPORT = 20
# At 0.1 the missing period joins (4% of its 25 training questions answerable) and calibration recall falls
# from 0.468 to 0.431: the model weighs it better than a veto does.
VETO_SHARE = 0.02
EARLY_STOP = 30

Embed = Callable[[Sequence[str]], "NDArray[np.float32]"]


@dataclass
class Run:
    """One question through the pipeline's first stage: its pool sentences' rows and labels, its span rows."""

    question: GoldQuestion
    rows: NDArray[np.float32]
    labels: NDArray[np.float32]
    span_rows: NDArray[np.float32] | None = None
    span_labels: NDArray[np.float32] | None = None


@dataclass
class Fitted:
    """What fitting produced, and how it did on the calibration questions."""

    reader: Reader
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Pool:
    """What the answer step starts from for one question: its passages, their vectors, the archive's IDF."""

    candidates: tuple[Candidate, ...]
    sentence_vectors: Mapping[str, NDArray[np.float32]]
    window_vectors: Mapping[str, NDArray[np.float32]]
    idf: Mapping[str, float]


def pool_of(engine: Engine, question: str, qvec: NDArray[np.float32]) -> Pool:
    """The question's retrieved passages and what the answer step reads of them."""
    query = analyse(question)
    retrieved = engine.retrieve(query, qvec)
    svecs, wvecs = engine.pool_vectors(retrieved)
    return Pool(tuple(retrieved.candidates), svecs, wvecs, engine.archive().idf(query.terms))


def run_of(q: GoldQuestion, qvec: NDArray[np.float32], pool: Pool) -> Run | None:
    """One answerable question's pool sentences with their labels, and the spans of its answering sentence."""
    query = analyse(q.question)
    cands = pool.candidates
    sentences = pool_sentences(cands, pool.sentence_vectors, qvec, pool.window_vectors)
    if not sentences or not query.terms:
        return None
    table = sentence_table(query, cands, sentences, pool.idf)
    labels = np.array([answer_matches(s.text, q.answers) for s in sentences], dtype=np.float32)
    run = Run(q, table.rows, labels)
    positives = [i for i in range(len(sentences)) if labels[i]]
    if positives:
        # The spans are those of the text the answer step would show: the sentence as extended.
        s = sentences[max(positives, key=lambda i: sentences[i].cosine)]
        span = extend(query, cands[s.index], s)
        text = cands[s.index].passage.chunk.excerpt(span)
        spans = span_table(query, text)
        if spans.spans:
            run.span_rows = spans.rows
            run.span_labels = np.array([span_f1(text[a:b], q.answers) for a, b in spans.spans], dtype=np.float32)
    return run


def sentence_runs(engine: Engine, questions: Sequence[GoldQuestion], vectors: NDArray[np.float32]) -> list[Run]:
    """Every answerable question's run through the pipeline's first stage (questions with nothing to read left out)."""
    runs = (run_of(q, qvec, pool_of(engine, q.question, qvec)) for q, qvec in zip(questions, vectors, strict=True))
    return [r for r in runs if r is not None]


def _stack(runs: Sequence[Run], spans: bool) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    if spans:
        pairs = [(r.span_rows, r.span_labels) for r in runs if r.span_rows is not None and r.span_labels is not None]
        width = len(SPAN_FEATURES)
    else:
        pairs = [(r.rows, r.labels) for r in runs]
        width = len(SENTENCE_FEATURES)
    if not pairs:
        return np.zeros((0, width), dtype=np.float32), np.zeros(0, dtype=np.float32)
    return np.vstack([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def fit_lgb(train: Sequence[Run], valid: Sequence[Run], *, spans: bool) -> Any:
    """A LightGBM model of the sentence labels (binary: its probabilities are abstention features) or of the
    spans' F1 graded 0-4 within each sentence (lambdarank: only which span is best matters; it beat
    cross-entropy on F1, 0.402 against 0.383 on calibration)."""
    x, y = _stack(train, spans)
    vx, vy = _stack(valid, spans)
    names = list(SPAN_FEATURES if spans else SENTENCE_FEATURES)
    params = {**LGB_PARAMS, "objective": "lambdarank" if spans else "binary"}
    categorical = [c for c in CATEGORICAL if c in names]
    group = vgroup = None
    if spans:
        params.update(eval_at=[1], lambdarank_truncation_level=10)
        y, vy = _grades(y), _grades(vy)
        group, vgroup = _groups(train), _groups(valid)
    return _boost(params, names, (x, y, group), (vx, vy, vgroup), categorical)


Rows = tuple["NDArray[np.float32]", "NDArray[np.float32]", "list[int] | None"]  # features, labels, query groups


def _boost(params: dict[str, Any], names: list[str], train: Rows, valid: Rows, categorical: Sequence[str] = ()) -> Any:
    """A LightGBM model of the training rows, stopped early on the validation rows when they hold two labels."""
    import lightgbm

    x, y, group = train
    vx, vy, vgroup = valid
    data = lightgbm.Dataset(x, y, group=group, feature_name=names, categorical_feature=list(categorical), free_raw_data=False)
    callbacks: list[Callable[..., Any]] = []
    valid_sets = []
    if len(vy) and len(set(vy.tolist())) > 1:
        valid_sets = [lightgbm.Dataset(vx, vy, group=vgroup, reference=data)]
        callbacks = [lightgbm.early_stopping(EARLY_STOP, verbose=False)]
    return lightgbm.train(params, data, num_boost_round=ROUNDS, valid_sets=valid_sets, callbacks=callbacks)


def fit_ranker(names: Sequence[str], train: Rows, valid: Rows) -> Any:
    """A small LightGBM lambdarank model of which row of each group holds the answer (rows, 0/1 labels, group
    sizes), stopped early on the validation rows: the span reader's sentence chooser."""
    params = {**LGB_PARAMS, "objective": "lambdarank", "eval_at": [1], "num_leaves": 4, "min_data_in_leaf": 30}
    return _boost(params, list(names), train, valid)


def _grades(f1: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.minimum(4, np.round(f1 * 4)).astype(np.float32)


def _groups(runs: Sequence[Run]) -> list[int]:
    return [len(r.span_labels) for r in runs if r.span_rows is not None and r.span_labels is not None]


def question_rows(
    engine: Engine, reader: Reader, questions: Sequence[GoldQuestion], vectors: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Each question's QUESTION_FEATURES through the fitted sentence and span models (zeros: nothing to read)."""
    rows = np.zeros((len(questions), len(QUESTION_FEATURES)), dtype=np.float32)
    for i, (q, qvec) in enumerate(zip(questions, vectors, strict=True)):
        query = analyse(q.question)
        decision = engine.decide(query, qvec, engine.retrieve(query, qvec), reader=reader)
        if decision.reading is not None:
            rows[i] = decision.reading.features
    return rows


def choose_vetoes(
    x: NDArray[np.float32],
    y: NDArray[np.bool_],
    names: Sequence[str] = QUESTION_FEATURES,
    always: Sequence[str] = ALWAYS_VETO,
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """The signals that settle an abstention alone: those seen on at least VETO_SUPPORT training questions of
    which at most VETO_SHARE were answerable; plus those `always` kept (by default the well-known name absent in
    both its forms, too rare in PIAF to measure, the rule that always held on the gold questions). Returns them
    and what was measured."""
    chosen, measured = [], {}
    for name in dict.fromkeys((*VETO_CANDIDATES, *always)):
        if name not in names:
            continue
        on = x[:, list(names).index(name)] > 0
        share = float(y[on].mean()) if on.any() else 1.0
        measured[name] = {"questions": int(on.sum()), "answerable_share": round(share, 4)}
        if name in always or (on.sum() >= VETO_SUPPORT and share <= VETO_SHARE):
            chosen.append(name)
    return chosen, measured


def fit_abstention(
    x: NDArray[np.float32],
    y: NDArray[np.bool_],
    cx: NDArray[np.float32],
    cy: NDArray[np.bool_],
    budget: float = BUDGET,
    names: Sequence[str] = QUESTION_FEATURES,
    always: Sequence[str] = ALWAYS_VETO,
    monotone: Mapping[str, int] | None = None,
) -> tuple[Abstention, dict[str, Any]]:
    """The vetoes and a LightGBM model of "answerable" on the training rows (x, y), stopped early on the
    calibration rows (cx, cy), where the threshold is chosen too, vetoes included in the budget of wrong
    abstentions. LightGBM, not a logistic regression: it learns that a missing name weighs only when the
    sentence is far (the old rules' bar), which a sum of weights cannot (calibration recall 0.466 against 0.419)."""
    vetoes, measured = choose_vetoes(x, y, names, always)
    free, cfree = ~_vetoed(x, vetoes, names), ~_vetoed(cx, vetoes, names)
    params = {**LGB_PARAMS, "objective": "binary", "num_leaves": 4, "min_data_in_leaf": 30}
    if monotone:
        unknown = set(monotone) - set(names)
        if unknown:
            raise ValueError(f"monotone constraints on features the model does not read: {sorted(unknown)}")
        # Which way each feature may move the probability (+1 up, -1 down, 0 free), in `names` order.
        params["monotone_constraints"] = [monotone.get(name, 0) for name in names]
    train = (x[free], y[free].astype(np.float32), None)
    model = _boost(params, list(names), train, (cx[cfree], cy[cfree].astype(np.float32), None))
    probs = np.asarray(model.predict(cx), dtype=np.float64) if len(cx) else np.zeros(0)
    probs[~cfree] = -1.0  # abstained on whatever the threshold
    threshold, recall, wrong = choose_threshold(probs, cy, budget)
    report = {
        "calibration_abstention_recall": recall,
        "calibration_wrong_abstentions": wrong,
        "threshold": threshold,
        "vetoes": vetoes,
        "veto_candidates_on_training": measured,
        "monotone": dict(monotone or {}),
    }
    return Abstention(model, threshold, tuple(vetoes), tuple(names)), report


def _vetoed(x: NDArray[np.float32], vetoes: Sequence[str], names: Sequence[str]) -> NDArray[np.bool_]:
    out = np.zeros(len(x), dtype=bool)
    for name in vetoes:
        out |= x[:, list(names).index(name)] > 0
    return out


def choose_threshold(probs: NDArray[np.float64], answerable: NDArray[np.bool_], budget: float) -> tuple[float, float, float]:
    """The highest threshold whose wrong abstentions (answerable questions below it) stay within budget:
    (threshold, abstention recall, share of answerable questions abstained on). Probabilities below 0 are
    questions abstained on whatever the threshold."""
    ok = probs[answerable]
    bad = probs[~answerable]

    def rates(t: float) -> tuple[float, float]:
        return (float(np.mean(bad < t)) if len(bad) else 0.0, float(np.mean(ok < t)) if len(ok) else 0.0)

    best = (0.0, *rates(0.0))
    for t in sorted({round(p, 4) for p in probs.tolist() if p >= 0}):
        recall, wrong = rates(t)
        if wrong > budget:
            break
        best = (t, recall, wrong)
    return best


def save(fitted: Fitted, folder: Path) -> None:
    """The reader as plain files: reader.json and the two LightGBM text models."""
    folder.mkdir(parents=True, exist_ok=True)
    reader = fitted.reader
    reader.sentences.save_model(str(folder / SENTENCE_MODEL))  # type: ignore[attr-defined]
    reader.spans.save_model(str(folder / SPAN_MODEL))  # type: ignore[attr-defined]
    if reader.abstention is not None:
        reader.abstention.model.save_model(str(folder / ABSTENTION_MODEL))  # type: ignore[attr-defined]
    meta = {
        "sentence_features": list(SENTENCE_FEATURES),
        "span_features": list(SPAN_FEATURES),
        "abstention": reader.abstention.to_dict() if reader.abstention is not None else None,
        "policy": {"sentence": reader.policy.sentence, "abstention": reader.policy.abstention},
        "lightgbm": LGB_PARAMS,
        "fit": fitted.report,
    }
    (folder / READER_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def top1(reader: Reader, runs: Sequence[Run]) -> dict[str, float]:
    """On runs: share whose best-scored sentence holds the answer, and mean F1 of the best span where one holds it."""
    hits = []
    f1s = []
    for r in runs:
        probs = reader.sentence_probabilities(r.rows)
        hits.append(bool(r.labels[int(np.argmax(probs))]) if len(probs) else False)
        if r.span_rows is not None and r.span_labels is not None:
            f1s.append(float(r.span_labels[int(np.argmax(reader.span_scores(r.span_rows)))]))
    return {
        "sentence_holds_answer": float(np.mean(hits)) if hits else 0.0,
        "span_f1_in_answering_sentence": float(np.mean(f1s)) if f1s else 0.0,
        "questions": len(runs),
    }


def answer_figures(
    engine: Engine, reader: Reader | None, questions: Sequence[GoldQuestion], vectors: NDArray[np.float32]
) -> dict[str, float]:
    """Through the whole answer step (the reader, or the rules when None): the share of answers holding a gold
    answer, the short answer's mean F1, and the share abstained on."""
    from qa.answering.answer import compose_answer

    held, f1, abstained = [], [], []
    for q, qvec in zip(questions, vectors, strict=True):
        query = analyse(q.question)
        decision = engine.decide(query, qvec, engine.retrieve(query, qvec), reader=reader if reader is not None else "rules")
        answer = compose_answer(decision)
        held.append(answer_matches(answer.answer, q.answers))
        f1.append(span_f1(answer.short.text if answer.short is not None else None, q.answers))
        abstained.append(answer.answer is None)
    n = max(1, len(questions))
    return {"answer_holds": sum(held) / n, "short_f1": sum(f1) / n, "abstained": sum(abstained) / n, "questions": len(questions)}
