"""What one `/ask` costs on the seed index: SQL statements issued, and its time against embedding the question alone.

Every gold question is asked through `Engine.ask` (what `POST /ask` runs), k=5, hybrid; the statements are
counted with SQLite's trace callback on the engine's connection, those qa issues apart from those FTS5 runs
inside a MATCH ("-- SELECT ... chunk_terms_idx"). Then, for ROUNDS rounds, each question is embedded alone
and asked, alternately, so the machine's drift hits both alike: the ratio of the two p50s is the cost of
everything but the model. It imports through either layout, so the same script measures the commit before
the layout change (`PYTHONPATH=<that checkout> python eval/bench_ask.py --label before`).

    python eval/bench_ask.py [--index DIR] [--label after] [--rounds 3]

Appends its run to eval/reports/bench_ask.json (one entry per label) and redraws bench_ask.png.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"
GOLD = ROOT / "gold.jsonl"
CORPUS = ROOT.parent / "corpus"


def _imports() -> tuple[Any, Any]:
    try:
        from qa.core.config import Settings
    except ImportError:  # the layout before qa/core existed
        from qa.config import Settings  # type: ignore[no-redef]
    from qa.engine import Engine

    return Settings, Engine


def measure(index: Path, rounds: int) -> dict[str, Any]:
    settings_cls, engine_cls = _imports()
    if not (index / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "qa", "index", "--corpus", str(CORPUS), "--index", str(index), "-q"], check=True)
    engine = engine_cls.open(settings_cls().with_overrides(index_dir=index))
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    engine.ask(questions[0], 5)  # the connection, its PRAGMAs, the model's first call
    ours: list[int] = []
    everything: list[int] = []
    seen: list[str] = []
    con = engine.store.connection()
    con.set_trace_callback(seen.append)
    for q in questions:
        seen.clear()
        engine.ask(q, 5)
        everything.append(len(seen))
        ours.append(sum(1 for s in seen if not s.startswith("--") and "data_version" not in s))
    con.set_trace_callback(None)
    ask_s: list[float] = []
    embed_s: list[float] = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            engine.embed_question(q)
            embed_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.ask(q, 5)
            ask_s.append(time.perf_counter() - t0)
    return {
        "questions": len(questions),
        "rounds": rounds,
        "statements_per_ask": {"median": statistics.median(ours), "min": min(ours), "max": max(ours)},
        "statements_per_ask_with_fts5_internal": {
            "median": statistics.median(everything),
            "min": min(everything),
            "max": max(everything),
        },
        "ask_p50_ms": round(1000 * statistics.median(ask_s), 1),
        "embed_p50_ms": round(1000 * statistics.median(embed_s), 1),
        "ask_p50_over_embed_p50": round(statistics.median(ask_s) / statistics.median(embed_s), 3),
    }


def chart(runs: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.bar(labels, [runs[k]["statements_per_ask"]["median"] for k in labels], color="#4c72b0")
    left.set_title("SQL statements per /ask (median)")
    x = range(len(labels))
    right.bar([i - 0.2 for i in x], [runs[k]["embed_p50_ms"] for k in labels], 0.4, label="embed the question")
    right.bar([i + 0.2 for i in x], [runs[k]["ask_p50_ms"] for k in labels], 0.4, label="whole /ask")
    right.set_xticks(list(x), labels)
    right.set_ylabel("p50 (ms)")
    right.set_title("/ask against embedding alone")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / "cache" / "seed-index", help="seed index (built if missing)")
    ap.add_argument("--label", default="after", help="name of this run in the report [%(default)s]")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    result = measure(args.index, args.rounds)
    print(json.dumps(result, indent=2))
    out = REPORTS / "bench_ask.json"
    runs: dict[str, dict[str, Any]] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    runs[args.label] = result
    out.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    chart(runs, REPORTS / "bench_ask.png")
    print(f"written: {out}, bench_ask.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
