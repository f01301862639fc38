"""Fits the check's least cosine between a generated sentence and its passages, on sentences a judge read.

Reads a generation report (eval/reports/<report>.json) and its judgments (eval/<report>-judged.jsonl, from
eval/audit_generation.py), scores each judged sentence that the other rules keep with the embedding model
(qa.generation.support), and picks the least cosine at which at least --target of the sentences kept are
judged supported. With --write it goes to qa/generation/params.json under the model's name, with what it was
fitted on, and the check applies it from then on. The report it is fitted on becomes a training set: report the
check on another.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.core.config import Settings
from qa.engine import load_model
from qa.evaluation.generation import load_judgments
from qa.generation.check import strip_marks
from qa.generation.support import PARAMS, Support

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", nargs="?", default="piaf-generate")
    ap.add_argument("--target", type=float, default=0.95, help="share of kept sentences judged supported [%(default)s]")
    ap.add_argument("--write", action="store_true", help="write the threshold to qa/generation/params.json (turns it on)")
    args = ap.parse_args(argv)

    report = json.loads((ROOT / "reports" / f"{args.report}.json").read_text(encoding="utf-8"))
    judged = {key: bool(r["supported"]) for key, r in load_judgments(ROOT / f"{args.report}-judged.jsonl").items()}
    encoder = load_model(Settings(), progress=True)
    support = Support(lambda texts: encoder.embed_passages(texts), threshold=0.0)
    rows = []
    for run in report["runs"]:
        for i, s in enumerate(run["sentences"]):
            key = f"{run['id']}#{i}"
            # Only what the other rules let through is the cosine's to decide.
            if key in judged and s["dropped_because"] is None:
                score = support.score(strip_marks(s["text"]), list(s["cited"].values()))
                rows.append((score, judged[key]))
    rows.sort(reverse=True)
    print(f"{len(rows)} judged sentences kept by the other rules, {sum(j for _, j in rows)} supported")
    best = None
    for k in range(1, len(rows) + 1):
        kept = rows[:k]
        precision = sum(j for _, j in kept) / k
        if precision >= args.target:
            best = (kept[-1][0], precision, k)
    for cut in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        kept = [j for s, j in rows if s >= cut]
        share = sum(kept) / len(kept) if kept else float("nan")
        print(f"  cosine >= {cut:.2f}: {len(kept):3d} kept, {share:.3f} supported")
    if best is None:
        print(f"no cosine keeps {args.target} supported", file=sys.stderr)
        return 1
    threshold, precision, kept_n = best
    model = Path(encoder.info.name).name
    print(f"{model}: min_cosine {threshold:.4f} keeps {kept_n} of {len(rows)}, {precision:.3f} supported")
    if not args.write:
        return 0
    params = json.loads(PARAMS.read_text(encoding="utf-8")) if PARAMS.exists() else {}
    params[model] = {
        "min_cosine": round(threshold, 4),
        "fitted_on": f"eval/reports/{args.report}.json with eval/{args.report}-judged.jsonl",
        "target": args.target,
        "supported_on_fit": round(precision, 3),
        "kept_on_fit": kept_n,
        "candidates_on_fit": len(rows),
    }
    PARAMS.write_text(json.dumps(params, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written to {PARAMS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
