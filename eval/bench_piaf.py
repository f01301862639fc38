"""PIAF through the evaluation harness: French dev/test samples and our English translations, every mode."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from qa.core.config import Settings
from qa.engine import Engine, load_model
from qa.evaluation.harness import embed_seconds
from qa.evaluation.piaf import (
    EN_PATH,
    PIAF_PATH,
    SAMPLE,
    english_questions,
    holdout,
    holdout_index,
    load_piaf,
    load_translations,
    model_tag,
    sample_questions,
    to_gold,
    write_corpus,
)
from qa.evaluation.report import build_report, format_table, write_chart, write_json
from qa.evaluation.suite import evaluate, score_all
from qa.index.sync import sync_corpus

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "cache"
REPORTS = ROOT / "reports"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", choices=["dev", "test"], default="test", help="question sample to run (tune on dev, report test)")
    ap.add_argument("--n", type=int, default=SAMPLE, help="questions in the French sample [%(default)s]")
    ap.add_argument("--index", type=Path, default=None, help="index folder, reused between runs [cache/piaf-index-MODEL]")
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH, help="PIAF SQuAD-format file [%(default)s]")
    ap.add_argument("--no-fr", action="store_true", help="skip the French sample")
    ap.add_argument("--no-en", action="store_true", help="skip the English translations")
    ap.add_argument("--no-baseline", action="store_true", help="skip the LangChain FAISS baseline")
    ap.add_argument("--no-holdout", action="store_true", help="skip abstention on the sample made unanswerable")
    ap.add_argument("--tag", default="", help="suffix of the report names (e.g. to keep a before/after pair)")
    ap.add_argument("--json", action="store_true", help="print the reports as JSON instead of tables")
    args = ap.parse_args(argv)

    piaf = load_piaf(args.piaf)
    corpus = write_corpus(piaf.paragraphs, CACHE / "piaf-corpus").parent
    encoder = load_model(Settings(), progress=True)
    model = model_tag(encoder.info)
    index = args.index or CACHE / f"piaf-index-{model}"
    settings = Settings().with_overrides(index_dir=index, corpus_dir=corpus)
    # Incremental: only paragraphs whose text changed are embedded again (the cache is keyed by content).
    sync_corpus(corpus, index, encoder, progress=True)
    engine = Engine.open(settings, encoder)
    reports = []

    tag = f"-{args.tag}" if args.tag else ""
    if not args.no_fr:
        questions = [to_gold(q) for q in sample_questions(piaf, args.split, args.n)]
        meta = {"split": args.split, "sample_seed_questions": len(questions)}
        reports.append(
            (
                f"piaf-{args.split}{tag}",
                evaluate(engine, questions, f"piaf-{args.split}", baseline=not args.no_baseline, progress=True, meta=meta),
            )
        )
    if not args.no_holdout:
        # Abstention for real: half the paragraphs the sample asks about are dropped from a copy of the index.
        sample = sample_questions(piaf, args.split, args.n)
        removed, held = holdout(piaf, sample)
        target = CACHE / f"piaf-holdout-{args.split}-{model}"
        holdout_index(index, target, removed, encoder)
        held_engine = Engine.open(settings.with_overrides(index_dir=target), encoder)
        meta = {"split": args.split, "removed_paragraphs": len(removed), "unanswerable": sum(not q.answerable for q in held)}
        report = evaluate(held_engine, held, f"piaf-holdout-{args.split}", modes=("hybrid",), baseline=False, meta=meta)
        reports.append((f"piaf-holdout-{args.split}{tag}", report))
    if not args.no_en:
        pairs = english_questions(piaf, load_translations(EN_PATH), args.split)
        fr, en = [p[0] for p in pairs], [p[1] for p in pairs]
        en_scores = score_all(engine, en, baseline=not args.no_baseline, progress=True)
        fr_scores = score_all(engine, fr, baseline=False, progress=True)
        scores = [replace(s, system=f"en:{s.system}") for s in en_scores] + [
            replace(s, system=f"fr:{s.system}") for s in fr_scores
        ]
        report = build_report(
            f"piaf-en-{args.split}", scores, embed_seconds=embed_seconds(engine, en), meta={"split": args.split}
        )
        by = report["systems"]
        report["ratios"]["en_hybrid_over_en_dense_evidence_R_at_5"] = _ratio(by, "en:hybrid", "en:dense")
        report["ratios"]["en_hybrid_over_fr_hybrid_evidence_R_at_5"] = _ratio(by, "en:hybrid", "fr:hybrid")
        reports.append((f"piaf-en-{args.split}{tag}", report))

    for name, report in reports:
        write_json(report, REPORTS / f"{name}.json")
        write_chart(report, REPORTS / f"{name}.png")
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print(format_table(report))
            print(f"written: {REPORTS / name}.json, .png\n")
    return 0


def _ratio(systems: dict[str, dict[str, object]], a: str, b: str) -> float | None:
    x = systems[a]["evidence"]["recall_5"]  # type: ignore[index]
    y = systems[b]["evidence"]["recall_5"]  # type: ignore[index]
    return round(x / y, 3) if isinstance(x, float) and isinstance(y, float) and y else None


if __name__ == "__main__":
    sys.exit(main())
