"""Generated answers on a PIAF sample: 50 French test questions and their 50 English translations, over the PIAF index.

Each question goes through Engine.ask and the Generator that `POST /ask` with "generate": true uses (QA_LLM; the
local model by default here). English answers are judged against the English forms of the gold answers in
eval/answers_en.jsonl, written from the gold answers alone before any generated answer was seen.
Writes eval/reports/piaf-generate.json (every question's record) and .png.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchlib import piaf_engine

from qa.evaluation.cli import run_generation_eval
from qa.evaluation.generation import format_generation
from qa.evaluation.piaf import PIAF_PATH, english_questions, load_piaf, load_translations, sample_questions, to_gold
from qa.generation.generate import open_generator

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50, help="French test questions, each with its English translation [%(default)s]")
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH, help="PIAF SQuAD-format file [%(default)s]")
    ap.add_argument("--offset", type=int, default=0, help="skip this many pairs first (another sample) [%(default)s]")
    ap.add_argument("--extra-fr", type=int, default=0, help="also this many French test questions that have no translation")
    ap.add_argument("--extra-offset", type=int, default=0, help="skip this many of those first (another sample) [%(default)s]")
    ap.add_argument("--tag", default="", help="suffix of the report name")
    ap.add_argument("--recheck", action="store_true", help="check the report's replies again instead of generating anew")
    args = ap.parse_args(argv)

    os.environ.setdefault("QA_LLM", "local")
    piaf = load_piaf(args.piaf)
    engine = piaf_engine(piaf.paragraphs)
    generator = open_generator(engine.settings)
    if generator is None:
        print("QA_LLM is off: nothing to generate with", file=sys.stderr)
        return 2
    # The first test-split questions that have a translation, by id: a fixed sample, the same every run.
    translations = load_translations()
    pairs = sorted(english_questions(piaf, translations, split="test"), key=lambda p: p[0].id)[args.offset : args.offset + args.n]
    questions = [q for pair in pairs for q in pair]
    if args.extra_fr:
        # French test questions of the 1,000-question sample with no translation, in its (seeded) order.
        others = [to_gold(q) for q in sample_questions(piaf, "test") if q.id not in translations]
        questions += others[args.extra_offset : args.extra_offset + args.extra_fr]
    tag = f"-{args.tag}" if args.tag else ""
    stem = REPORTS / f"piaf-generate{tag}"
    result = run_generation_eval(engine, generator, questions, stem, recheck=args.recheck, progress=True)
    print(format_generation(result["score"]))
    print(f"report: {result['report']}; chart: {result['chart']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
