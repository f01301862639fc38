"""Checks a generation report's replies again, as the check now stands, into a new report: no LLM writes anything anew.

`recheck_generation.py piaf-generate --as piaf-generate-verified` asks each question of eval/reports/piaf-generate.json
again over the PIAF index (or, with --gold FILE, over the project's index of corpus/), checks the reply recorded
there with the Generator QA_LLM and QA_LLM_VERIFY give (the second reading asks the LLM one short question per
sentence the rules keep), and writes eval/reports/<new>.json and .png; the times are the old run's. Its judged
sentences carry over with `audit_generation.py export NEW` then `carry NEW --from OLD`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from benchlib import piaf_engine

from qa.core.config import Settings
from qa.engine import Engine
from qa.evaluation.cli import run_generation_eval
from qa.evaluation.generation import format_generation
from qa.evaluation.gold import GoldQuestion, load_gold
from qa.evaluation.piaf import english_questions, load_piaf, load_translations, sample_questions, to_gold
from qa.generation.generate import open_generator

REPORTS = Path(__file__).resolve().parent / "reports"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", help="the report to check again, e.g. piaf-generate")
    ap.add_argument("--as", dest="new", required=True, help="the new report's name")
    ap.add_argument("--gold", type=Path, help="the gold file the report's questions come from (default: PIAF)")
    args = ap.parse_args(argv)

    os.environ.setdefault("QA_LLM", "local")
    source = REPORTS / f"{args.report}.json"
    if not source.exists():
        print(f"no report at {source}", file=sys.stderr)
        return 2
    ids = [run["id"] for run in json.loads(source.read_text(encoding="utf-8"))["runs"]]
    questions: dict[str, GoldQuestion] = {}
    if args.gold is not None:
        questions = {q.id: q for q in load_gold(args.gold)}
        engine = Engine.open(Settings(), progress=True)
    else:
        piaf = load_piaf()
        pairs = english_questions(piaf, load_translations(), split="test")
        questions = {q.id: q for pair in pairs for q in pair}
        questions.update({q.id: to_gold(q) for q in sample_questions(piaf, "test") if q.id not in questions})
        engine = piaf_engine(piaf.paragraphs)
    missing = [i for i in ids if i not in questions]
    if missing:
        print(f"{len(missing)} of the report's questions are not in the source, {missing[0]} first", file=sys.stderr)
        return 2
    generator = open_generator(engine.settings)
    if generator is None:
        print("QA_LLM is off: nothing to check with", file=sys.stderr)
        return 2
    stem = REPORTS / args.new
    shutil.copyfile(source, stem.with_suffix(".json"))
    result = run_generation_eval(engine, generator, [questions[i] for i in ids], stem, recheck=True, progress=True)
    print(format_generation(result["score"]))
    print(f"report: {result['report']}; chart: {result['chart']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
