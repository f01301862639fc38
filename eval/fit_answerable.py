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
answers when no probability is fitted). Writes eval/reports/answerable-fit.json and .png. Reading the
questions takes most of the time: the rows are kept (eval/cache/answerable-rows.npz), and --refit fits again
from them alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qa.answering.answerable import ANSWERABLE_FEATURES, MONOTONE, VETOES, drop_answerable, save_answerable
from qa.answering.span_reader import DEFAULT_DIR, AbstainParams, span_reader_for
from qa.core.config import Settings
from qa.evaluation.piaf import EN_PATH, holdout, holdout_index, load_translations
from qa.evaluation.training import ALWAYS_VETO, BUDGET, fit_abstention
from qa.retrieval.query import analyse

ROOT = Path(__file__).resolve().parent


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


@contextmanager
def rules_alone() -> Iterator[float]:
    """The rules alone decide while rows are read: their verdict is what the model is compared with. The span
    reader is the process's shared one: it gets its own parameters back at the end. Yields its shipped `low`."""
    reader = span_reader_for(Settings().cache_dir)
    assert reader is not None, f"no span reader in {DEFAULT_DIR}: run eval/train_span_reader.py first"
    shipped = reader.answerable, reader.abstention
    reader.answerable, reader.abstention = None, AbstainParams()
    try:
        yield shipped[1].low
    finally:
        reader.answerable, reader.abstention = shipped


def read_rows(args: argparse.Namespace, rows_path: Path, tag: str) -> None:
    """Every fitting question read through the product's answer step on the holdout index, its rows kept at
    `rows_path` with the span reader's shipped `low` margin (what the fitted model is compared with)."""
    from benchlib import fit_sides  # type: ignore[import-not-found]
    from train_reader import embed_cached, with_english  # type: ignore[import-not-found]

    piaf, train, calib, engine = fit_sides(args, tag)
    model = engine.manifest.model.name
    with rules_alone() as low:
        removed, held = holdout(piaf, [*train, *calib])
        target = args.cache / f"piaf-holdout-fit{tag}-{model}"
        holdout_index(engine.settings.index_dir, target, removed, engine.encoder)
        held_engine = type(engine).open(engine.settings.with_overrides(index_dir=target), engine.encoder)
        english = load_translations(EN_PATH)
        ids_t = {q.id for q in train}
        ht = with_english([q for q in held if q.id in ids_t], english)
        hc = with_english([q for q in held if q.id not in ids_t], english)
        vectors = args.cache / f"question-vectors-{model}.npz"
        xt, yt, rt = rows(held_engine, ht, embed_cached(engine, ht, vectors))
        xc, yc, rc = rows(held_engine, hc, embed_cached(engine, hc, vectors))
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(rows_path, xt=xt, yt=yt, rt=rt, xc=xc, yc=yc, rc=rc, low=low)


def read_news_rows(args: argparse.Namespace, rows_path: Path) -> None:
    """The news training questions (eval/news.py) read through the product's answer step over their archive,
    their rows kept at `rows_path` as read_rows keeps PIAF's."""
    from news import news_sides, news_vectors  # type: ignore[import-not-found]

    sides, engine = news_sides(args.cache, args.limit)
    with rules_alone() as low:
        xt, yt, rt = rows(engine, sides["train"], news_vectors(engine, sides["train"], args.cache))
        xc, yc, rc = rows(engine, sides["calibrate"], news_vectors(engine, sides["calibrate"], args.cache))
    np.savez(rows_path, xt=xt, yt=yt, rt=rt, xc=xc, yc=yc, rc=rc, low=low)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from benchlib import fit_parser, parse_fit_args, pyplot, save_report  # type: ignore[import-not-found]

    ap = fit_parser(__doc__ or "", "abstention")
    ap.add_argument("--budget", type=float, default=BUDGET, help="wrong abstentions allowed on calibration [%(default)s]")
    ap.add_argument(
        "--vetoes",
        choices=["facts", "measured"],
        default="facts",
        help="signals that abstain alone: the rules of fact (qa.answering.answerable.VETOES: a period, a quantity or a "
        "name the passages or the archive lack, what settles news questions and PIAF's Wikipedia rarely asks) or "
        "only those PIAF's questions measure as nearly never answerable [%(default)s]",
    )
    ap.add_argument(
        "--news",
        action="store_true",
        help="fit on the news training questions too (eval/news.py: helper-written questions over OrangeSum articles), "
        "their calibration articles beside PIAF's calibration pages",
    )
    args = parse_fit_args(ap, argv)
    reports = args.reports

    tag = f"-{args.limit}" if args.limit else ""
    rows_path = args.cache / f"answerable-rows{tag}.npz"
    if args.write and args.out == DEFAULT_DIR and not args.refit:
        # The shipped abstention is what is being refitted: set aside first, it may no longer fit the code (a
        # feature added), and the reader would refuse to load with it. It is written again at the end.
        drop_answerable(args.out)
    if not args.refit:
        read_rows(args, rows_path, tag)
    elif not rows_path.is_file():
        ap.error(f"no rows at {rows_path}: run once without --refit")
    with np.load(rows_path) as kept:
        xt, yt, xc, yc, rc = (kept[k] for k in ("xt", "yt", "xc", "yc", "rc"))
        shipped_low = float(kept["low"])
    # Which calibration rows are the news questions': the model stops and the threshold is chosen on both sides
    # together; the report gives each side's figures apart.
    source = np.zeros(len(yc), dtype=bool)
    if args.news:
        news_path = args.cache / f"answerable-rows-news{tag}.npz"
        if not args.refit or not news_path.is_file():
            read_news_rows(args, news_path)
        with np.load(news_path) as kept:
            xt, yt = np.concatenate([xt, kept["xt"]]), np.concatenate([yt, kept["yt"]])
            xc, yc, rc = (np.concatenate([a, kept[k]]) for a, k in ((xc, "xc"), (yc, "yc"), (rc, "rc")))
            source = np.concatenate([source, np.ones(len(kept["yc"]), dtype=bool)])

    # Nothing read (no sentence to choose from): abstained on, whatever the policy (probability -1, like a veto).
    read_t, read_c = ~np.isnan(xt).any(axis=1), ~np.isnan(xc).any(axis=1)
    always = VETOES if args.vetoes == "facts" else ALWAYS_VETO
    abstention, fit = fit_abstention(
        xt[read_t], yt[read_t], xc[read_c], yc[read_c], args.budget, ANSWERABLE_FEATURES, always, MONOTONE
    )
    probs = np.full(len(xc), -1.0)
    for i in np.flatnonzero(read_c):
        probs[i] = -1.0 if abstention.vetoed(xc[i]) else abstention.probability(xc[i])  # abstained on whatever the threshold
    fitted = probs < abstention.threshold
    margin = np.where(read_c, xc[:, ANSWERABLE_FEATURES.index("margin")], -np.inf)

    def compare(on: np.ndarray) -> dict[str, Any]:
        return {
            "rules": rates(rc[on], yc[on]),
            "rules_or_low_margin": {**rates((rc | (margin < shipped_low))[on], yc[on]), "low": shipped_low},
            "fitted": {**rates(fitted[on], yc[on]), "threshold": abstention.threshold, "vetoes": list(abstention.vetoes)},
        }

    compared = compare(~source)
    curve = []
    for t in np.unique(np.round(probs[(probs >= 0) & ~source], 3)):
        curve.append(rates(probs[~source] < t, yc[~source]) | {"threshold": float(t)})
    importance = dict(
        zip(ANSWERABLE_FEATURES, abstention.model.feature_importance("gain").round(1).tolist(), strict=True)  # type: ignore[attr-defined]
    )
    report = {
        "budget": args.budget,
        "vetoes": args.vetoes,
        "train": {"answerable": int(yt.sum()), "unanswerable": int((~yt).sum())},
        "calibration": {"answerable": int(yc.sum()), "unanswerable": int((~yc).sum())},
        "on_calibration": compared,
        **({"news_on_calibration": compare(source)} if args.news else {}),
        "fit": fit,
        "gain": importance,
        "curve": curve,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "curve"}, indent=2, default=str))
    name = f"answerable-fit{tag}" + ("" if args.vetoes == "facts" else f"-{args.vetoes}") + ("-news" if args.news else "")
    save_report(name, report, reports)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot([c["wrong"] for c in curve], [c["recall"] for c in curve], "-", label="fitted probability, by threshold")
    for policy, marker in (("rules", "s"), ("rules_or_low_margin", "^"), ("fitted", "*")):
        point = compared[policy]
        ax.plot([point["wrong"]], [point["recall"]], marker, markersize=12, label=policy.replace("_", " "))
    ax.axvline(args.budget, color="grey", linestyle="--", label=f"budget {args.budget:.0%}")
    ax.set_xlim(0, 0.2)
    ax.set_xlabel("wrong abstentions (share of answerable)")
    ax.set_ylabel("abstention recall")
    ax.set_title(f"Abstention on PIAF calibration pages' holdout ({len(yc)} questions)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(reports / f"{name}.png", dpi=120)
    if args.write:
        fitted_on = {**fit, "on_calibration": compared, "budget": args.budget, "veto_choice": args.vetoes}
        save_answerable(args.out, abstention, fitted_on)
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
