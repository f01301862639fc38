"""Fits the span reader's sentence chooser: which of the rules' best K sentences answers, a LightGBM ranker over
what the rules and the span reader say of each (qa.answering.chooser.CHOOSER_FEATURES), and writes it beside the
span reader (qa/answering/params/span-reader/chooser.txt and reader.json, --write).

The questions are PIAF's dev half (qa.evaluation.piaf.fit_split: "train" pages fit, "calibrate" pages stop the
boosting and are where it is compared; the test half is never read), French and our English translations of
them, over the PIAF index eval/bench_piaf.py builds. For each, the rules' best K sentences, each with what
completes it, are read by the span reader as the answer step reads them; a sentence is labelled right when it
holds the gold answer. On calibration the chooser is compared with the rules' first and with the rule it
replaces (another sentence only when its margin beats the first's by `delta`, among `k`). Writes
eval/reports/chooser-fit.json and .png. Reading the questions takes most of the time: the rows are kept
(eval/cache/chooser-rows-kK.npz), and --refit fits again from them alone.

--news also fits on the answerable news training questions of the "train" articles (eval/news.py) and reports the
"calibrate" articles' apart (news_on_calibration): they neither fit nor stop the boosting.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.chooser import CHOOSER_FEATURES, Chooser, drop_chooser, save_chooser, window_rows
from qa.answering.span_reader import DEFAULT_DIR, META_FILE, choice_params, span_reader_for
from qa.core.config import Settings
from qa.evaluation.metrics import answer_matches, span_f1
from qa.evaluation.piaf import EN_PATH, load_translations, to_gold
from qa.evaluation.training import fit_ranker
from qa.retrieval.query import analyse

ROOT = Path(__file__).resolve().parent
# Sentences read per question, unless --k says otherwise: as many as the margin rule it replaces reads (k=3 since
# session 18), so /ask reads no more. In session 17's first look, 4 gave 0.750 on calibration and 6 gave 0.756.
K = 3


def read_rows(engine: Any, questions: list[Any], vectors: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Every question's rows (CHOOSER_FEATURES of the rules' best `k` sentences), their labels (holds the gold
    answer), the short answer's F1 in each, and the question each row belongs to."""
    from benchlib import reader_ranked  # type: ignore[import-not-found]
    from tqdm import tqdm

    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None, f"no span reader in {DEFAULT_DIR}: run eval/train_span_reader.py first"
    xs, ys, f1s, groups = [], [], [], []
    for q, qvec in tqdm(list(zip(questions, vectors, strict=True)), desc="reading", unit="q", file=sys.stderr):
        query = analyse(q.question)
        candidates, ranked, texts = reader_ranked(engine, query, qvec, k)
        if not ranked:
            continue
        found = reader.read([q.question] * len(texts), texts)
        xs.append(window_rows(query, candidates, ranked, texts, found))
        ys += [answer_matches(t, q.answers) for t in texts]
        f1s += [span_f1(t[f.start : f.end], q.answers) for t, f in zip(texts, found, strict=True)]
        groups.append(len(texts))
    x = np.concatenate(xs) if xs else np.zeros((0, len(CHOOSER_FEATURES)), np.float32)
    return {"x": x, "y": np.array(ys, dtype=bool), "f1": np.array(f1s), "groups": np.array(groups, dtype=np.int64)}


def read_news_rows(args: Any, k: int, path: Path) -> None:
    """The answerable news training questions' rows of each side, read over their archive, kept at `path`."""
    from news import news_sides, news_vectors  # type: ignore[import-not-found]

    sides, engine = news_sides(args.cache, args.limit)
    kept = {}
    for side, key in (("train", "t"), ("calibrate", "c")):
        questions = [q for q in sides[side] if q.answerable]
        rows = read_rows(engine, questions, news_vectors(engine, questions, args.cache), k)
        kept.update({f"{name}{key}": v for name, v in rows.items()})
    np.savez(path, **kept)


def load_rows(path: Path, side: str) -> dict[str, np.ndarray]:
    with np.load(path) as kept:
        return {key: kept[f"{key}{side}"] for key in ("x", "y", "f1", "groups")}


def joined(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([a[key], b[key]]) for key in a}


def groups_of(values: np.ndarray, groups: np.ndarray) -> list[np.ndarray]:
    return np.split(values, np.cumsum(groups)[:-1])


def picks(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The row each question picks: its highest score (the first among ties)."""
    starts = np.concatenate([[0], np.cumsum(groups)[:-1]]).astype(np.int64)
    return np.array([s + int(np.argmax(g)) for s, g in zip(starts, groups_of(scores, groups), strict=True)], dtype=np.int64)


def by_delta(x: np.ndarray, groups: np.ndarray, k: int, delta: float) -> np.ndarray:
    """The rows the rule without a chooser picks: the rules' first unless another of their best `k` has a
    margin `delta` above it."""
    starts = np.concatenate([[0], np.cumsum(groups)[:-1]]).astype(np.int64)
    chosen = []
    for start, margins in zip(starts, groups_of(x[:, CHOOSER_FEATURES.index("margin")], groups), strict=True):
        best = int(np.argmax(margins[:k]))
        chosen.append(start + (best if margins[best] - margins[0] >= delta else 0))
    return np.array(chosen, dtype=np.int64)


def figures(rows: dict[str, np.ndarray], picked: np.ndarray) -> dict[str, float]:
    return {"answer": float(rows["y"][picked].mean()), "short_f1": float(rows["f1"][picked].mean()), "questions": len(picked)}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from benchlib import fit_parser, fit_sides, parse_fit_args, pyplot, save_report  # type: ignore[import-not-found]
    from train_reader import embed_cached, with_english  # type: ignore[import-not-found]

    ap = fit_parser(__doc__ or "", "chooser")
    ap.add_argument("--k", type=int, default=K, help="how many of the rules' best sentences it reads [%(default)s]")
    ap.add_argument("--news", action="store_true", help="fit on the news training questions' train articles too")
    args = parse_fit_args(ap, argv)
    reports = args.reports
    k = args.k
    tag = f"-{args.limit}" if args.limit else ""
    rows_path = args.cache / f"chooser-rows{tag}-k{k}.npz"
    news_path = args.cache / f"chooser-rows-news{tag}-k{k}.npz"
    if args.write and args.out == DEFAULT_DIR:
        # The shipped chooser is what is being refitted: set aside first, it may no longer fit the code (a feature
        # added), and the reader would refuse to load with it. The rows never read it. It is written again at the end.
        drop_chooser(args.out)
    # The rule the chooser would replace, as the shipped reader keeps it (no need to load the model for it).
    shipped_choice = choice_params(json.loads((DEFAULT_DIR / META_FILE).read_text(encoding="utf-8")))
    if not args.refit:
        _, train, calib, engine = fit_sides(args, tag)
        english = load_translations(EN_PATH)
        vectors = args.cache / f"question-vectors-{engine.manifest.model.name}.npz"
        sides = {}
        for side, raw in (("t", train), ("c", calib)):
            questions = with_english([to_gold(q) for q in raw], english)
            sides[side] = read_rows(engine, questions, embed_cached(engine, questions, vectors), k)
        rows_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(rows_path, **{f"{key}{side}": v for side, d in sides.items() for key, v in d.items()})
    elif not rows_path.is_file():
        ap.error(f"no rows at {rows_path}: run once without --refit")
    if args.news and (not args.refit or not news_path.is_file()):
        read_news_rows(args, k, news_path)
    train_rows, calib_rows = load_rows(rows_path, "t"), load_rows(rows_path, "c")
    if args.news:
        train_rows = joined(train_rows, load_rows(news_path, "t"))

    model = fit_ranker(
        CHOOSER_FEATURES,
        (train_rows["x"], train_rows["y"].astype(np.float32), train_rows["groups"].tolist()),
        (calib_rows["x"], calib_rows["y"].astype(np.float32), calib_rows["groups"].tolist()),
    )
    chooser = Chooser(model, k)

    def compare(rows: dict[str, np.ndarray]) -> dict[str, Any]:
        x, groups = rows["x"], rows["groups"]
        return {
            "rules_first": figures(rows, by_delta(x, groups, 1, 0.0)),
            "margin_rule": {
                **figures(rows, by_delta(x, groups, shipped_choice.k, shipped_choice.delta)),
                "k": shipped_choice.k,
                "delta": shipped_choice.delta,
            },
            "chooser": {**figures(rows, picks(np.asarray(model.predict(x), dtype=np.float64), groups)), "k": k},
            "any_of_k": {"answer": float(np.mean([g.any() for g in groups_of(rows["y"], groups)]))},
        }

    compared = compare(calib_rows)
    groups = calib_rows["groups"]
    importance = dict(zip(CHOOSER_FEATURES, model.feature_importance("gain").round(1).tolist(), strict=True))
    report = {
        "k": k,
        "news": args.news,
        "train": {"questions": len(train_rows["groups"]), "rows": len(train_rows["y"])},
        "calibration": {"questions": len(groups), "rows": len(calib_rows["y"])},
        "on_calibration": compared,
        **({"news_on_calibration": compare(load_rows(news_path, "c"))} if args.news else {}),
        "rounds": model.best_iteration or model.current_iteration(),
        "gain": importance,
    }
    print(json.dumps(report, indent=2, default=str))
    name = f"chooser-fit{tag}" + ("" if k == K else f"-k{k}") + ("-news" if args.news else "")
    save_report(name, report, reports)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [
        "rules' first",
        f"margin rule (k={shipped_choice.k}, delta={shipped_choice.delta:g})",
        f"chooser (k={k})",
        f"any of the {k} (ceiling)",
    ]
    values = [
        compared["rules_first"]["answer"],
        compared["margin_rule"]["answer"],
        compared["chooser"]["answer"],
        compared["any_of_k"]["answer"],
    ]
    ax.bar(labels, values, color=["lightgrey", "grey", "tab:blue", "white"], edgecolor="black")
    for i, v in enumerate(values):
        ax.text(i, v + 0.01, f"{v:.3f}", ha="center", fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("the chosen sentence holds the gold answer")
    ax.set_title(f"Sentence choice on PIAF calibration pages ({len(groups)} questions)")
    fig.tight_layout()
    fig.savefig(reports / f"{name}.png", dpi=120)
    if args.write:
        save_chooser(args.out, chooser, {**report, "gain": importance})
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
