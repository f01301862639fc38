"""Indexing benchmarks: throughput against the model alone, adding one article to 30,000, the whole corpus.

    python eval/bench_indexing.py full        # all of OrangeSum through sync_corpus, stand-in vectors; RSS curve
    python eval/bench_indexing.py throughput  # real model: `qa index` pipeline vs the model alone, same chunks
    python eval/bench_indexing.py add-one     # real model: add one article to the 30,000-article index
    python eval/bench_indexing.py runtimes    # the default runtime (OpenVINO int8) against torch fp32, same texts
    python eval/bench_indexing.py real        # 10,000 OrangeSum articles with the real default model; /ask over them

Every ratio is measured within one run, alternating the two sides, because the machine is shared.
Reports: eval/reports/bench_indexing_<what>.json and .png.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import threading
import time
from typing import Any

from benchlib import (
    CACHE,
    ORANGESUM,
    REPORTS,
    GaussianEncoder,
    median,
    orangesum_lines,
    pyplot,
    real_vectors,
    rss_mb,
    save_report,
    say,
    write_slice,
)

from qa.core.config import Settings
from qa.core.model import ModelInfo
from qa.core.types import Article
from qa.engine import Engine, load_model
from qa.index.chunking import chunk_article
from qa.index.manifest import read_manifest
from qa.index.prepare import embedded_spans
from qa.index.sync import sync_corpus
from qa.ingest import parse_record

REAL_INDEX = CACHE / "real-index"  # real e5 vectors of OrangeSum records [0, 1000), built by `throughput --real`
FULL = CACHE / "full"
N30K = 30_000


def _real_info() -> Any:
    enc = load_model(Settings(), progress=False)
    return enc, ModelInfo(enc.info.name, enc.info.dim, enc.info.fingerprint, enc.info.path)


def _gaussian(info: Any) -> GaussianEncoder:
    real = real_vectors(REAL_INDEX / "store.sqlite", CACHE / "real-index-2" / "store.sqlite")
    if len(real) < 1000:
        raise SystemExit(f"need real e5 vectors in {REAL_INDEX} to fit the stand-in: run `throughput --real` first")
    say(f"stand-in vectors fitted to {len(real)} real e5 passage vectors")
    return GaussianEncoder(info, real)


class RssSampler:
    """Samples this process's RSS and the passages embedded so far, every `every` seconds, in a thread."""

    def __init__(self, encoder: GaussianEncoder, every: float = 1.0) -> None:
        self.encoder, self.every = encoder, every
        self.samples: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic() - self._t0, self.encoder.calls, rss_mb()[0]))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def cmd_full(args: argparse.Namespace) -> None:
    """The whole corpus through the real pipeline (stand-in vectors), then shrunk to its first 30,000 articles."""
    _, info = _real_info()
    enc = _gaussian(info)
    corpus, index = FULL / "corpus", FULL / "index"
    if args.fresh:
        shutil.rmtree(FULL, ignore_errors=True)
    if not (corpus / "orangesum.jsonl.gz").exists():
        corpus.mkdir(parents=True, exist_ok=True)
        (corpus / "orangesum.jsonl.gz").symlink_to(ORANGESUM)  # read in place, never copied
    rss0 = rss_mb()[0]
    t0 = time.monotonic()
    with RssSampler(enc) as sampler:
        report = sync_corpus(corpus, index, enc, progress=True, outside_links=True)
    full_s = time.monotonic() - t0
    manifest = read_manifest(index)
    say(f"full corpus: {report.to_dict() | {'errors': len(report.errors)}} in {full_s:.0f} s; {manifest.chunks} chunks")

    # The 30,000-article index of the add-one benchmark: the same index with the last 6,152 articles removed.
    n30 = FULL / "index-30k"
    shutil.rmtree(n30, ignore_errors=True)
    shutil.copytree(index, n30, ignore=shutil.ignore_patterns(".write.lock"))
    c30 = FULL / "corpus-30k"
    if not (c30 / "orangesum.jsonl.gz").exists():
        write_slice(c30 / "orangesum.jsonl.gz", 0, N30K + 152)  # 152 of the first 30,152 records are empty
    t1 = time.monotonic()
    shrink = sync_corpus(c30, n30, enc, progress=False, outside_links=True)
    shrink_s = time.monotonic() - t1
    m30 = read_manifest(n30)
    say(
        f"shrunk to {m30.articles} articles / {m30.chunks} chunks in {shrink_s:.1f} s: "
        f"{shrink.to_dict() | {'errors': len(shrink.errors)}}"
    )

    index_bytes = sum(p.stat().st_size for p in index.iterdir() if p.is_file())
    out = {
        "what": "all of OrangeSum through sync_corpus (chunking, analysis, SQLite, FAISS), vectors from the Gaussian stand-in",
        "articles": manifest.articles,
        "chunks": manifest.chunks,
        "dense_kind": manifest.dense_kind,
        "report": report.to_dict() | {"errors": len(report.errors)},
        "seconds": round(full_s, 1),
        "articles_per_s": round(manifest.articles / full_s, 1),
        "chunks_per_s": round(manifest.chunks / full_s, 1),
        "rss_start_mib": round(rss0, 1),
        "rss_peak_mib": round(max(s[2] for s in sampler.samples), 1) if sampler.samples else None,
        "index_files_mib": round(index_bytes / 2**20, 1),
        "dense_mib": round(manifest.chunks * manifest.model.dim * 4 / 2**20, 1),
        "shrink_to_30k": {
            "report": shrink.to_dict() | {"errors": len(shrink.errors)},
            "seconds": round(shrink_s, 1),
            "articles": m30.articles,
            "chunks": m30.chunks,
        },
        "rss_samples": [[round(t, 1), n, round(r, 1)] for t, n, r in sampler.samples],
    }
    save_report("bench_indexing_full", out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([s[1] for s in sampler.samples], [s[2] for s in sampler.samples], label="RSS of the indexing process")
    ax.axhline(rss0 + out["dense_mib"], color="grey", ls="--", label="start + dense vectors at the end")
    ax.set_xlabel("passages embedded")
    ax.set_ylabel("MiB")
    ax.set_title(f"sync_corpus over all of OrangeSum ({manifest.articles} articles, {manifest.chunks} chunks)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_indexing_full.png", dpi=110)


def _slice_articles(start: int, n: int) -> list[Article]:
    out: list[Article] = []
    with gzip.open(ORANGESUM, "rb") as fh:
        for i, line in enumerate(fh):
            if i < start:
                continue
            try:
                out.append(parse_record(line, source="bench.jsonl"))
            except Exception:
                continue
            if len(out) >= n:
                break
    return out


def _records(start: int, stop: int) -> list[Article]:
    """The articles of OrangeSum records [start, stop) (the bad ones skipped, as `qa index` skips them)."""
    out: list[Article] = []
    for line in orangesum_lines(start, stop):
        try:
            out.append(parse_record(line, source="bench.jsonl"))
        except Exception:
            continue
    return out


def cmd_throughput(args: argparse.Namespace) -> None:
    """`sync_corpus` on a fresh index against the model alone embedding the same chunks, alternated."""
    enc, _ = _real_info()
    if args.real:
        # The real-vector pool the stand-in is fitted to (records [0, 1000)): incremental, so resumable.
        write_slice(REAL_INDEX.parent / "real-corpus" / "orangesum-0-1000.jsonl.gz", 0, 1000)
        sync_corpus(REAL_INDEX.parent / "real-corpus", REAL_INDEX, enc, progress=True, outside_links=True)
        return
    work = CACHE / "throughput"
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    write_slice(corpus / "slice.jsonl.gz", args.start, args.start + args.articles)
    articles = _records(args.start, args.start + args.articles)
    chunks = [c for a in articles for c in chunk_article(a)]
    unique = list({c.content_hash: c for c in chunks}.values())
    texts = [c.text for c in unique]
    spans = [embedded_spans(c) for c in unique]
    say(f"{len(articles)} articles, {len(unique)} distinct passages; {args.repeats} rounds")
    rounds: list[dict[str, float]] = []

    cpu: dict[str, float] = {}

    def model_alone() -> float:
        t, c = time.perf_counter(), time.process_time()
        enc.embed_passages_with_spans(texts, spans)
        cpu["model"] = time.process_time() - c
        return time.perf_counter() - t

    def pipeline(r: int) -> float:
        t, c = time.perf_counter(), time.process_time()
        report = sync_corpus(corpus, work / f"index-{r}", enc, progress=False, outside_links=True)
        cpu["pipeline"] = time.process_time() - c
        assert report.chunks_embedded == len(unique), report.to_dict()
        return time.perf_counter() - t

    model_alone()  # warm-up: the first call pays thread pools and lazy imports
    pipeline(-1)
    for r in range(args.repeats):
        # ABBA order within a pair of rounds: a drift of the machine's load hits both sides alike.
        if r % 2 == 0:
            model_s, pipe_s = model_alone(), pipeline(r)
        else:
            pipe_s, model_s = pipeline(r), model_alone()
        shutil.rmtree(work / f"index-{r}", ignore_errors=True)
        rounds.append(
            {"pipeline_s": pipe_s, "model_spans_s": model_s, "pipeline_cpu_s": cpu["pipeline"], "model_cpu_s": cpu["model"]}
        )
        say(f"round {r}: pipeline {pipe_s:.1f} s, model alone {model_s:.1f} s: ratio {model_s / pipe_s:.3f}")
    ratios = [x["model_spans_s"] / x["pipeline_s"] for x in rounds]
    out = {
        "what": "throughput of sync_corpus (a fresh index: parse, chunk, embed, SQLite, FAISS, commit) over the model alone "
        "embedding the same distinct passages with the same call (embed_passages_with_spans), in one run, alternated",
        "articles": len(articles),
        "passages": len(unique),
        "rounds": rounds,
        "throughput_ratio_median": round(median(ratios), 3),
        "throughput_ratio_each": [round(x, 3) for x in ratios],
        "throughput_ratio_of_totals": round(sum(x["model_spans_s"] for x in rounds) / sum(x["pipeline_s"] for x in rounds), 3),
        "QA_THREADS": os.environ.get("QA_THREADS", "(default)"),
        "cpu_time_ratio_median": round(median([x["model_cpu_s"] / x["pipeline_cpu_s"] for x in rounds]), 3),
        "cpu_time_ratio_note": "process CPU time, all threads: what the pipeline costs beyond the model, free of the "
        "other processes' load (the wall-time ratio is the throughput)",
        "pipeline_passages_per_s": round(len(unique) / median([x["pipeline_s"] for x in rounds]), 2),
    }
    save_report("bench_indexing_throughput", out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(rounds))
    ax.bar([x - 0.2 for x in xs], [len(unique) / x["pipeline_s"] for x in rounds], 0.4, label="qa index pipeline")
    ax.bar([x + 0.2 for x in xs], [len(unique) / x["model_spans_s"] for x in rounds], 0.4, label="model alone")
    ax.set_xlabel("round")
    ax.set_ylabel("passages / s")
    ax.set_title(f"throughput ratio {out['throughput_ratio_median']} (median of {len(rounds)})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_indexing_throughput.png", dpi=110)


def cmd_add_one(args: argparse.Namespace) -> None:
    """One new article into the 30,000-article index: through the API path and through `qa index`."""
    enc, _ = _real_info()
    base = FULL / "index-30k"
    if not (base / "manifest.json").exists():
        raise SystemExit("run `full` first: it builds the 30,000-article index")
    work = CACHE / "add-one"
    shutil.rmtree(work, ignore_errors=True)
    index, corpus = work / "index", work / "corpus"
    shutil.copytree(base, index, ignore=shutil.ignore_patterns(".write.lock"))
    corpus.mkdir(parents=True)
    (corpus / "orangesum.jsonl.gz").symlink_to((FULL / "corpus-30k" / "orangesum.jsonl.gz").resolve())
    new = _slice_articles(N30K + 1000, 2 * args.articles)  # distinct texts: a cached vector would skip the model
    settings = Settings(index_dir=index, corpus_dir=corpus)
    t = time.perf_counter()
    engine = Engine.open(settings, enc)
    open_s = time.perf_counter() - t

    def embed_alone(art: Article) -> tuple[float, int]:
        chunks = chunk_article(art)
        spans = [embedded_spans(c) for c in chunks]
        t = time.perf_counter()
        enc.embed_passages_with_spans([c.text for c in chunks], spans)
        return time.perf_counter() - t, len(chunks)

    rows: list[dict[str, Any]] = []
    for i in range(args.articles):
        a_api, a_cli = new[2 * i], new[2 * i + 1]
        # The API path (PUT /articles/{id}): the engine's loaded snapshot, no corpus scan.
        embed_api, n_api = embed_alone(a_api)
        t = time.perf_counter()
        engine.put_article(Article(f"api-{a_api.id}", a_api.text, a_api.title, a_api.date, a_api.url))
        api_s = time.perf_counter() - t
        # The `qa index` path: a new file in the corpus folder; the whole folder is compared with the index.
        embed_cli, n_cli = embed_alone(a_cli)
        line = json.dumps({"id": f"cli-{a_cli.id}", "text": a_cli.text, "title": a_cli.title}, ensure_ascii=False)
        (corpus / f"new-{i:03d}.jsonl").write_text(line + "\n", encoding="utf-8")
        t = time.perf_counter()
        report = sync_corpus(corpus, index, enc, progress=False, outside_links=True)
        cli_s = time.perf_counter() - t
        assert report.added == 1 and report.chunks_embedded == n_cli, report.to_dict() | {"errors": len(report.errors)}
        manifest = read_manifest(index)
        rows.append(
            {
                "api": {"chunks": n_api, "embed_s": embed_api, "add_s": api_s},
                "qa_index": {"chunks": n_cli, "embed_s": embed_cli, "add_s": cli_s},
                "delta_file": manifest.dense_delta,
            }
        )
        say(
            f"API: {n_api} chunks, embed {embed_api:.2f} s, add {api_s:.2f} s ({api_s / embed_api:.2f}x); "
            f"qa index: {n_cli} chunks, embed {embed_cli:.2f} s, add {cli_s:.2f} s ({cli_s / embed_cli:.2f}x)"
        )
    m = read_manifest(index)
    api = [r["api"] for r in rows]
    cli = [r["qa_index"] for r in rows]
    out = {
        "what": "adding one real OrangeSum article (records past 31,000, real model) to the ~30,000-article index "
        "(stand-in vectors for those), against the model alone embedding that article's passages, alternated",
        "index": {"articles": m.articles, "chunks": m.chunks, "dense_kind": m.dense_kind},
        "engine_open_s": round(open_s, 2),
        "rows": rows,
        "api_ratio_median": round(median([r["add_s"] / r["embed_s"] for r in api]), 3),
        "api_constant_s_median": round(median([r["add_s"] - r["embed_s"] for r in api]), 3),
        "qa_index_ratio_median": round(median([r["add_s"] / r["embed_s"] for r in cli]), 3),
        "qa_index_constant_s_median": round(median([r["add_s"] - r["embed_s"] for r in cli]), 3),
    }
    c_api = max(r["add_s"] - 1.5 * r["embed_s"] for r in api)
    c_cli = max(r["add_s"] - 1.5 * r["embed_s"] for r in cli)
    out["api_bound"] = f"add <= 1.5 x embed + {max(c_api, 0):.3f} s for every article"
    out["qa_index_bound"] = f"add <= 1.5 x embed + {max(c_cli, 0):.3f} s for every article"
    save_report("bench_indexing_add_one", out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter([r["embed_s"] for r in api], [r["add_s"] for r in api], label="API write (PUT /articles)")
    ax.scatter([r["embed_s"] for r in cli], [r["add_s"] for r in cli], label="qa index (compares ~30,000 articles)")
    top = max(r["embed_s"] for r in api + cli) * 1.1
    ax.plot([0, top], [0, top], color="grey", ls=":", label="embedding alone")
    ax.plot([0, top], [max(c_api, 0), 1.5 * top + max(c_api, 0)], color="grey", ls="--", label="1.5x embedding + API constant")
    ax.set_xlabel("embedding the article's passages alone (s)")
    ax.set_ylabel("adding the article (s)")
    ax.set_title(f"one article into {m.articles} articles / {m.chunks} chunks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_indexing_add_one.png", dpi=110)


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def cmd_runtimes(args: argparse.Namespace) -> None:
    """The default way the model runs on this CPU against torch fp32 of the same model, on the same texts, in one run.

    Passages go in batches, each batch through every variant in turn (rotating who goes first, since the
    machine is shared); questions one at a time, likewise. Cosines compare each variant's vectors to fp32's.
    """
    from qa.embedding.encoder import Encoder
    from qa.embedding.openvino import read_variant, variant_dir
    from qa.evaluation.piaf import load_piaf

    settings = Settings()
    # The baseline is torch fp32 on the CPU whatever the default is (int8 on a CPU, torch on a GPU).
    fp32 = load_model(settings.with_overrides(runtime="torch", device="cpu"), progress=False)
    fast = load_model(settings, progress=True)
    default = f"{fast.info.runtime}{' on cuda' if fast.info.device == 'cuda' else ''} (default)"
    variants: dict[str, Any] = {"torch fp32": fp32, default: fast}
    if args.bf16:  # torch's bf16 autocast over the same weights (QA_BF16), measured beside the others
        variants["torch bf16 autocast"] = Encoder(
            fp32.torch_model, fp32.info, query_prompt=fp32.query_prompt, passage_prompt=fp32.passage_prompt, bf16=True
        )
    if fast.info.runtime != "torch":
        built = read_variant(variant_dir(settings.cache_dir, fp32.info.name, fp32.info.fingerprint), fp32.info.fingerprint)
        assert not isinstance(built, str), built
        for n in args.threads:
            variants[f"{fast.info.runtime}, {n} thread{'s' if n > 1 else ''}"] = Encoder(
                fast.torch_model,
                fast.info,
                query_prompt=fast.query_prompt,
                passage_prompt=fast.passage_prompt,
                forward=built.runner("passages", n),
                query_forward=built.runner("queries", n),
            )
    piaf = load_piaf()
    passages = [p.text for p in piaf.paragraphs[: args.passages]]
    questions = [q.question for q in piaf.questions[: args.questions]]
    names = list(variants)
    tokens = [len(fast.torch_model.tokenizer(fast.passage_prompt + t)["input_ids"]) for t in passages]
    mean_tokens = sum(tokens) / len(tokens)
    say(f"{len(passages)} PIAF paragraphs (mean {mean_tokens:.0f} tokens with the prompt), {len(questions)} questions")
    for enc in variants.values():  # warm-up: thread pools, first shapes
        enc.embed_passages(passages[:4])
        enc.embed_queries(questions[:4])

    passage_s = dict.fromkeys(names, 0.0)
    vectors: dict[str, list[Any]] = {n: [] for n in names}
    for b, start in enumerate(range(0, len(passages), args.batch)):
        batch = passages[start : start + args.batch]
        for n in names[b % len(names) :] + names[: b % len(names)]:
            s, v = _timed(variants[n].embed_passages, batch)
            passage_s[n] += s
            vectors[n].append(v)
        say(f"passages {start + len(batch)}/{len(passages)}: " + ", ".join(f"{n} {passage_s[n]:.0f} s" for n in names))
    query_s: dict[str, list[float]] = {n: [] for n in names}
    qvectors: dict[str, list[Any]] = {n: [] for n in names}
    for i, q in enumerate(questions):
        for n in names[i % len(names) :] + names[: i % len(names)]:
            s, v = _timed(variants[n].embed_queries, [q])
            query_s[n].append(s)
            qvectors[n].append(v)

    import numpy as np

    def cosines(a: list[Any], b: list[Any]) -> Any:
        x, y = np.vstack(a), np.vstack(b)
        return (x * y).sum(axis=1)

    base = names[0]
    rows = {}
    for n in names:
        pc, qc = cosines(vectors[n], vectors[base]), cosines(qvectors[n], qvectors[base])
        rows[n] = {
            "passages_per_s": round(len(passages) / passage_s[n], 2),
            "passages_x_fp32": round(passage_s[base] / passage_s[n], 2),
            "query_p50_ms": round(1000 * median(query_s[n]), 1),
            "query_p95_ms": round(1000 * sorted(query_s[n])[int(0.95 * (len(query_s[n]) - 1))], 1),
            "query_p50_x_fp32": round(median(query_s[base]) / median(query_s[n]), 2),
            "passage_cosine_to_fp32": {"mean": round(float(pc.mean()), 5), "min": round(float(pc.min()), 5)},
            "query_cosine_to_fp32": {"mean": round(float(qc.mean()), 5), "min": round(float(qc.min()), 5)},
        }
        say(f"{n}: {rows[n]}")
    out = {
        "what": f"embedding PIAF paragraphs (batches of {args.batch}) and single questions with each variant of the default "
        "model, in one run, rotating the order; cosines to torch fp32's vectors of the same texts",
        "model": fast.info.name,
        "fingerprints": {n: variants[n].info.fingerprint for n in names},
        "passages": len(passages),
        "mean_tokens": round(mean_tokens, 1),
        "questions": len(questions),
        "cpus": os.cpu_count(),
        "int8_bound_passages_per_s": 16,
        "variants": rows,
    }
    save_report("bench_indexing_runtimes", out)
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    short = [n.replace(" (default)", "\n(default)") for n in names]
    a1.bar(short, [rows[n]["passages_per_s"] for n in names], color=["grey"] + ["tab:blue"] * (len(names) - 1))
    a1.axhline(8, color="tab:red", ls="--", label="half the int8 bound")
    a1.set_ylabel("passages / s")
    a1.legend(fontsize=8)
    a2.bar(short, [rows[n]["query_p50_ms"] for n in names], color=["grey"] + ["tab:blue"] * (len(names) - 1))
    a2.set_ylabel("one question, p50 (ms)")
    for ax in (a1, a2):
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"{fast.info.name} on {os.cpu_count()} CPUs: {len(passages)} PIAF paragraphs, {len(questions)} questions")
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_indexing_runtimes.png", dpi=110)


def cmd_real(args: argparse.Namespace) -> None:
    """OrangeSum records [0, n) indexed by `sync_corpus` with the real default model, then /ask over that index.

    Incremental like `qa index`: a run that was stopped goes on where it stopped (the time is then that of the
    last run, and the report says so).
    """
    from bench_scale import _engine_latency, _http_latency, _questions

    enc = load_model(Settings(), progress=True)
    work = CACHE / f"real-{args.records}-{enc.info.fingerprint}"
    corpus, index = work / "corpus", work / "index"
    if not (corpus / "orangesum.jsonl.gz").exists():
        write_slice(corpus / "orangesum.jsonl.gz", 0, args.records)
    t = time.perf_counter()
    report = sync_corpus(corpus, index, enc, progress=True)
    seconds = time.perf_counter() - t
    m = read_manifest(index)
    say(f"indexed: {report.to_dict() | {'errors': len(report.errors)}} in {seconds:.0f} s")
    questions = _questions(args.questions)
    latency = {"engine": _engine_latency(index, questions, enc)}
    if not args.no_http:
        latency["http"] = _http_latency(index, questions)
    say(f"/ask: {latency}")
    out = {
        "what": f"OrangeSum records [0, {args.records}) through sync_corpus with the real default model "
        f"({enc.info.runtime} on {enc.info.device}), then /ask in process and through a real `qa serve`",
        "model": {"name": enc.info.name, "runtime": enc.info.runtime, "fingerprint": enc.info.fingerprint},
        "articles": m.articles,
        "chunks": m.chunks,
        "dense_kind": m.dense_kind,
        "this_run": report.to_dict() | {"errors": len(report.errors)},
        "seconds": round(seconds, 1),
        "passages_per_s": round(report.chunks_embedded / seconds, 2) if report.chunks_embedded else None,
        # Articles this run did not add were indexed by an earlier, stopped run: the time is then partial.
        "resumed": report.added + report.updated < m.articles,
        "questions": len(questions),
        "ask": latency,
    }
    save_report("bench_indexing_real", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    full = sub.add_parser("full")
    full.add_argument("--fresh", action="store_true", help="start from an empty index")
    thr = sub.add_parser("throughput")
    thr.add_argument("--start", type=int, default=20_000, help="first OrangeSum record of the slice [%(default)s]")
    thr.add_argument("--articles", type=int, default=40, help="articles in the slice [%(default)s]")
    thr.add_argument("--repeats", type=int, default=3)
    thr.add_argument("--real", action="store_true", help="instead: build the real-vector pool (records 0-1000)")
    add = sub.add_parser("add-one")
    add.add_argument("--articles", type=int, default=8, help="articles added one by one [%(default)s]")
    rt = sub.add_parser("runtimes")
    rt.add_argument("--passages", type=int, default=300, help="PIAF paragraphs, in file order [%(default)s]")
    rt.add_argument("--questions", type=int, default=300, help="PIAF questions, in file order [%(default)s]")
    rt.add_argument("--batch", type=int, default=25, help="passages per timed batch [%(default)s]")
    rt.add_argument("--threads", type=int, nargs="*", default=[1], help="also time the int8 variant with these threads")
    rt.add_argument("--no-bf16", dest="bf16", action="store_false", help="leave out torch's bf16 autocast")
    real = sub.add_parser("real")
    real.add_argument("--records", type=int, default=10_000, help="OrangeSum records, from the first [%(default)s]")
    real.add_argument("--questions", type=int, default=100, help="questions asked over the index [%(default)s]")
    real.add_argument("--no-http", action="store_true", help="Engine.ask only (no `qa serve`)")
    args = ap.parse_args()
    {"real": cmd_real, "full": cmd_full, "throughput": cmd_throughput, "add-one": cmd_add_one, "runtimes": cmd_runtimes}[
        args.cmd
    ](args)


if __name__ == "__main__":
    main()
