"""Fits when the span reader may overrule the rules' sentence (`k`, `delta`) and how its margin weighs on
abstaining (`low`), on PIAF calibration questions, and writes them into the span reader's reader.json
(--write).

Stage 1, the sentence: each question of the dev half's "calibrate" pages (qa.evaluation.piaf.fit_split; the
test half is never read), French and our English translations of them, runs through the real pipeline on the PIAF index that
eval/bench_piaf.py builds. The rules' best K_MAX sentences, each with what completes it, are read by the span
reader; a (k, delta) pair takes the rules' first unless one of its first k outscores it by delta. The pair kept
is, among those whose chosen sentence holds the gold answer within TOLERANCE of the best, the smallest k and
then the largest delta (fewer readings, fewer overrulings): a reading costs `/ask` time, and on a thousand
questions half a point is noise. With --news, the answerable news training questions of the "train"
articles (eval/news.py) are read too, over their own archive, and the pair kept is the best on the mean of the
two (PIAF and news weigh the same, whatever their sizes): on news the reader deserves more trust than PIAF's
paragraphs give it (session 18).

Stage 2, the abstention: the same questions on a copy of the index without half the paragraphs they ask about
(qa.evaluation.piaf.holdout), answered by the product's own step with the chosen (k, delta). The reader adds
abstentions: below a margin `low` it abstains where the rules answer. It never takes one of the rules' back
(`high` stays open): on the seed gold (in view), letting a confident span overrule them answered 4 of the 10
unanswerable questions the rules abstain on, since the rules read what the reader cannot (names the archive
never mentions, the period asked). The `low` kept abstains on the most unanswerable questions while adding no
wrong abstention to the rules' own (ADDED_BUDGET: with 1 point allowed here, it added 3.7 on PIAF test).
Writes eval/reports/span-reader-calibration.json and .png.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.span_reader import DEFAULT_DIR, META_FILE, AbstainParams, ChoiceParams, span_reader_for
from qa.core.config import Settings
from qa.evaluation.metrics import answer_matches, span_f1
from qa.evaluation.piaf import EN_PATH, PIAF_PATH, fit_split, holdout, holdout_index, load_piaf, load_translations, to_gold
from qa.retrieval.query import analyse

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"
K_MAX = 5
DELTAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
TOLERANCE = 0.005  # answer share within which fewer readings win
ADDED_BUDGET = 0.0  # wrong abstentions the reader may add to the rules', as a share of answerable questions
INF = float("inf")


def readings(engine: Any, questions: list[Any], vectors: np.ndarray) -> list[dict[str, Any]]:
    """Per question: whether each of the rules' best K_MAX windows holds the answer, its margin, its short F1."""
    from benchlib import reader_windows  # type: ignore[import-not-found]
    from tqdm import tqdm

    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None, f"no span reader in {DEFAULT_DIR}: run eval/train_span_reader.py first"
    rows = []
    for q, qvec in tqdm(list(zip(questions, vectors, strict=True)), desc="reading", unit="q", file=sys.stderr):
        texts = reader_windows(engine, q.question, qvec, K_MAX)
        if not texts:
            continue
        found = reader.read([q.question] * len(texts), texts)
        rows.append(
            {
                "id": q.id,
                "lang": q.lang,
                "holds": [answer_matches(t, q.answers) for t in texts],
                "margin": [f.margin for f in found],
                "f1": [span_f1(t[f.start : f.end], q.answers) for t, f in zip(texts, found, strict=True)],
            }
        )
    return rows


def choose(row: dict[str, Any], k: int, delta: float) -> int:
    margins = row["margin"][:k]
    best = int(np.argmax(margins))
    return best if margins[best] - margins[0] >= delta else 0


def grid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for k in range(1, K_MAX + 1):
        for delta in DELTAS if k > 1 else (0.0,):
            picks = [choose(r, k, delta) for r in rows]
            out.append(
                {
                    "k": k,
                    "delta": delta,
                    "answer": float(
                        np.mean([r["holds"][i] if i < len(r["holds"]) else False for r, i in zip(rows, picks, strict=True)])
                    ),
                    "short_f1": float(
                        np.mean([r["f1"][i] if i < len(r["f1"]) else 0.0 for r, i in zip(rows, picks, strict=True)])
                    ),
                }
            )
    return out


def verdicts(engine: Any, questions: list[Any], vectors: np.ndarray) -> list[dict[str, Any]]:
    """Per question of the holdout: whether it is answerable, whether the rules abstain, the short answer's margin."""
    from tqdm import tqdm

    rows = []
    for q, qvec in tqdm(list(zip(questions, vectors, strict=True)), desc="abstaining", unit="q", file=sys.stderr):
        query = analyse(q.question)
        decision = engine.decide(query, qvec, engine.retrieve(query, qvec))
        margin = decision.short.score if decision.short is not None else -INF
        # The reader's own abstention is off here (the default AbstainParams): what abstains is the rules.
        rows.append({"id": q.id, "answerable": q.answerable, "rules": decision.abstain, "margin": margin})
    return rows


def abstention_grid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recall and wrong abstentions for each `low` (the margin's quantiles), the rules' abstentions kept."""
    margins = sorted({r["margin"] for r in rows if np.isfinite(r["margin"])})
    cuts = [-INF, *np.quantile(margins, np.linspace(0, 0.5, 51)).tolist()] if margins else [-INF]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out = []
    for low in cuts:
        params = AbstainParams(low, INF)
        wrong = sum(params.abstains(r["rules"], r["margin"]) for r in answerable)
        right = sum(params.abstains(r["rules"], r["margin"]) for r in unanswerable)
        out.append({"low": low, "recall": right / max(1, len(unanswerable)), "wrong": wrong / max(1, len(answerable))})
    return out


def choose_pair(table: list[dict[str, Any]], tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The pair with the fewest readings, then the fewest overrulings, among those within `tolerance` of the best."""
    top = max(r["answer"] for r in table)
    return min((r for r in table if r["answer"] >= top - tolerance), key=lambda r: (r["k"], -r["delta"]))


def with_news(piaf_table: list[dict[str, Any]], limit: int = 0) -> list[dict[str, Any]]:
    """The grid over PIAF beside the grid over the news training questions: each pair's answer and short F1 the
    mean of the two, each side's own kept under "piaf" and "news"."""
    from news import news_sides, news_vectors  # type: ignore[import-not-found]
    from train_reader import CACHE  # type: ignore[import-not-found]

    sides, engine = news_sides(CACHE, limit)
    questions = [q for q in sides["train"] if q.answerable]
    vectors = news_vectors(engine, questions, CACHE)
    news = {(r["k"], r["delta"]): r for r in grid(readings(engine, questions, vectors))}
    return [merge_sides(p, news[p["k"], p["delta"]]) for p in piaf_table]


def merge_sides(piaf: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """One (k, delta) pair's figures on both sides, and their mean, which chooses."""
    sides = {"piaf": {k: piaf[k] for k in ("answer", "short_f1")}, "news": {k: news[k] for k in ("answer", "short_f1")}}
    mean = {k: (piaf[k] + news[k]) / 2 for k in ("answer", "short_f1")}
    return {"k": piaf["k"], "delta": piaf["delta"], **mean, **sides}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH)
    ap.add_argument("--limit", type=int, default=0, help="only this many calibration questions (a smoke run)")
    ap.add_argument("--write", action="store_true", help="write the chosen k and delta into the span reader's reader.json")
    ap.add_argument("--news", action="store_true", help="choose k and delta on PIAF and the news training questions alike")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from benchlib import piaf_engine, pyplot, save_report  # type: ignore[import-not-found]
    from train_reader import CACHE, embed_cached, with_english  # type: ignore[import-not-found]

    piaf = load_piaf(args.piaf)
    calib = [q for q in piaf.questions if fit_split(q.title) == "calibrate"]
    if args.limit:
        calib = calib[: args.limit]
    questions = with_english([to_gold(q) for q in calib], load_translations(EN_PATH))
    engine = piaf_engine(piaf.paragraphs)
    vectors = embed_cached(engine, questions, CACHE / f"question-vectors-{engine.manifest.model.name}.npz")
    rows = readings(engine, questions, vectors)
    table = grid(rows)
    if args.news:
        table = with_news(table, args.limit)
    best = choose_pair(table)
    rules = next(r for r in table if r["k"] == 1)

    print("stage 2: abstention on an index without half the paragraphs asked about", file=sys.stderr)
    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None
    reader.choice = ChoiceParams(best["k"], best["delta"])
    reader.abstention = AbstainParams()
    removed, held = holdout(piaf, calib)
    target = CACHE / f"piaf-holdout-span-{engine.manifest.model.name}"
    holdout_index(engine.settings.index_dir, target, removed, engine.encoder)
    held_engine = type(engine).open(engine.settings.with_overrides(index_dir=target), engine.encoder)
    held_vectors = embed_cached(engine, held, CACHE / f"question-vectors-{engine.manifest.model.name}.npz")
    judged = verdicts(held_engine, held, held_vectors)
    options = abstention_grid(judged)
    rules_only = options[0]
    within = [o for o in options if o["wrong"] <= rules_only["wrong"] + ADDED_BUDGET]
    abstain = max(within, key=lambda o: (round(o["recall"], 6), -o["wrong"], -o["low"]))

    report = {
        "questions": len(rows),
        "news": args.news,
        "sentence": {"rules_first": rules, "chosen": best, "grid": table},
        "abstention": {
            "questions": len(judged),
            "unanswerable": sum(not r["answerable"] for r in judged),
            "added_budget": ADDED_BUDGET,
            "rules_only": rules_only,
            "chosen": abstain,
        },
    }
    print(json.dumps({"sentence": {"rules_first": rules, "chosen": best}, "abstention": report["abstention"]}, indent=2))
    save_report("span-reader-calibration", report)
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    for k in range(2, K_MAX + 1):
        pts = [r for r in table if r["k"] == k]
        ax.plot([r["delta"] for r in pts], [r["answer"] for r in pts], marker="o", label=f"k={k}")
    ax.axhline(rules["answer"], color="grey", linestyle="--", label="rules' sentence")
    ax.set_xlabel("delta (margin another sentence must win by)")
    ax.set_ylabel("answer holds the gold answer")
    ax.set_title(f"Sentence: PIAF calibration, {len(rows)} questions" + (", mean with news" if args.news else ""))
    ax.legend()
    bx.plot(
        [o["wrong"] for o in options], [o["recall"] for o in options], "-", color="tab:blue", label="rules, or margin below low"
    )
    bx.plot([rules_only["wrong"]], [rules_only["recall"]], "s", color="black", label="rules alone")
    bx.plot([abstain["wrong"]], [abstain["recall"]], "*", color="tab:red", markersize=14, label="chosen")
    bx.axvline(rules_only["wrong"] + ADDED_BUDGET, color="grey", linestyle="--", label="rules' wrong + budget")
    bx.axvline(0.03, color="tab:orange", linestyle=":", label="issue #17's 3%")
    bx.set_xlim(0, 0.3)
    bx.set_xlabel("wrong abstentions (share of answerable)")
    bx.set_ylabel("abstention recall")
    bx.set_title(f"Abstention: holdout of the calibration pages, {len(judged)} questions")
    bx.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "span-reader-calibration.png", dpi=120)
    if args.write:
        meta_path = DEFAULT_DIR / META_FILE
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["choice"] = {"k": best["k"], "delta": best["delta"], "fit": {"questions": len(rows), **best, "rules_first": rules}}
        # JSON has no infinity: an open end is written as a number no margin reaches.
        meta["abstention"] = {
            "low": max(abstain["low"], -1e9),
            "high": 1e9,
            "fit": {**report["abstention"], "chosen": abstain},
        }
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        print(f"written to {meta_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
