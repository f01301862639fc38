"""Embedding throughput on Ray against one process: passages/s per node, on 1 and 2 loopback nodes.

    python eval/bench_ray.py [--articles 150]

Runs itself again inside a network namespace of its own (qa/index/ray_cluster.py). The same OrangeSum passages
are embedded by the model in this process (one thread), then by `embed_on_ray` on a cluster of one node and of
two (one thread, one actor each). "steady" leaves out the actors' start (the model loading on each node).
Report: eval/reports/bench_ray.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from benchlib import ROOT, orangesum_lines, pyplot, save_report, say

from qa.core.config import Settings
from qa.core.model import stamp_of
from qa.core.types import Article
from qa.engine import load_model
from qa.index.prepare import VectorRow, embedded_spans, prepare
from qa.index.ray_cluster import in_namespace, loopback_cluster
from qa.index.ray_embed import ModelSpec, embed_on_ray
from qa.ingest import parse_text_file

INSIDE = "QA_BENCH_RAY_INSIDE"


class _Collect:
    """A writer that has no vector yet and keeps the time each batch of vectors came back."""

    def __init__(self) -> None:
        self.times: list[tuple[float, int]] = []

    def missing_vectors(self, hashes: Iterable[str]) -> set[str]:
        return set(hashes)

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        self.times.append((time.perf_counter(), len(rows)))


def _articles(n: int) -> list[Article]:
    out = []
    for i, line in enumerate(orangesum_lines(0, n)):
        rec = json.loads(line)
        out.append(parse_text_file(f"{rec['title']}\n\n{rec['article']}".encode(), stem=f"o{i}", suffix=".txt"))
    return out


def _on_ray(nodes: int, articles: list[Article], spec: ModelSpec) -> dict[str, Any]:
    with loopback_cluster(nodes) as address:
        sink = _Collect()
        per_node: Counter[str] = Counter()
        t = time.perf_counter()
        done = embed_on_ray(address, articles, sink, spec, progress=False, per_node=per_node)  # type: ignore[arg-type]
        wall = time.perf_counter() - t
    # Steady: from the first batch back to the last, over what came back after the first.
    first, last = sink.times[0][0], sink.times[-1][0]
    after_first = done - sink.times[0][1]
    steady = after_first / (last - first) if last > first else float("nan")
    return {
        "nodes": nodes,
        "passages": done,
        "wall_s": round(wall, 1),
        "passages_per_s_wall": round(done / wall, 2),
        "passages_per_s_steady": round(steady, 2),
        "passages_per_s_per_node_steady": round(steady / nodes, 2),
        "per_node": dict(per_node),
    }


def inside(args: argparse.Namespace) -> None:
    settings = Settings(threads=1)
    encoder = load_model(settings, progress=False)
    spec = ModelSpec(settings.model, str(settings.cache_dir), settings.runtime, 1, stamp_of(encoder))
    articles = _articles(args.articles)
    chunks = [c for a in articles for c in prepare(a).chunks]
    unique = list({c.content_hash: c for c in chunks}.values())
    t = time.perf_counter()
    encoder.embed_passages_with_spans([c.text for c in unique], [embedded_spans(c) for c in unique])
    local = time.perf_counter() - t
    rows = [
        {
            "nodes": 0,
            "what": "one process, one thread",
            "passages": len(unique),
            "passages_per_s_steady": round(len(unique) / local, 2),
        }
    ]
    for nodes in (1, 2):
        rows.append(_on_ray(nodes, articles, spec))
        say(json.dumps(rows[-1]))
    out = {
        "what": "embedding throughput (passages with their sentence and window spans), embeddinggemma-300m int8, "
        "one thread per node, nodes on loopback sharing this machine's cores",
        "cpus": os.cpu_count(),
        "articles": len(articles),
        "passages_per_article": round(len(chunks) / len(articles), 2),
        "rows": rows,
    }
    save_report("bench_ray", out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = ["local, 1 thread", "ray, 1 node", "ray, 2 nodes"]
    ax.bar(labels, [r["passages_per_s_steady"] for r in rows])
    ax.set_ylabel("passages/s (steady)")
    ax.set_title(f"embedding throughput ({out['cpus']} cores shared)")
    fig.tight_layout()
    fig.savefig(ROOT / "eval" / "reports" / "bench_ray.png", dpi=110)
    print(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=150)
    args = ap.parse_args()
    if os.environ.get(INSIDE):
        inside(args)
        return
    env = os.environ | {INSIDE: "1"}
    sys.exit(subprocess.run(in_namespace([sys.executable, *sys.argv]), env=env, check=False).returncode)


if __name__ == "__main__":
    main()
