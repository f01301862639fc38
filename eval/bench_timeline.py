"""The timeline at scale and on OrangeSum: GET /timeline p50/p95 over a 10,000-article index, and event F1.

    python eval/bench_timeline.py [--articles 10000]

The index holds the first N OrangeSum articles plus the articles of the hand-written gold timelines
(GOLDS below). /timeline reads no vector:
passages are embedded by a stand-in (a hash of their words) so the index takes minutes, not the ~18 hours
the real model would take; the events, their selection and the HTTP path are the product's own. The
service runs on a real loopback port (uvicorn, the guarded protocol `qa serve` uses). Reports:
eval/reports/bench_timeline.json/.png, eval/reports/timeline_orangesum.json and timeline_orangesum_unseen.json.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import CACHE, ORANGESUM, REPORTS, pct, pyplot, save_report, say

from qa.core.config import Settings
from qa.core.model import ModelInfo
from qa.engine import Engine
from qa.evaluation.timeline import load_timeline_gold, score_timeline
from qa.index.sync import sync_corpus

EVAL = Path(__file__).resolve().parent
# Two hand-written gold timelines of 20 articles each, written from the articles alone before any output was
# seen: Notre-Dame (in view since: the weekday rule was corrected after reading its misses) and Brexit (never
# looked at, only scored).
GOLDS = (EVAL / "timeline_orangesum.jsonl", EVAL / "timeline_orangesum_unseen.jsonl")
DIM = 64
# What users ask the timeline: the whole archive, a period, a subject, a subject in a period.
REQUESTS: tuple[dict[str, Any], ...] = (
    {},
    {"from": "2019-04", "to": "2019-04"},
    {"from": "2018", "to": "2019"},
    {"q": "Notre-Dame"},
    {"q": "incendie de Notre-Dame", "from": "2019-04-15", "to": "2019-04-30"},
    {"q": "gilets jaunes"},
    {"q": "Brexit", "from": "2019"},
    {"q": "What happened in Moscow?"},
    {"q": "élection présidentielle", "to": "2017-12"},
    {"q": "coronavirus confinement", "from": "2020-03", "to": "2020-05"},
)


class HashEncoder:
    """A stand-in model: each text's vector is a hash of its words. Only for an index whose vectors nobody reads."""

    info = ModelInfo("stand-in-hash", DIM, "hash0001", "(none)")

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % DIM] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v + 1.0 / np.sqrt(DIM)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)


def write_corpus(dest: Path, n: int, extra_ids: set[str]) -> Path:
    """The first n OrangeSum records and those with the gold's ids, as one .jsonl.gz (rewritten only when absent)."""
    path = dest / "corpus" / "orangesum.jsonl.gz"
    if path.exists():
        return path.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as src, gzip.open(path, "wt", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i < n or str(json.loads(line)["id"]) in extra_ids:
                out.write(line)
    return path.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=10_000, help="OrangeSum articles in the index [%(default)s]")
    ap.add_argument("--rounds", type=int, default=20, help="times each request is timed [%(default)s]")
    args = ap.parse_args(argv)

    golds = {path.stem: load_timeline_gold(path) for path in GOLDS if path.exists()}
    gold_ids = {a for gold in golds.values() for g in gold for a, _ in g.evidence}
    tag = hashlib.sha256(" ".join(sorted(gold_ids)).encode()).hexdigest()[:8]
    base = CACHE / f"timeline-{args.articles}-{tag}"
    corpus = write_corpus(base, args.articles, gold_ids)
    encoder = HashEncoder()
    t0 = time.perf_counter()
    sync_corpus(corpus, base / "index", encoder, progress=True)
    say(f"index ready in {time.perf_counter() - t0:.0f} s")
    settings = Settings().with_overrides(corpus_dir=corpus, index_dir=base / "index")
    engine = Engine.open(settings, encoder)

    import httpx
    import uvicorn

    from qa.api.app import create_app
    from qa.api.serve import server_config

    port = free_port()
    server = uvicorn.Server(server_config(create_app(settings, engine), settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/timeline"
    rows = []
    try:
        with httpx.Client(timeout=600) as client:
            t0 = time.perf_counter()
            first = client.get(url, params={"limit": 1})
            cold = time.perf_counter() - t0
            first.raise_for_status()
            for params in REQUESTS:
                times, count = [], 0
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    res = client.get(url, params={**params, "limit": 100})
                    times.append(time.perf_counter() - t0)
                    res.raise_for_status()
                    count = len(res.json()["events"])
                rows.append(
                    {
                        "request": params,
                        "events": count,
                        "p50_ms": round(pct(times, 50) * 1000, 2),
                        "p95_ms": round(pct(times, 95) * 1000, 2),
                    }
                )
                say(json.dumps(rows[-1], ensure_ascii=False))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    every = [r["p50_ms"] for r in rows]
    health = engine.health()
    report = {
        "articles": health["articles"],
        "chunks": health["chunks"],
        "events": len(engine.events()),
        "first_request_s": round(cold, 2),
        "p50_ms_median_over_requests": round(float(np.median(every)), 2),
        "requests": rows,
    }
    save_report("bench_timeline", report)
    for name, gold in golds.items():
        articles = len({a for g in gold for a, _ in g.evidence})
        scored = {"benchmark": name, "articles": articles, **score_timeline(engine.events().events, gold)}
        (REPORTS / f"{name}.json").write_text(json.dumps(scored, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"{name}: dates {scored['dates']}, events {scored['event']}")
    chart(report, REPORTS / "bench_timeline.png")
    return 0


def chart(report: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    rows = report["requests"]
    labels = [" ".join(f"{k}={v}" for k, v in r["request"].items()) or "(all)" for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r["p50_ms"] for r in rows], height=0.4, label="p50")
    ax.barh(y + 0.2, [r["p95_ms"] for r in rows], height=0.4, label="p95")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms per GET /timeline (limit 100), loopback HTTP")
    ax.set_title(f"GET /timeline over {report['articles']:,} articles, {report['events']:,} events")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    say(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
