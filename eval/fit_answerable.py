"""Fits the span reader's abstention as a calibrated probability, on PIAF questions made unanswerable for real,
and writes it beside the span reader (qa/answering/params/span-reader/answerable.txt and reader.json, --write).

The questions are those of PIAF's dev half (qa.evaluation.piaf.fit_split: "train" pages fit, "calibrate"
pages stop the boosting and choose the threshold; the test half is never read), French and our English
translations of them, on a copy of the PIAF index without half the paragraphs they ask about (the copy
eval/train_reader.py makes). Each runs through the product's own answer step with the span reader's fitted
sentence choice, which gives the features the abstention reads (qa.answering.answerable): the reader's margins
and the rules' signals. A LightGBM model of "the passages answer" is fitted on them, with the signals that
settle an abstention alone as vetoes (qa.evaluation.training.fit_abstention), and its threshold is the
highest whose wrong abstentions stay within BUDGET of the calibration pages' answerable questions (vetoes
included). It is compared there with the rules alone and with the rules plus the reader's `low` margin (what
shipped before). Writes eval/reports/answerable-fit.json and .png.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.answerable import ANSWERABLE_FEATURES, save_answerable
from qa.answering.span_reader import DEFAULT_DIR, AbstainParams, span_reader_for
from qa.core.config import Settings
from qa.evaluation.piaf import EN_PATH, PIAF_PATH, fit_split, holdout, holdout_index, load_piaf, load_translations
from qa.evaluation.training import BUDGET, fit_abstention
from qa.retrieval.query import analyse

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"


def rows(engine: Any, questions: list[Any], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: its features (NaN where nothing was read: it abstains whatever the model), whether it is
    answerable, and whether the rules alone abstain."""
    from tqdm import tqdm

    x = np.full((len(questions), len(ANSWERABLE_FEATURES)), np.nan, dtype=np.float32)
    by_rules = np.zeros(len(questions), dtype=bool)
    for i, (q, qvec) in enumerate(tqdm(list(zip(questions, vectors, strict=True)), desc="reading", unit="q", file=sys.stderr)):
        query = analyse(q.question)
        decision = engine.decide(query, qvec, engine.retrieve(query, qvec))
        by_rules[i] = decision.abstain
        if decision.features is not None:
            x[i] = decision.features
    return x, np.array([q.answerable for q in questions]), by_rules


def rates(abstains: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Abstention recall on the unanswerable questions, and the share of answerable ones abstained on."""
    return {"recall": float(abstains[~y].mean()), "wrong": float(abstains[y].mean()), "questions": len(y)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH)
    ap.add_argument("--limit", type=int, default=0, help="only this many questions of each side (a smoke run)")
    ap.add_argument("--budget", type=float, default=BUDGET, help="wrong abstentions allowed on calibration [%(default)s]")
    ap.add_argument("--write", action="store_true", help="write the fitted abstention beside the span reader")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from benchlib import piaf_engine, pyplot, save_report  # type: ignore[import-not-found]
    from train_reader import CACHE, embed_cached, with_english  # type: ignore[import-not-found]

    piaf = load_piaf(args.piaf)
    train = [q for q in piaf.questions if fit_split(q.title) == "train"]
    calib = [q for q in piaf.questions if fit_split(q.title) == "calibrate"]
    if args.limit:
        train, calib = train[: args.limit], calib[: args.limit]
    engine = piaf_engine(piaf.paragraphs)
    model = engine.manifest.model.name
    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None, f"no span reader in {DEFAULT_DIR}: run eval/train_span_reader.py first"
    shipped_low = reader.abstention.low
    # The rules alone decide while the rows are read: their verdict is what the model is compared with.
    reader.answerable, reader.abstention = None, AbstainParams()

    removed, held = holdout(piaf, [*train, *calib])
    target = CACHE / f"piaf-holdout-fit-{model}"
    holdout_index(engine.settings.index_dir, target, removed, engine.encoder)
    held_engine = type(engine).open(engine.settings.with_overrides(index_dir=target), engine.encoder)
    english = load_translations(EN_PATH)
    ids_t = {q.id for q in train}
    ht = with_english([q for q in held if q.id in ids_t], english)
    hc = with_english([q for q in held if q.id not in ids_t], english)
    vectors = CACHE / f"question-vectors-{model}.npz"
    xt, yt, rt = rows(held_engine, ht, embed_cached(engine, ht, vectors))
    xc, yc, rc = rows(held_engine, hc, embed_cached(engine, hc, vectors))
    np.savez(CACHE / f"answerable-rows-{model}.npz", xt=xt, yt=yt, rt=rt, xc=xc, yc=yc, rc=rc)

    # Nothing read (no sentence to choose from): abstained on, whatever the policy.
    read_t, read_c = ~np.isnan(xt).any(axis=1), ~np.isnan(xc).any(axis=1)
    abstention, fit = fit_abstention(xt[read_t], yt[read_t], xc[read_c], yc[read_c], args.budget, ANSWERABLE_FEATURES)
    probs = np.full(len(xc), -1.0)
    for i in np.flatnonzero(read_c):
        probs[i] = 0.0 if abstention.vetoed(xc[i]) else abstention.probability(xc[i])
    fitted = probs < abstention.threshold
    margin = np.where(read_c, xc[:, ANSWERABLE_FEATURES.index("margin")], -np.inf)
    compared = {
        "rules": rates(rc, yc),
        "rules_or_low_margin": {**rates(rc | (margin < shipped_low), yc), "low": shipped_low},
        "fitted": {**rates(fitted, yc), "threshold": abstention.threshold, "vetoes": list(abstention.vetoes)},
    }
    curve = []
    for t in np.unique(np.round(probs[probs >= 0], 3)):
        curve.append(rates(probs < t, yc) | {"threshold": float(t)})
    importance = dict(
        zip(ANSWERABLE_FEATURES, abstention.model.feature_importance("gain").round(1).tolist(), strict=True)  # type: ignore[attr-defined]
    )
    report = {
        "budget": args.budget,
        "train": {"answerable": int(yt.sum()), "unanswerable": int((~yt).sum())},
        "calibration": {"answerable": int(yc.sum()), "unanswerable": int((~yc).sum())},
        "on_calibration": compared,
        "fit": fit,
        "gain": importance,
        "curve": curve,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "curve"}, indent=2, default=str))
    save_report("answerable-fit", report)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot([c["wrong"] for c in curve], [c["recall"] for c in curve], "-", label="fitted probability, by threshold")
    for name, marker in (("rules", "s"), ("rules_or_low_margin", "^"), ("fitted", "*")):
        ax.plot([compared[name]["wrong"]], [compared[name]["recall"]], marker, markersize=12, label=name.replace("_", " "))
    ax.axvline(args.budget, color="grey", linestyle="--", label=f"budget {args.budget:.0%}")
    ax.set_xlim(0, 0.2)
    ax.set_xlabel("wrong abstentions (share of answerable)")
    ax.set_ylabel("abstention recall")
    ax.set_title(f"Abstention on PIAF calibration pages' holdout ({len(yc)} questions)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(REPORTS / "answerable-fit.png", dpi=120)
    if args.write:
        save_answerable(DEFAULT_DIR, abstention, {**fit, "on_calibration": compared, "budget": args.budget})
        print(f"written to {DEFAULT_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
