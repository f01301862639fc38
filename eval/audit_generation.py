"""The check's verdicts against a reader's: every generated sentence of a run, judged supported or not by its cited passages.

`export REPORT` writes the sentences, shuffled and without the check's verdicts, for a judge to read
(eval/reports/<report>-audit.jsonl: key, sentence, cited passages). The judge writes one line per key,
{"key", "supported": true|false, "why"}, to eval/<report>-judged.jsonl. `score REPORT` then gives the
share judged supported among the sentences the check kept (what users see), among those it dropped, and
among all of them (what the LLM wrote), and writes them into the report under "audit".
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"
_MARKS = re.compile(r"\s*\[[\d,;\s]+\]")


def _sentences(report: dict[str, object]) -> list[dict[str, object]]:
    out = []
    for run in report["runs"]:  # type: ignore[attr-defined]
        for i, s in enumerate(run["sentences"]):
            if s["citations"]:  # a sentence citing nothing has nothing to be judged against
                out.append({"key": f"{run['id']}#{i}", "lang": run["lang"], "kept": s["dropped_because"] is None, **s})
    return out


def export(name: str) -> Path:
    report = json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))
    rows = _sentences(report)
    random.Random(0).shuffle(rows)
    path = REPORTS / f"{name}-audit.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for r in rows:
            record = {"key": r["key"], "sentence": _MARKS.sub("", str(r["text"])).strip(), "passages": r["cited"]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def score(name: str) -> dict[str, object]:
    path = REPORTS / f"{name}.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    judged = {}
    for line in (ROOT / f"{name}-judged.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            judged[record["key"]] = bool(record["supported"])
    rows = [r for r in _sentences(report) if r["key"] in judged]

    def share(subset: list[dict[str, object]]) -> dict[str, object]:
        n = len(subset)
        return {"sentences": n, "supported": round(sum(judged[str(r["key"])] for r in subset) / n, 3) if n else None}

    audit = {
        "judged": len(rows),
        "kept": share([r for r in rows if r["kept"]]),
        "dropped": share([r for r in rows if not r["kept"]]),
        "all_written": share(rows),
        "by_language": {lang: share([r for r in rows if r["kept"] and r["lang"] == lang]) for lang in ("fr", "en")},
    }
    report["audit"] = audit
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return audit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["export", "score"])
    ap.add_argument("report", help="report name in eval/reports, e.g. piaf-generate")
    args = ap.parse_args(argv)
    if args.action == "export":
        print(export(args.report))
    else:
        print(json.dumps(score(args.report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
