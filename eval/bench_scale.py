"""Search at scale: exact against IVF (latency, recall@10), and /ask latency and service memory at 10k and 100k chunks.

    python eval/bench_scale.py ann   # dense search alone: flat vs IVF over real and stand-in e5 vectors
    python eval/bench_scale.py ask   # /ask through Engine.ask and a real `qa serve`, exact vs approximate
    python eval/bench_scale.py postgres   # the same sizes on PostgreSQL + pgvector (eval/bench_backends.py scale)

`ann` chooses APPROX_THRESHOLD, NLIST_FACTOR and NPROBE (qa/dense.py). Queries are real: OrangeSum titles
and the gold questions, embedded by the real model as questions. Passages are real e5 vectors where we
have them (eval/cache/bench/real-index*) and, past that, vectors from a Gaussian fitted to those.
Reports: eval/reports/bench_scale_<what>.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    CACHE,
    REPORTS,
    ROOT,
    GaussianEncoder,
    median,
    orangesum_lines,
    pct,
    pyplot,
    real_vectors,
    rss_mb,
    save_report,
    say,
    scale_questions,
    write_slice,
)

from qa.core.config import Settings
from qa.core.model import ModelInfo
from qa.engine import Engine, load_model
from qa.index import dense as dense_mod
from qa.index.dense import FaissIndex
from qa.index.manifest import read_manifest
from qa.index.snapshot import load_snapshot
from qa.index.sync import sync_corpus
from qa.index.writer import IndexWriter

FULL = CACHE / "full"
K = 10
CANDIDATES = 50  # what retrieval asks of the dense index (qa/search.py)


def _gold_questions() -> list[str]:
    lines = (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _queries(enc: Any, n: int) -> np.ndarray:
    """Real questions as the model embeds them: gold questions, then OrangeSum titles past the indexed slices."""
    texts = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for line in orangesum_lines(35_000, None):
        title = json.loads(line).get("title")
        if title:
            texts.append(str(title))
        if len(texts) >= n:
            break
    return np.asarray(enc.embed_queries(texts[:n]), dtype=np.float32)


def _recall(truth: list[np.ndarray], got: list[np.ndarray], k: int) -> float:
    return float(np.mean([len(set(t[:k].tolist()) & set(g[:k].tolist())) / k for t, g in zip(truth, got, strict=True)]))


def _timed_search(index: FaissIndex, queries: np.ndarray, k: int, nprobe: int = 0) -> tuple[list[np.ndarray], list[float]]:
    ids, times = [], []
    for q in queries:
        t = time.perf_counter()
        got, _ = index.search(q, k, nprobe=nprobe or None)
        times.append((time.perf_counter() - t) * 1000)
        ids.append(got)
    return ids, times


def _ann_at(vecs: np.ndarray, queries: np.ndarray, factors: list[float], probes: list[int]) -> dict[str, Any]:
    n, dim = vecs.shape
    ids = np.arange(n, dtype=np.int64)
    flat = FaissIndex.build(dim, ids, vecs, kind="flat")
    truth, flat_ms = _timed_search(flat, queries, CANDIDATES)
    row: dict[str, Any] = {"n": n, "flat_p50_ms": round(median(flat_ms), 3), "flat_p95_ms": round(pct(flat_ms, 95), 3), "ivf": []}
    for f in factors:
        nlist = max(1, round(f * np.sqrt(n)))
        t = time.perf_counter()
        ivf = FaissIndex.empty(dim, "ivf", vecs[:: max(1, n // (64 * nlist))], nlist)
        train_s = time.perf_counter() - t
        ivf.add(ids, vecs)
        for p in [*probes, dense_mod.nprobe_for(nlist)]:
            got, ms = _timed_search(ivf, queries, CANDIDATES, p)
            row["ivf"].append(
                {
                    "nlist_factor": f,
                    "nlist": nlist,
                    "nprobe": p,
                    "chosen": (f, p) == (dense_mod.NLIST_FACTOR, dense_mod.nprobe_for(nlist)),
                    "train_s": round(train_s, 2),
                    "p50_ms": round(median(ms), 3),
                    "p95_ms": round(pct(ms, 95), 3),
                    "recall_at_10": round(_recall(truth, got, 10), 4),
                    "recall_at_50": round(_recall(truth, got, 50), 4),
                }
            )
        del ivf
    return row


def cmd_ann(args: argparse.Namespace) -> None:
    enc = load_model(Settings(), progress=False)
    real = real_vectors(*args.real_store)
    queries = _queries(enc, args.queries)
    say(f"{len(real)} real passage vectors, {len(queries)} real queries")
    # Distinct vectors only: duplicate passages share one vector, and ties make recall ambiguous.
    real = np.unique(real, axis=0)
    gauss = GaussianEncoder(ModelInfo("x", real.shape[1], "x", "x"), real)
    factors, probes = args.factors, args.probes
    rows = [{"data": "real e5"} | _ann_at(real, queries, factors, probes)]
    for n in args.sizes:
        vecs = gauss.sample([f"s{i}" for i in range(n)])
        rows.append({"data": "Gaussian fitted to real e5"} | _ann_at(vecs, queries, factors, probes))
        say(json.dumps({k: v for k, v in rows[-1].items() if k != "ivf"}))
    # The realism check: the stand-in at the real pool's size, against the real vectors.
    same = gauss.sample([f"s{i}" for i in range(len(real))])
    rows.insert(1, {"data": "Gaussian fitted to real e5 (same n as real)"} | _ann_at(same, queries, factors, probes))
    out = {
        "what": "dense search alone, one query at a time, top-50 (what retrieval asks): flat (exact) vs IVF-flat",
        "queries": len(queries),
        "faiss_threads": __import__("faiss").omp_get_max_threads(),
        "rows": rows,
        "chosen": {
            "APPROX_THRESHOLD": dense_mod.APPROX_THRESHOLD,
            "NLIST_FACTOR": dense_mod.NLIST_FACTOR,
            "NPROBE_FRACTION": dense_mod.NPROBE_FRACTION,
        },
    }
    save_report("bench_scale_ann", out)
    plot_ann(out)


def plot_ann(out: dict[str, Any]) -> None:
    """The chart of `ann`'s report: latency against size, recall against latency."""
    rows = out["rows"]
    factors = sorted({x["nlist_factor"] for x in rows[0]["ivf"]})
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    synth = [r for r in rows if r["data"] == "Gaussian fitted to real e5"]
    a1.plot([r["n"] for r in synth], [r["flat_p50_ms"] for r in synth], "o-", label="flat (exact)")
    for f in factors:
        for p in (32, 64) if len(factors) > 1 else ():
            pts = [(r["n"], next(x for x in r["ivf"] if x["nlist_factor"] == f and x["nprobe"] == p)) for r in synth]
            a1.plot([n for n, _ in pts], [x["p50_ms"] for _, x in pts], ".--", label=f"IVF {f:g}√n lists, nprobe {p}")
    chosen = [(r["n"], next(x for x in r["ivf"] if x["chosen"])) for r in synth]
    a1.plot([n for n, _ in chosen], [x["p50_ms"] for _, x in chosen], "s-", label="IVF as configured (√n lists, ⅓ probed)")
    a1.axvline(dense_mod.APPROX_THRESHOLD, color="grey", ls=":", label="APPROX_THRESHOLD")
    a1.set_xlabel("vectors")
    a1.set_ylabel("search p50 (ms)")
    a1.set_title("dense search latency (top-50, one query)")
    a1.legend(fontsize=7)
    for r in rows:
        if r["data"].startswith("Gaussian") and r["n"] not in (100_000,) and "same" not in r["data"]:
            continue
        xs = sorted((x for x in r["ivf"] if x["nlist_factor"] == dense_mod.NLIST_FACTOR), key=lambda x: x["nprobe"])
        a2.plot([x["p50_ms"] for x in xs], [x["recall_at_10"] for x in xs], "o-", label=f"{r['data']}, n={r['n']}")
        for x in xs:
            a2.annotate(str(x["nprobe"]), (x["p50_ms"], x["recall_at_10"]), fontsize=7)
    a2.set_xlabel("IVF search p50 (ms)")
    a2.set_ylabel("recall@10 against exact")
    a2.set_title(f"IVF, {dense_mod.NLIST_FACTOR:g}√n lists; labels: nprobe")
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_scale_ann.png", dpi=110)


# --- /ask at 10k and 100k chunks --------------------------------------------------------------------------
def _sized(dest: Path, records: int, src: Path | None) -> Path:
    """An index of OrangeSum's first `records` records: a copy of `src` shrunk through sync_corpus, or built
    afresh when src is None; passage vectors from the Gaussian stand-in. Reused when it exists."""
    if (dest / "index" / "manifest.json").exists():
        return dest / "index"
    shutil.rmtree(dest, ignore_errors=True)
    if src is not None:
        shutil.copytree(src, dest / "index", ignore=shutil.ignore_patterns(".write.lock"))
    write_slice(dest / "corpus" / "orangesum.jsonl.gz", 0, records)
    enc = load_model(Settings(), progress=False)
    info = ModelInfo(enc.info.name, enc.info.dim, enc.info.fingerprint, enc.info.path)
    stand_in = GaussianEncoder(info, real_vectors(CACHE / "real-index" / "store.sqlite"))
    report = sync_corpus(dest / "corpus", dest / "index", stand_in, progress=True)
    say(f"{dest.name}: {report.to_dict() | {'errors': len(report.errors)}}")
    return dest / "index"


def _set_kind(index: Path, kind: str) -> None:
    """Rewrite the dense base as flat or IVF (a new generation, as a commit makes it)."""
    enc = load_model(Settings(), progress=False)
    writer = IndexWriter(index, enc)  # always rebuilt: IVF lists trained with today's NLIST_FACTOR
    try:
        writer.commit(force_kind=kind)
    finally:
        writer.close()


def _questions(n: int) -> list[str]:
    return scale_questions(n)


def _engine_latency(index: Path, questions: list[str], enc: Any) -> dict[str, Any]:
    engine = Engine.open(Settings(index_dir=index), enc)
    engine.ask(questions[0])
    ms, dense_ms = [], []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        ms.append((time.perf_counter() - t) * 1000)
        qv = engine.embed_question(q)
        t = time.perf_counter()
        engine.dense.search(qv, CANDIDATES)
        dense_ms.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(median(ms), 1), "p95_ms": round(pct(ms, 95), 1), "dense_search_p50_ms": round(median(dense_ms), 2)}


def _http_latency(index: Path, questions: list[str]) -> dict[str, Any]:
    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.api.service import start_qa_serve, wait_healthy

    log = index.parent / "serve.log"
    serve = start_qa_serve(
        index.parent / "corpus", index, log, token=None, extra_env={"QA_THREADS": os.environ.get("QA_THREADS", "")}
    )
    try:
        wait_healthy(serve.url, 600, serve.proc)
        idle = rss_mb(serve.proc.pid)
        ms = []
        with httpx.Client(base_url=serve.url, timeout=120) as client:
            client.post("/ask", json={"question": questions[0]})
            for q in questions:
                t = time.perf_counter()
                res = client.post("/ask", json={"question": q})
                ms.append((time.perf_counter() - t) * 1000)
                assert res.status_code == 200, res.text
        after = rss_mb(serve.proc.pid)
    finally:
        serve.stop()
    return {
        "p50_ms": round(median(ms), 1),
        "p95_ms": round(pct(ms, 95), 1),
        "rss_idle_mib": round(idle[0], 1),
        "rss_after_mib": round(after[0], 1),
        "rss_peak_mib": round(after[1], 1),
    }


def cmd_ask(args: argparse.Namespace) -> None:
    enc = load_model(Settings(), progress=False)
    questions = _questions(args.questions)
    sizes = {
        "10k": _sized(CACHE / "ask-10k", args.records_10k, None),
        "100k": _sized(CACHE / "ask-100k", args.records_100k, FULL / "index-30k"),
    }
    rows = []
    for label, index in sizes.items():
        m = read_manifest(index)
        recall_q = [enc.embed_queries([q])[0] for q in questions]
        results: dict[str, Any] = {}
        hits: dict[str, list[list[int]]] = {}
        for kind in ("flat", "ivf"):
            _set_kind(index, kind)
            _, dense = load_snapshot(index)
            hits[kind] = [[i for i, _ in dense.search(q, K)] for q in recall_q]
            results[kind] = {"engine": _engine_latency(index, questions, enc)}
            if not args.no_http:
                results[kind]["http"] = _http_latency(index, questions)
            say(f"{label} {kind}: {json.dumps(results[kind])}")
        recall = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(hits["flat"], hits["ivf"], strict=True)]))
        rows.append(
            {"size": label, "articles": m.articles, "chunks": m.chunks, "recall_at_10_ivf_vs_flat": round(recall, 4)} | results
        )
        _set_kind(index, dense_mod.kind_for(m.chunks))
    out = {
        "what": "/ask latency through Engine.ask (in process) and a real `qa serve` (HTTP), exact vs IVF, and the "
        "service's memory; OrangeSum articles, passage vectors from the Gaussian stand-in, questions real",
        "questions": len(questions),
        "QA_THREADS": os.environ.get("QA_THREADS", "(default)"),
        "rows": rows,
    }
    save_report("bench_scale_ask", out)
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r['size']} {k}" for r in rows for k in ("flat", "ivf")]
    side = "http" if not args.no_http else "engine"
    a1.bar(labels, [r[k][side]["p50_ms"] for r in rows for k in ("flat", "ivf")], label="p50")
    a1.bar(
        labels,
        [r[k][side]["p95_ms"] - r[k][side]["p50_ms"] for r in rows for k in ("flat", "ivf")],
        bottom=[r[k][side]["p50_ms"] for r in rows for k in ("flat", "ivf")],
        label="p95",
    )
    a1.set_ylabel("ms")
    a1.set_title(f"/ask latency ({side})")
    a1.legend()
    if not args.no_http:
        a2.bar(labels, [r[k]["http"]["rss_after_mib"] for r in rows for k in ("flat", "ivf")])
        a2.set_ylabel("MiB")
        a2.set_title("qa serve RSS after the questions")
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_scale_ask.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    ann = sub.add_parser("ann")
    ann.add_argument("--sizes", type=int, nargs="+", default=[10_000, 25_000, 50_000, 100_000, 150_000])
    ann.add_argument("--queries", type=int, default=300)
    ann.add_argument("--factors", type=float, nargs="+", default=[0.5, 1.0, 2.0], help="IVF lists per sqrt(n)")
    ann.add_argument("--probes", type=int, nargs="+", default=[16, 32, 64, 128], help="nprobe values (plus the chosen one)")
    ann.add_argument(
        "--real-store",
        type=Path,
        nargs="+",
        default=[CACHE / "real-index" / "store.sqlite", CACHE / "real-index-2" / "store.sqlite"],
    )
    ask = sub.add_parser("ask")
    ask.add_argument("--questions", type=int, default=100)
    ask.add_argument("--records-10k", type=int, default=2_550, help="OrangeSum records for the ~10k-chunk index")
    ask.add_argument("--records-100k", type=int, default=25_200, help="OrangeSum records for the ~100k-chunk index")
    ask.add_argument("--no-http", action="store_true", help="Engine.ask only (no `qa serve`)")
    pg = sub.add_parser("postgres", help="the same sizes on PostgreSQL against the local backend (bench_backends.py scale)")
    pg.add_argument("--questions", type=int, default=100)
    pg.add_argument("--sizes", nargs="+", default=["10k", "100k"])
    pg.add_argument("--records-10k", type=int, default=2_550)
    pg.add_argument("--records-100k", type=int, default=25_200)
    args = ap.parse_args()
    {"ann": cmd_ann, "ask": cmd_ask, "postgres": cmd_postgres}[args.cmd](args)


def cmd_postgres(args: argparse.Namespace) -> None:
    """/ask p50/p95 against the local backend, HNSW recall@10 and reads on the replica while the primary indexes."""
    from bench_backends import cmd_scale

    cmd_scale(args)


if __name__ == "__main__":
    main()
